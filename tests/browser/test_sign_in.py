"""Signing in with the mobile ID in a real browser: a console (the console kit, an OpenID Connect
client of the login service: code flow + PKCE S256, ID token checked by Authlib) sends the person
to its sign-in page, then to the login service; the wallet simulator answers the page's OpenID4VP
request (cross-device QR, or the same-device link), and the browser lands back on the page it
asked for, signed in as the employee the issuer issued the credential to. The same phone passes
the stack's gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_kit import shot, sign_in_with_wallet
from playwright.sync_api import Page, expect
from stack_kit import running_stack

from console.viewer import Grant


@pytest.mark.slow
@pytest.mark.parametrize("same_device", [False, True], ids=["qr", "same-device"])
def test_sign_in_with_the_wallet_lands_back_signed_in(
    live_server: Any, tmp_path: Path, page: Page, same_device: bool
) -> None:
    with running_stack(live_server, tmp_path) as stack:
        phone = stack.phone("E2001")
        console = stack.console({"E2001": [Grant("employee"), Grant("hr_officer", "1741000")]})
        page.goto(f"{console.url}/console/hr")
        assert page.url.startswith(f"{console.url}/console/signin")
        if not same_device:
            shot(page, "console-signin")
        page.get_by_role(
            "button", name="모바일 공무원증으로 로그인 / Sign in with the mobile ID"
        ).click()
        expect(page.locator("#qr")).to_be_visible()
        assert page.url.startswith(stack.login.url)
        if not same_device:
            shot(page, "login-page")
        sign_in_with_wallet(page, phone, same_device=same_device)
        assert page.url == f"{console.url}/console/hr"
        expect(page.locator("#message")).to_have_text("hr 1741000")
        expect(page.locator("body")).to_contain_text("이영희")
        decision = stack.scan(phone)  # the same phone at the stack's gate
        assert decision["allow"] is True, decision
        assert decision["displayed_claims"]["employee_number"] == "E2001"
