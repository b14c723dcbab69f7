"""The issuer's console (`/console`, as `mobileid serve` builds it with a login service set) in a
real browser: an employee asks for a page, signs in with the mobile ID the issuer issued to them
(the wallet simulator answering the login service's QR), and lands on the page, seen as who
they are in HR data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_kit import shot, sign_in_with_wallet
from playwright.sync_api import Page, expect
from stack_kit import ConsoleStack, running_console_stack

SIGN_IN = "모바일 공무원증으로 로그인 / Sign in with the mobile ID"


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[ConsoleStack]:
    with running_console_stack(tmp_path, database_url) as started:
        yield started


@pytest.mark.slow
def test_an_employee_signs_in_to_the_issuer_console(stack: ConsoleStack, page: Page) -> None:
    phone = stack.phone("E2001")
    page.goto(f"{stack.issuer.url}/console")
    assert page.url.startswith(f"{stack.issuer.url}/console/signin")
    shot(page, "issuer-console-signin")
    page.get_by_role("button", name=SIGN_IN).click()
    sign_in_with_wallet(page, phone)
    assert page.url == f"{stack.issuer.url}/console"
    expect(page.locator("body")).to_contain_text("이영희")
    expect(page.locator("body")).to_contain_text("E2001")
    shot(page, "issuer-console-home")
