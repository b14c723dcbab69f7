"""The HR officer's console from sign-in, in a real browser: an officer granted `hr_officer` for
their agency signs in with the mobile ID the issuer issued to them (the wallet simulator
answering the login service), revokes a colleague's credential in the console, and the
colleague's next scan at the stack's gate is refused as revoked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_kit import shot, sign_in_with_wallet
from hr_console_steps import revoke_in_console
from issuer_kit import AGENCY
from playwright.sync_api import Page, expect
from stack_kit import ConsoleStack, running_console_stack

from issuer.grants import grant_role

SIGN_IN = "모바일 공무원증으로 로그인 / Sign in with the mobile ID"
GATE_FOLLOWS_S = 30


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[ConsoleStack]:
    with running_console_stack(tmp_path, database_url) as started:
        yield started


@pytest.mark.slow
def test_an_hr_officer_signs_in_and_revokes_and_the_gate_refuses(
    stack: ConsoleStack, page: Page
) -> None:
    runtime = stack.issuer.runtime
    with runtime.unit_of_work() as session:
        grant_role(
            session,
            employee_number="E2001",
            role="hr_officer",
            scope=AGENCY,
            actor="cli",
            now=runtime.clock(),
        )
    officer = stack.phone("E2001")
    colleague = stack.phone("E1002")
    assert stack.scan(colleague)["allow"] is True

    page.goto(f"{stack.issuer.url}/console/hr")
    page.get_by_role("button", name=SIGN_IN).click()
    sign_in_with_wallet(page, officer)
    assert page.url.startswith(f"{stack.issuer.url}/console/hr")
    expect(page.locator("body")).to_contain_text("이영희")
    shot(page, "hr-signed-in")
    revoke_in_console(page, stack.issuer.url, "E1002")
    history = page.locator("section", has_text="이력 / History")
    expect(history).to_contain_text("console:E2001")

    deadline = time.monotonic() + GATE_FOLLOWS_S  # the gate follows the issuer's change feed
    while (decision := stack.scan(colleague))["allow"]:
        assert time.monotonic() < deadline, decision
        time.sleep(0.2)
    assert decision["reason"] == "revoked", decision
