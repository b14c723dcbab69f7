"""The guard display in a real browser (issue 19): a gate with its console, built from its settings
as `mobileid gate run` builds it, beside the stack's issuer and login service. A guard holding
`gate_operator` (granted in the issuer, read by the gate over HTTP with a grant_reader token)
signs in with the mobile ID; a phone's QR scanned at the gate appears on the display with the
name and the decision, on a tablet's width."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_kit import TABLET, shot, sign_in_with_wallet
from display_kit import register_gate_console
from gate_kit import wait_until
from hr_console_steps import revoke_in_console
from issuer_kit import AGENCY
from playwright.sync_api import Page, expect
from server_kit import Served
from stack_kit import ConsoleStack, Phone, running_console_stack, running_stack

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
GATE_FOLLOWS_S = 30


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


def scan(gate: Served, service: GateService, phone: Phone) -> dict[str, Any]:
    """The phone's identity QR at the lobby gate: the gate's answer."""
    shown = phone.presenter.purpose_presentation(
        phone.wallet, "identity", audience=service.policy.audience
    )
    body = shown.payload.encode() if isinstance(shown.payload, str) else shown.payload
    answer: dict[str, Any] = httpx.post(f"{gate.url}/scan", content=body, timeout=10).json()
    return answer


def scan_identity(gate: Served, service: GateService, phone: Phone) -> None:
    """The phone's identity QR at the lobby gate, allowed."""
    answer = scan(gate, service, phone)
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


@pytest.fixture
def console_lobby(
    tmp_path: Path, database_url: str
) -> Iterator[tuple[ConsoleStack, Served, GateService]]:
    """The issuer as `mobileid serve` builds it (its console included) and the lobby gate."""
    with running_console_stack(tmp_path, database_url) as stack:
        gate, service = lobby_gate(stack, tmp_path)
        try:
            yield stack, gate, service
        finally:
            gate.stop()


def scan_until_refused(gate: Served, service: GateService, phone: Phone) -> dict[str, Any]:
    """Scan the phone's identity QR until the gate refuses it (the gate follows the issuer's
    change feed; within seconds, given GATE_FOLLOWS_S at most)."""
    deadline = time.monotonic() + GATE_FOLLOWS_S
    while (answer := scan(gate, service, phone))["allow"]:
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    return answer


@pytest.mark.slow
def test_a_revocation_in_the_hr_console_shows_on_the_guard_display(
    console_lobby: Any, page: Page
) -> None:
    """Issue 19's display scenario from sign-in: a scan appears on the guard display with name
    and decision; the HR officer revokes in the console; the next scan shows `revoked`."""
    stack, gate, service = console_lobby
    runtime = stack.issuer.runtime
    with runtime.unit_of_work() as session:
        grant_role(
            session,
            employee_number=GUARD,
            role="hr_officer",
            scope=AGENCY,
            actor="test",
            now=runtime.clock(),
        )
    guard, visitor = stack.phone(GUARD), stack.phone(VISITOR)
    page.set_viewport_size(TABLET)
    page.goto(f"{gate.url}/display")
    page.get_by_role("button", name=SIGN_IN).click()
    sign_in_with_wallet(page, guard)
    live = page.locator("section.live")
    expect(live).to_have_attribute("data-sse-state", "open")
    wait_until(lambda: service.health()["status_lists"], "the gate to hold the new status list")
    scan_identity(gate, service, visitor)
    expect(live.locator(".decision.allow .name")).to_have_text("김철수")

    officer = page.context.new_page()  # the HR officer's own tab (same person here)
    officer.set_viewport_size({"width": 1280, "height": 800})
    officer.goto(f"{stack.issuer.url}/console/hr")
    officer.get_by_role("button", name=SIGN_IN).click()
    sign_in_with_wallet(officer, guard)
    revoke_in_console(officer, stack.issuer.url, VISITOR)
    officer.close()

    assert scan_until_refused(gate, service, visitor)["reason"] == "revoked"
    refused = live.locator(".decision.deny").first
    expect(refused).to_have_attribute("data-reason", "revoked")
    expect(refused).to_contain_text("credential revoked")
    shot(page, "gate-display-revoked", width=TABLET["width"])
