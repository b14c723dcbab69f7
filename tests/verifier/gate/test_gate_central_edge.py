"""The gate's and the central verifier service's answers on the shared edge (`mobileid.edge`),
in process: a scan is always a 200 decision; what is not a scan, and every refusal of the
central service, is `{"error", "error_description"}` with the status its code maps to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from gate_kit import Clock, entry_record, gate_policy, make_gate
from server_kit import serve_app

from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.gate_app import create_gate_app
from verifier.central import MAX_BATCH_BYTES, CentralConfig
from verifier.pipeline import MAX_SCAN_BYTES
from verifier.trust import TrustedIssuer

ISSUER = "http://127.0.0.1:9"  # never contacted: the gate is offline, central never asked
TOKEN = "gate-token-for-edge-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class InProcess:
    """Requests to an ASGI app without a server (`httpx.ASGITransport`)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def gate(tmp_path: Path) -> InProcess:
    service = make_gate(gate_policy(ISSUER), tmp_path, Clock(), online=False)
    return InProcess(create_gate_app(service, worker_factory=None))


@pytest.fixture
def central(tmp_path: Path) -> Iterator[InProcess]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
    config = CentralConfig(trusted_issuers=(TrustedIssuer(ISSUER),), gate_token=TOKEN)
    service = open_central_service(config, engine=engine, client=None)
    try:
        yield InProcess(create_central_app(service))
    finally:
        engine.dispose()


def test_a_scan_of_anything_is_a_decision_no_cache_keeps(gate: InProcess) -> None:
    answer = gate.post("/scan", content=b"\x00junk")
    assert answer.status_code == 200
    assert answer.json()["allow"] is False and answer.json()["reason"] == "malformed"
    assert answer.headers["cache-control"] == "no-store"
    assert gate.get("/health").json()["gate_id"] == "sejong-06-east-01"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        pytest.param("POST", "/scan", b"x" * (MAX_SCAN_BYTES + 1), 413, "scan_too_large", id="big"),
        pytest.param("GET", "/nowhere", None, 404, "not_found", id="no_route"),
        pytest.param("GET", "/scan", None, 405, "method_not_allowed", id="wrong_method"),
        pytest.param("GET", "/health?x=%00", None, 400, "invalid_request", id="nul_query"),
    ],
)
def test_what_is_not_a_scan_gets_an_error(
    gate: InProcess, method: str, path: str, body: bytes | None, status: int, code: str
) -> None:
    answer = gate.request(method, path, content=body)
    assert answer.status_code == status
    assert answer.json()["error"] == code


def test_central_stores_a_batch_and_answers_its_ids(central: InProcess) -> None:
    batch = {"gate_id": "g1", "records": [entry_record("g1"), entry_record("g1")]}
    first = central.post("/records", json=batch, headers=AUTH)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.json() == {
        "ids": [r["id"] for r in batch["records"]],
        "stored": 2,
        "duplicates": 0,
    }
    assert central.post("/records", json=batch, headers=AUTH).json()["duplicates"] == 2
    health = central.get("/health").json()
    assert [g["gate_id"] for g in health.pop("gates")] == ["g1"]  # heard from, for operators
    assert health == {"issuers": 1, "status_lists": 0, "status_feed": []}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}], ids=["none", "wrong"])
@pytest.mark.parametrize("route", ["POST /records", "GET /bundle"])
def test_central_refuses_a_request_without_the_gate_token(
    central: InProcess, headers: dict[str, str], route: str
) -> None:
    method, path = route.split()
    answer = central.request(method, path, json={"gate_id": "g1", "records": []}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(b'{"gate_id": "g1"}', 400, "invalid_request", id="not_a_batch"),
        pytest.param(b"[1, 2", 400, "invalid_request", id="not_json"),
        pytest.param(None, 400, "invalid_request", id="another_gates_records"),
        pytest.param(b" " * (MAX_BATCH_BYTES + 1), 413, "request_too_large", id="too_large"),
    ],
)
def test_central_refuses_what_is_not_a_gates_own_batch(
    central: InProcess, body: bytes | None, status: int, code: str
) -> None:
    if body is None:
        answer = central.post(
            "/records", json={"gate_id": "g1", "records": [entry_record("g2")]}, headers=AUTH
        )
    else:
        answer = central.post("/records", content=body, headers=AUTH)
    assert answer.status_code == status
    assert answer.json()["error"] == code
    assert "error_description" in answer.json()


def test_the_running_central_service_deletes_records_past_their_retention(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
    config = CentralConfig(trusted_issuers=(TrustedIssuer(ISSUER),), retention_days=30)
    now = 100 * 86400.0
    service = open_central_service(config, engine=engine, client=None, clock=lambda: now)
    old, recent = entry_record("g1", at=now - 31 * 86400), entry_record("g1", at=now - 86400)
    app = create_central_app(service, purge_every_s=0.01)
    try:
        with serve_app(app) as site:  # a real server: the purge runs in the app's lifespan
            stored = httpx.post(
                site.url + "/records", json={"gate_id": "g1", "records": [old, recent]}
            )
            assert stored.json()["stored"] == 2
            deadline = time.monotonic() + 10
            while len(service.records(since=0)) > 1 and time.monotonic() < deadline:
                time.sleep(0.02)
        assert [r["id"] for r in service.records(since=0)] == [recent["id"]]
    finally:
        engine.dispose()
