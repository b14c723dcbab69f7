"""NUL bytes (and lone surrogates) at every route of the gate and of the central verifier service:
refused at the edge with 400 `{"error": "invalid_request"}`, never a 500, with and without the
gate token, no traceback in the logs, the central service on SQLite and PostgreSQL alike (a gate
keeps its own SQLite file); a scan's own bytes stay a scan (a NUL in a QR payload is a
`malformed` decision); a client leaving mid-body is one log line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_kit import (
    Baseline,
    assert_no_tracebacks,
    assert_one_line_for_leaving,
    captured_logs,
    routes_of,
    run_attacks,
)
from gate_kit import (
    OPEN_SERVICES,
    Clock,
    Served,
    entry_record,
    gate_policy,
    presentation,
    records,
    running_issuer,
    serve,
)

from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.gate_app import create_gate_app
from vc.keys import Ed25519PrivateKey
from verifier.central import CentralConfig, RecordBatch
from verifier.fetch import new_http_client
from verifier.gate.service import GateService, build_gate
from verifier.trust import TrustedIssuer

GATE_TOKEN = "gate-token-for-nul-tests"
HOLDER = Ed25519PrivateKey.generate()


def invalid_request(_path: str) -> str:
    return "invalid_request"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[dict[str, Any]]:
    """An issuer double, a gate (SQLite) and a central service on the database under test."""
    with running_issuer(clock) as (issuer, _):
        data_dir = tmp_path / "gate"
        data_dir.mkdir(mode=0o700)
        gate = build_gate(
            gate_policy(issuer.url),
            engine=create_db_engine(f"sqlite:///{data_dir / 'gate.sqlite3'}"),
            client=new_http_client(),
            clock=clock,
        )
        OPEN_SERVICES.append(gate)
        gate.refresher.run_once()  # what its background refresher does first
        config = CentralConfig(
            trusted_issuers=(TrustedIssuer(issuer.url),),
            gate_token=GATE_TOKEN,
            allow_insecure_loopback=True,
        )
        engine = create_db_engine(database_url)
        central = open_central_service(config, engine=engine, client=new_http_client(), clock=clock)
        with (
            serve(create_gate_app(gate, worker_factory=None)) as gate_served,
            serve(create_central_app(central)) as central_served,
        ):
            yield {
                "issuer": issuer,
                "gate": gate,
                "gate_served": gate_served,
                "central": central,
                "central_served": central_served,
            }
        central.close()
        engine.dispose()


def test_nul_in_every_gate_and_central_route_is_refused_at_the_edge(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    gate: GateService = world["gate"]
    gate_served: Served = world["gate_served"]
    central_served: Served = world["central_served"]
    auth = {"Authorization": f"Bearer {GATE_TOKEN}"}
    batch = {"gate_id": "g1", "records": [entry_record("g1")]}
    central_table = {
        "POST /records": Baseline(json_body=batch, auth=auth, body_schema=_schema()),
        "GET /bundle": Baseline(query={"uri": world["issuer"].status_uri}, auth=auth),
    }
    gate_app = gate_served.app
    central_app = central_served.app
    with captured_logs(caplog), httpx.Client(timeout=10) as http:
        assert http.post(central_served.url + "/records", json=batch, headers=auth).is_success
        sent = run_attacks(
            http, gate_served.url, routes_of(gate_app), {"POST /scan": Baseline()}, invalid_request
        )
        sent += run_attacks(
            http, central_served.url, routes_of(central_app), central_table, invalid_request
        )
        assert_no_tracebacks(caplog)
    assert {r.key for r in routes_of(gate_app)} >= {"POST /scan", "GET /health"}
    assert {r.key for r in routes_of(central_app)} >= {"POST /records", "GET /bundle"}
    assert sent > 40
    assert len(world["central"].records(since=0)) == 1  # only the valid batch was stored
    assert records(gate) == []  # the gate decided nothing: no scan got past the edge


def _schema() -> dict[str, Any]:
    return RecordBatch.model_json_schema()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda p: b"\x00", id="nul_alone"),
        pytest.param(lambda p: p.encode()[:40] + b"\x00" + p.encode()[40:], id="nul_inside"),
        pytest.param(lambda p: p.encode() + b"\x00", id="nul_after"),
        pytest.param(lambda p: b'{"vp": "\\u0000"}', id="json_escape"),
    ],
)
def test_a_nul_in_the_qr_payload_is_a_malformed_scan(
    world: dict[str, Any], clock: Clock, payload: Any
) -> None:
    gate: GateService = world["gate"]
    credential, _ = world["issuer"].issue(HOLDER)
    shown = presentation(credential, HOLDER, audience=gate.policy.audience, iat=clock())
    with httpx.Client(timeout=10) as http:
        answer = http.post(world["gate_served"].url + "/scan", content=payload(shown))
    assert answer.status_code == 200, answer.text
    assert answer.json()["allow"] is False
    assert answer.json()["reason"] == "malformed"
    assert len(records(gate)) == 1  # recorded as a denial


def test_a_bundle_asked_for_an_unparseable_uri_leaves_it_out(world: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {GATE_TOKEN}"}
    with httpx.Client(timeout=10) as http:
        answer = http.get(
            world["central_served"].url + "/bundle", params={"uri": "http://[::1"}, headers=auth
        )
    assert answer.status_code == 200, answer.text
    assert "[::1" not in answer.text


def test_a_client_leaving_mid_body_is_one_log_line_at_gate_and_central(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with captured_logs(caplog):
        assert_one_line_for_leaving(caplog, world["gate_served"].url, "/scan", b"eyJhbGciOi")
        assert_one_line_for_leaving(
            caplog, world["central_served"].url, "/records", b'{"gate_id": "g'
        )
