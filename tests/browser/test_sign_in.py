"""Signing in with the mobile ID in a real browser: a relying party (Authlib's Starlette client,
code flow + PKCE) sends the browser to the login service, the wallet simulator answers the page's
OpenID4VP request (cross-device QR, or the same-device link), and the browser lands back on the
relying party signed in as the employee the issuer issued the credential to; the same phone
passes the stack's gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_kit import shot, sign_in_with_wallet
from playwright.sync_api import Page, expect
from stack_kit import running_stack


@pytest.mark.slow
@pytest.mark.parametrize("same_device", [False, True], ids=["qr", "same-device"])
def test_sign_in_with_the_wallet_lands_back_signed_in(
    live_server: Any, tmp_path: Path, page: Page, same_device: bool
) -> None:
    with running_stack(live_server, tmp_path) as stack:
        phone = stack.phone("E2001")
        rp = stack.relying_party()
        page.goto(rp.url)
        expect(page.locator("#qr")).to_be_visible()
        assert page.url.startswith(stack.login.url)
        if not same_device:
            shot(page, "login-page")
        sign_in_with_wallet(page, phone, same_device=same_device)
        assert page.url == f"{rp.url}/"
        expect(page.locator("#who")).to_have_text("이영희")
        expect(page.locator("#sub")).to_have_text("E2001")
        decision = stack.scan(phone)  # the same phone at the stack's gate
        assert decision["allow"] is True, decision
        assert decision["displayed_claims"]["employee_number"] == "E2001"
