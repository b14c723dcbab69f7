"""The first mobile ID, in a real browser, each person from sign-in: an employee without a
mobile ID signs in to the issuer's console with a code sent to the phone on their HR record and
applies; their department head signs in with the mobile ID (the login service, the wallet
simulator presenting) and approves in the inbox; the phone accepts the SMS offer from the
outbox; the employee sees the credential as valid. Screenshots of /console/me, its lost-phone
confirmation and /console/inbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_kit import recorded_page, shot, sign_in_with_wallet
from issuer_kit import read_sms
from playwright.sync_api import Browser, Page, expect
from stack_kit import ConsoleStack, running_console_stack

from issuer.grants import grant_role

SIGNIN_CODE = re.compile(r"Console sign-in code: ([0-9]{6})")


def _sign_in_with_a_code(page: Page, stack: ConsoleStack, employee_number: str) -> None:
    """The console's second way in, for someone without a mobile ID yet."""
    url = stack.issuer.url
    page.goto(f"{url}/console/me")
    page.get_by_role("link", name="인증번호로 로그인 / Sign in with a code").click()
    page.get_by_label("직원 번호 / Employee number").fill(employee_number)
    page.get_by_role("button", name="인증번호 받기 / Send me a code").click()
    sms = read_sms(stack.issuer.data_dir, kind="signin_code")
    assert sms, "no sign-in code was sent"
    found = SIGNIN_CODE.search(sms[-1]["body"])
    assert found, sms[-1]
    page.get_by_label("인증번호 / Code").fill(found.group(1))
    page.get_by_role("button", name="로그인 / Sign in").click()
    page.wait_for_url(f"{url}/console/me")


@pytest.mark.slow
def test_employee_applies_head_approves_phone_accepts_employee_sees_valid(
    tmp_path: Path, browser: Browser
) -> None:
    with running_console_stack(tmp_path, f"sqlite:///{tmp_path / 'issuer.sqlite3'}") as stack:
        url, runtime = stack.issuer.url, stack.issuer.runtime
        with runtime.unit_of_work() as session:  # `mobileid admin grant`
            grant_role(
                session,
                employee_number="E1002",
                role="department_head",
                scope="D100",
                actor="cli",
                now=runtime.clock(),
            )
        head_phone = stack.phone("E1002")

        with recorded_page(browser) as employee:
            _sign_in_with_a_code(employee, stack, "E1001")
            expect(employee.locator("h1")).to_have_text("내 모바일 공무원증 / My mobile ID")
            employee.get_by_label("휴대전화 번호 / Mobile phone number").fill("010-1234-5678")
            employee.get_by_role("button", name="신청 / Apply").click()
            expect(employee.locator('[data-notice="applied"]')).to_be_visible()
            pending = employee.locator('[data-table="applications"] [data-state="pending"]')
            expect(pending).to_be_visible()

            with recorded_page(browser) as head:
                head.goto(f"{url}/console/inbox")
                head.get_by_role(
                    "button", name="모바일 공무원증으로 로그인 / Sign in with the mobile ID"
                ).click()
                sign_in_with_wallet(head, head_phone)
                head.wait_for_url(f"{url}/console/inbox")
                row = head.locator('[data-table="pending"] tbody tr')
                expect(row).to_have_count(1)
                expect(row).to_contain_text("홍길동 (E1001)")
                expect(row).to_contain_text("010-****-5678")
                row.get_by_label("의견 / Comment").fill("확인했습니다")
                shot(head, "console-inbox")
                row.get_by_role("button", name="승인 / Approve").click()
                expect(head.locator('[data-notice="approved"]')).to_be_visible()
                expect(head.locator("[data-empty]")).to_be_visible()
                head.get_by_role("link", name="처리 내역 / History").click()
                expect(head.locator('[data-table="history"]')).to_contain_text("확인했습니다")
                shot(head, "console-inbox-history")

            stack.accept_offer("E1001")  # the SMS the approval queued, from the outbox

            employee.goto(f"{url}/console/me")
            credentials = employee.locator('[data-table="credentials"]')
            expect(credentials.locator('[data-state="valid"]')).to_have_count(1)
            applications = employee.locator('[data-table="applications"]')
            expect(applications.locator('[data-state="issued"]')).to_have_count(1)
            expect(applications).to_contain_text("김철수")
            expect(applications).to_contain_text("확인했습니다")
            lost = employee.get_by_role("link", name="분실 신고 / Report a lost phone")
            expect(lost).to_be_visible()
            shot(employee, "console-me")
            lost.click()  # the confirmation says what happens; nothing is reported here
            expect(employee.locator("h1")).to_have_text("분실 신고 / Report a lost phone")
            expect(employee.locator("main")).to_contain_text("Gates and logins refuse it")
            shot(employee, "console-me-lost")
