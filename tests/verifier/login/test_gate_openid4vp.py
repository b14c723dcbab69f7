"""`mobileid gate run --openid4vp`: the gate terminal shows a QR, the wallet simulator answers
over HTTP, the gate decides with its own policy and records an entry like a scan's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from display_kit import display_app, operator_roles, signed_in, sse
from gate_kit import (
    OPEN_SERVICES,
    Clock,
    Served,
    gate_policy,
    make_gate,
    running_issuer,
    serve,
)
from login_kit import make_wallet
from sqlalchemy import select

from mobileid.gate_app import create_gate_app, mount_desk
from verifier.gate.store import records_since
from verifier.oid4vp.models import vp_sessions
from verifier.x509 import create_local_pki
from wallet_sim.errors import VerifierError
from wallet_sim.presenter import Presenter


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[tuple[Any, Any, str, Any, Clock]]:
    clock = Clock()
    with running_issuer(clock) as (issuer, _):
        service = make_gate(gate_policy(issuer.url), tmp_path, clock)
        served = Served(None)
        url = f"http://localhost:{served.port}"
        certificate = create_local_pki(tmp_path / "cert", "localhost")
        app = create_gate_app(service, worker_factory=None)
        mount_desk(app, service, base_url=url, certificate=certificate)
        served.app = app
        served.start()
        try:
            yield service, issuer, url, certificate, clock
        finally:
            served.stop()
            while OPEN_SERVICES:
                OPEN_SERVICES.pop().engine.dispose()


def _present(url: str, certificate: Any, wallet: Any, clock: Clock) -> dict[str, Any]:
    with httpx.Client(timeout=10) as http:
        session = http.post(f"{url}/desk/sessions").json()
        auth = {"Authorization": f"Bearer {session['handle']}"}
        pending = http.post(f"{url}/desk/sessions/{session['id']}/decision", headers=auth)
        assert pending.status_code == 202
        presenter = Presenter(http, clock=clock, trust_anchors=[certificate.anchor])
        plan = presenter.resolve_request(session["link"], wallet)
        assert plan.disclosed() == {
            "employee_id": ["active_public_servant_of", "agency_code", "employee_number"]
        }
        with contextlib.suppress(VerifierError):  # refused: the decision below says why
            presenter.respond(plan, wallet)
        decided = http.post(f"{url}/desk/sessions/{session['id']}/decision", headers=auth)
        assert decided.status_code == 200
        return dict(decided.json())


def test_phone_answers_the_gate_qr(gate: Any, tmp_path: Path) -> None:
    service, issuer, url, certificate, clock = gate
    wallet, idx = make_wallet(tmp_path / "phone", issuer, number="E6001")
    allowed = _present(url, certificate, wallet, clock)
    assert allowed["allow"] is True and allowed["reason"] == "ok"
    assert allowed["displayed_claims"] == {
        "employee_number": "E6001",
        "agency_code": "1741000",
        "active_public_servant_of": "1741000",
    }
    issuer.set_status(idx, 2)
    clock.advance(issuer.ttl + 1)  # the gate holds the list until its ttl runs out
    service.refresher.run_once()
    denied = _present(url, certificate, wallet, clock)
    assert denied == {**denied, "allow": False, "reason": "suspended"}
    with service.engine.connect() as conn:
        rows = records_since(conn, 0)
        assert conn.execute(select(vp_sessions)).all()  # sessions live in the gate's database
    assert [(r["allow"], r["reason"], r["employee_number"]) for r in rows] == [
        (True, "ok", "E6001"),
        (False, "suspended", None),
    ]
    page = httpx.get(f"{url}/desk")
    assert page.status_code == 200 and "모바일 공무원증 제시" in page.text
    assert httpx.post(f"{url}/scan", content=b"garbage").json()["allow"] is False  # scanning too


def test_without_a_certificate_the_gate_sends_unsigned_requests(tmp_path: Path) -> None:
    """`gate run --openid4vp` with no certificate: `redirect_uri:` requests by value."""
    from mobileid.cli_gate import _mount_openid4vp

    clock = Clock()
    with running_issuer(clock) as (issuer, _):
        service = make_gate(gate_policy(issuer.url), tmp_path, clock)
        try:
            app = create_gate_app(service, worker_factory=None)
            _mount_openid4vp(app, service, tmp_path / "gate", "http://localhost:8100", None)
            with serve(app) as served:
                session = httpx.post(f"{served.url}/desk/sessions").json()
            assert session["link"].startswith("openid4vp://?client_id=redirect_uri%3A")
            assert "dcql_query=" in session["link"] and "request_uri" not in session["link"]
        finally:
            while OPEN_SERVICES:
                OPEN_SERVICES.pop().engine.dispose()


def test_a_desk_decision_reaches_the_guard_display(tmp_path: Path) -> None:
    clock = Clock()
    with running_issuer(clock) as (issuer, _):
        service = make_gate(gate_policy(issuer.url), tmp_path, clock)
        served = Served(None)
        url = f"http://localhost:{served.port}"
        certificate = create_local_pki(tmp_path / "cert", "localhost")
        app = display_app(service, operator_roles())
        mount_desk(app, service, base_url=url, certificate=certificate)
        served.app = app
        served.start()
        try:
            wallet, _ = make_wallet(tmp_path / "phone", issuer, number="E6002")
            with (
                signed_in(served.url) as client,
                client.stream("GET", "/display/events") as stream,
            ):
                events = sse(stream)
                next(events)
                assert _present(url, certificate, wallet, clock)["allow"] is True
                fragment = next(events)
        finally:
            served.stop()
    assert "통과 / Allowed" in fragment and "E6002" in fragment
