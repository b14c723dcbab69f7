"""The guard display in a real browser (issue 19): a gate with its console, built from its settings
as `mobileid gate run` builds it, beside the stack's issuer and login service. A guard holding
`gate_operator` (granted in the issuer, read by the gate over HTTP with a grant_reader token)
signs in with the mobile ID; a phone's QR scanned at the gate appears on the display with the
name and the decision, on a tablet's width."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_kit import TABLET, shot, sign_in_with_wallet
from display_kit import register_gate_console
from gate_kit import wait_until
from playwright.sync_api import Page, expect
from server_kit import Served
from stack_kit import ConsoleStack, Phone, running_stack

from issuer.api_tokens import Role, create_api_token
from issuer.grants import grant_role
from mobileid.db import create_db_engine
from mobileid.gate_app import create_gate_app, gate_console_of
from mobileid.settings import GateSettings
from verifier.fetch import new_http_client
from verifier.gate.feed import GateFeed
from verifier.gate.service import GateService, build_gate
from verifier.policy import parse_gate_policy

GUARD = "E2001"  # 이영희
VISITOR = "E1002"  # 김철수
LOBBY = "sejong-06-lobby"
SIGN_IN = "모바일 공무원증으로 로그인 / Sign in with the mobile ID"


def private_file(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def lobby_gate(stack: ConsoleStack, tmp_path: Path) -> tuple[Served, GateService]:
    """A gate whose purpose (`identity`) discloses the name, with its console: registered at the
    login service, asking the issuer for grants with a grant_reader token."""
    served = Served(None)
    runtime = stack.issuer.runtime
    with runtime.unit_of_work() as session:
        token, _ = create_api_token(
            session, role=Role.grant_reader, now=runtime.clock(), lifetime=timedelta(days=1)
        )
        grant_role(
            session,
            employee_number=GUARD,
            role="gate_operator",
            scope=LOBBY,
            actor="test",
            now=runtime.clock(),
        )
    with stack.login.db() as db:
        client = register_gate_console(db, served.url)
    directory = tmp_path / "lobby"
    directory.mkdir(mode=0o700)
    settings = GateSettings(
        data_dir=tmp_path,
        console_login_url=stack.login.url,
        console_client_id=client.client.client_id,
        console_client_secret_file=private_file(directory / "client.secret", client.secret or ""),
        console_grants_token_file=private_file(directory / "grants.token", token),
        console_issuer_url=stack.issuer.url,
    )
    policy = parse_gate_policy(
        {
            "gate_id": LOBBY,
            "site": "sejong",
            "purpose": "identity",
            "trusted_issuers": [{"issuer": stack.issuer.url}],
            "allow_insecure_loopback": True,
        },
        environ={},
    )
    service = build_gate(
        policy,
        engine=create_db_engine(f"sqlite:///{directory / 'gate.sqlite3'}"),
        client=new_http_client(),
        clock=stack.clock,
    )
    service.refresher.run_once()
    console = gate_console_of(service, settings, data_dir=directory, base_url=served.url)
    # as `mobileid gate run` does: the worker (the refresher) and the issuer's change feed
    served.app = create_gate_app(service, feed=GateFeed(service), console=console)
    served.start()
    return served, service


@pytest.fixture
def lobby(live_server: Any, tmp_path: Path) -> Iterator[tuple[ConsoleStack, Served, GateService]]:
    with running_stack(live_server, tmp_path) as stack:
        gate, service = lobby_gate(stack, tmp_path)
        try:
            yield stack, gate, service
        finally:
            gate.stop()


def scan_identity(gate: Served, service: GateService, phone: Phone) -> None:
    """The phone's identity QR at the lobby gate, allowed."""
    shown = phone.presenter.purpose_presentation(
        phone.wallet, "identity", audience=service.policy.audience
    )
    body = shown.payload.encode() if isinstance(shown.payload, str) else shown.payload
    answer = httpx.post(f"{gate.url}/scan", content=body, timeout=10).json()
    assert answer["allow"] is True, answer


@pytest.mark.slow
def test_a_scan_appears_on_the_guard_display(lobby: Any, page: Page) -> None:
    stack, gate, service = lobby
    guard, visitor = stack.phone(GUARD), stack.phone(VISITOR)
    page.set_viewport_size(TABLET)
    page.goto(f"{gate.url}/display")
    page.get_by_role("button", name=SIGN_IN).click()
    sign_in_with_wallet(page, guard)
    assert page.url == f"{gate.url}/display"
    live = page.locator("section.live")
    expect(live).to_have_attribute("data-sse-state", "open")
    expect(live).to_contain_text("대기 중 / Waiting for a scan")

    wait_until(lambda: service.health()["status_lists"], "the gate to hold the new status list")
    scan_identity(gate, service, visitor)
    expect(live.locator(".decision.allow .verdict")).to_have_text("통과 / Allowed")
    expect(live.locator(".decision .name")).to_have_text("김철수")
    expect(live.locator(".decision .department")).to_have_text("디지털정부과")
    expect(live.locator(".decision .reason")).to_contain_text("확인됨 / verified")
    shot(page, "gate-display", width=TABLET["width"])

    page.goto(f"{gate.url}/records")
    expect(page.locator("table.records tbody tr")).to_have_count(1)
    shot(page, "gate-records")
