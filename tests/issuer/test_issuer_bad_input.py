"""Malformed JSON, oversized bodies and garbage on every issuer endpoint: the endpoint's own error
code, never a 500; plus 8 parallel issuances getting 8 distinct status indexes."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from issuer_kit import Holder, apply_and_approve, bearer, link_of, read_sms, seed, tx_code_of
from sqlalchemy import select

from issuer.models import Credential
from vc.keys import Ed25519PrivateKey, P256PrivateKey

POST_ENDPOINTS = {
    "/token": "invalid_request",
    "/nonce": "invalid_request",
    "/credential": "invalid_credential_request",
    "/notification": "invalid_notification_request",
    "/hr/applications": "invalid_request",
    "/hr/applications/abc/approve": "invalid_request",
    "/hr/applications/abc/reject": "invalid_request",
}


@pytest.fixture
def hr(live_server, tmp_path: Path):
    return live_server, seed(live_server, tmp_path)


@pytest.mark.parametrize("path", sorted(POST_ENDPOINTS))
def test_oversized_body(hr, path: str) -> None:
    server, tokens = hr
    big = b'{"x":"' + b"a" * (70 * 1024) + b'"}'
    r = server.client.post(
        path, content=big, headers={**bearer(tokens.admin), "Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text
    expected = "request_too_large" if path.startswith("/hr/") else POST_ENDPOINTS[path]
    assert r.json()["error"] == expected


def test_oversized_chunked_body(hr) -> None:
    server, tokens = hr

    def chunks():
        for _ in range(80):
            yield b"a" * 1024

    r = server.client.post(
        "/credential",
        content=chunks(),
        headers={**bearer(tokens.admin), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"] == "invalid_credential_request"


@pytest.mark.parametrize("path", sorted(p for p in POST_ENDPOINTS if p != "/nonce"))
def test_malformed_json(hr, path: str) -> None:
    server, tokens = hr
    access = None
    if path in ("/credential", "/notification"):  # token errors come first (RFC 6750)
        apply_and_approve(server.client, tokens, applicant=tokens.e1001)
        holder = Holder(server.client, Ed25519PrivateKey.generate(), server.clock)
        access = holder.access_token(
            link_of(read_sms(server.data_dir, kind="offer_link")[0]),
            tx_code_of(read_sms(server.data_dir, kind="tx_code")[0]),
        )
    token = access or tokens.admin
    r = server.client.post(
        path,
        content=b'{"phone": "010',
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == POST_ENDPOINTS[path]


def test_unknown_paths_and_methods(hr) -> None:
    server, _ = hr
    r = server.client.get("/nowhere")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = server.client.get("/token")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
    path=st.sampled_from([*sorted(POST_ENDPOINTS), "/credential-offer/x"]),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain"]
    ),
)
def test_garbage_never_crashes(live_server, body: bytes, path: str, content_type: str) -> None:
    r = live_server.client.request(
        "GET" if path.startswith("/credential-offer") else "POST",
        path,
        content=body,
        headers={"Content-Type": content_type, "Authorization": "Bearer x"},
    )
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert isinstance(r.json()["error"], str)


def test_parallel_issuance_gets_distinct_status_indexes(hr) -> None:
    server, tokens = hr
    numbers = [f"E9{n:03d}" for n in range(8)]
    offers = []
    for i, number in enumerate(numbers, start=1):
        apply_and_approve(server.client, tokens, applicant=tokens.admin, employee_number=number)
        offers.append(
            (
                link_of(read_sms(server.data_dir, kind="offer_link", count=i)[-1]),
                tx_code_of(read_sms(server.data_dir, kind="tx_code", count=i)[-1]),
            )
        )
    barrier = threading.Barrier(len(offers))
    results: list[dict] = []
    errors: list[BaseException] = []

    def flow(link: str, tx: str, n: int) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                key = Ed25519PrivateKey.generate() if n % 2 else P256PrivateKey.generate()
                holder = Holder(client, key, server.clock)
                access = holder.access_token(link, tx)
                proof = holder.proof(holder.nonce())
                barrier.wait()
                r = holder.credential(access, holder.request(proof))
                assert r.status_code == 200, r.text
                results.append(r.json())
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=flow, args=(link, tx, n)) for n, (link, tx) in enumerate(offers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with server.runtime.unit_of_work() as s:
        rows = s.scalars(select(Credential)).all()
        slots = {(r.status_list_id, r.status_idx) for r in rows}
    assert len(rows) == 8 and len(slots) == 8
