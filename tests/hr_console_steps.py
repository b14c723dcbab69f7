"""What an HR officer does in the console, as browser steps other scenarios reuse (the guard
display's "the HR officer revokes in the console"): the page must be signed in as someone with
`hr_admin` or `hr_officer` over the employee."""

from __future__ import annotations

from playwright.sync_api import Page, expect

__all__ = ["revoke_in_console"]


def revoke_in_console(
    page: Page, issuer_url: str, employee_number: str, *, reason: str = "phone_lost"
) -> None:
    """Open the employee's page, revoke their live credential through the confirmation page
    (which says what gates and logins do), and wait for the console to say it is done."""
    page.goto(f"{issuer_url}/console/hr/employees/{employee_number}")
    page.get_by_role("link", name="폐기 / Revoke").first.click()
    expect(page.get_by_text("Gates and logins refuse it within seconds")).to_be_visible()
    page.select_option("#reason", reason)
    page.get_by_role("button", name="폐기 / Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("폐기했습니다 / Revoked")
