"""The first mobile ID, in a real browser, each person from sign-in: an employee without a
mobile ID signs in to the issuer's console with a code sent to the phone on their HR record and
applies; their department head signs in with the mobile ID (the login service, the wallet
simulator presenting) and approves in the inbox; the phone accepts the SMS offer from the
outbox; the employee sees the credential as valid. Screenshots of /console/me and
/console/inbox."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_kit import recorded_page, shot, sign_in_with_wallet
from issuer_console_kit import served_issuer
from issuer_kit import link_of, read_sms, tx_code_of
from login_kit import PIN, Login, running_login
from playwright.sync_api import Browser, Page, expect
from server_kit import Served
from signin_kit import register_console
from stack_kit import Phone

from issuer.grants import grant_role
from issuer.hr.applications import decide_application, file_application
from issuer.hr.inbox import head_principal
from issuer.hr.self_service import employee_principal
from wallet_sim.holder import Holder
from wallet_sim.http import new_client
from wallet_sim.store import INTERACTIVE, WalletStore

SIGNIN_CODE = re.compile(r"Console sign-in code: ([0-9]{6})")


@dataclass
class _Issuer:
    url: str


@dataclass
class Office:
    """The issuer with its console (an OpenID Connect client of the login service)."""

    url: str
    data_dir: Path
    runtime: Any
    login: Login
    tmp_path: Path
    offers: int = 0

    def approved_outside_the_browser(self, employee_number: str, department: str) -> None:
        """An application filed and approved through the services (as the HR API does)."""
        runtime = self.runtime
        actor = f"cli:{employee_number}"
        with runtime.unit_of_work() as session:
            record = file_application(
                session,
                employee_principal(employee_number, actor),
                employee_number=employee_number,
                phone="010-1234-5678",
                reason="new",
                now=runtime.clock(),
            )
        with runtime.unit_of_work() as session:
            decide_application(
                session,
                head_principal("cli:head", department),
                record.application.id,
                approve=True,
                comment="",
                config=runtime.config,
                now=runtime.clock(),
            )

    def phone(self, employee_number: str) -> Phone:
        """A new phone accepting the newest SMS offer (link + transaction code)."""
        self.offers += 1
        link = link_of(read_sms(self.data_dir, kind="offer_link", count=self.offers)[-1])
        code = tx_code_of(read_sms(self.data_dir, kind="tx_code", count=self.offers)[-1])
        path = self.tmp_path / f"phone-{employee_number}"
        wallet = WalletStore(path, kdf_limits=INTERACTIVE).create(PIN)
        with new_client() as client:
            holder = Holder(client)
            holder.accept(holder.resolve_offer(link), tx_code=code, wallet=wallet)
        return Phone(employee_number, wallet, self.login.presenter())


@contextlib.contextmanager
def office(tmp_path: Path) -> Iterator[Office]:
    """The login service trusting the issuer, the issuer's console registered there, E1002
    granted department_head of D100 (`mobileid admin grant`) and holding a mobile ID."""
    issuer = Served(None)  # its port is held: the login service trusts its URL before it runs
    with running_login(
        tmp_path, f"sqlite:///{tmp_path / 'login.sqlite3'}", time.time, _Issuer(issuer.url)
    ) as login:
        client = register_console(login, issuer.url)
        with served_issuer(
            tmp_path,
            f"sqlite:///{tmp_path / 'issuer.sqlite3'}",
            login_url=login.url,
            client_id=client.client.client_id,
            secret=client.secret,
            served=issuer,
            run_outbox=True,
        ) as (_, app):
            login.refresh()  # the issuer is up: the login service reads its keys
            runtime = app.state.runtime
            with runtime.unit_of_work() as session:
                grant_role(
                    session,
                    employee_number="E1002",
                    role="department_head",
                    scope="D100",
                    actor="cli",
                    now=runtime.clock(),
                )
            yield Office(issuer.url, tmp_path / "data", runtime, login, tmp_path)


def _sign_in_with_a_code(page: Page, office: Office, employee_number: str) -> None:
    page.goto(f"{office.url}/console/me")
    page.get_by_role("link", name="인증번호로 로그인 / Sign in with a code").click()
    page.get_by_label("직원 번호 / Employee number").fill(employee_number)
    page.get_by_role("button", name="인증번호 받기 / Send me a code").click()
    sms = read_sms(office.data_dir, kind="signin_code")
    assert sms, "no sign-in code was sent"
    found = SIGNIN_CODE.search(sms[-1]["body"])
    assert found, sms[-1]
    page.get_by_label("인증번호 / Code").fill(found.group(1))
    page.get_by_role("button", name="로그인 / Sign in").click()
    page.wait_for_url(f"{office.url}/console/me")


@pytest.mark.slow
def test_employee_applies_head_approves_phone_accepts_employee_sees_valid(
    tmp_path: Path, browser: Browser
) -> None:
    with office(tmp_path) as desk:
        desk.approved_outside_the_browser("E1002", "D100")
        head_phone = desk.phone("E1002")

        with recorded_page(browser) as employee:
            _sign_in_with_a_code(employee, desk, "E1001")
            expect(employee.locator("h1")).to_have_text("내 모바일 공무원증 / My mobile ID")
            employee.get_by_label("휴대전화 번호 / Mobile phone number").fill("010-1234-5678")
            employee.get_by_role("button", name="신청 / Apply").click()
            expect(employee.locator('[data-notice="applied"]')).to_be_visible()
            pending = employee.locator('[data-table="applications"] [data-state="pending"]')
            expect(pending).to_be_visible()

            with recorded_page(browser) as head:
                head.goto(f"{desk.url}/console/inbox")
                head.get_by_role(
                    "button", name="모바일 공무원증으로 로그인 / Sign in with the mobile ID"
                ).click()
                sign_in_with_wallet(head, head_phone)
                head.wait_for_url(f"{desk.url}/console/inbox")
                row = head.locator('[data-table="pending"] tbody tr')
                expect(row).to_have_count(1)
                expect(row).to_contain_text("홍길동")
                expect(row).to_contain_text("010-****-5678")
                expect(row).to_contain_text("홍길동 (E1001)")
                row.get_by_label("의견 / Comment").fill("확인했습니다")
                shot(head, "console-inbox")
                row.get_by_role("button", name="승인 / Approve").click()
                expect(head.locator('[data-notice="approved"]')).to_be_visible()
                expect(head.locator("[data-empty]")).to_be_visible()
                head.get_by_role("link", name="처리 내역 / History").click()
                expect(head.locator('[data-table="history"]')).to_contain_text("확인했습니다")
                shot(head, "console-inbox-history")

            desk.phone("E1001")  # the SMS offer, from the outbox

            employee.goto(f"{desk.url}/console/me")
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
