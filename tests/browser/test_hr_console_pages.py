"""The HR officer's console in a real browser: a mass suspension's progress bar moves and
completes, the audit page verifies the chain, an officer revokes a credential, an HR export is
reviewed then applied; screenshots of the HR pages. The person is chosen through the kit's
`current_viewer` seam (signing in with the wallet is `test_sign_in.py`'s scenario)."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
from browser_kit import shot
from hr_console_kit import AGENCY, admin, hr_desk, officer
from hr_console_steps import revoke_in_console
from issuer_kit import employee, standard_staff
from playwright.sync_api import Page, expect

from issuer.console.hr_mass import MassJob, MassJobs
from vc.status_list import INVALID

STEP_TIMEOUT_S = 30


class SteppedJobs(MassJobs):
    """Mass actions whose every batch waits for the test's go-ahead, so the page can be seen
    between batches whatever the machine's speed."""

    def __init__(self) -> None:
        super().__init__(batch_size=1)
        self.go = threading.Semaphore(0)

    def on_batch(self, job: MassJob, count: int) -> None:
        super().on_batch(job, count)
        if job.done < job.plan.matched:  # the last batch ends the run unhindered
            assert self.go.acquire(timeout=STEP_TIMEOUT_S), "the test never let it go on"


@pytest.fixture
def desk(server_env, monkeypatch, tmp_path: Path):
    with hr_desk(server_env, monkeypatch, tmp_path) as desk:
        yield desk


def test_a_mass_suspension_shows_its_bar_moving_and_the_audit_chain_verifies(
    desk, page: Page
) -> None:
    jobs = desk.server.app.state.hr_mass_jobs = SteppedJobs()
    for number in ("E1001", "E1002", "E9000"):
        desk.office.issue(number)
    desk.sign_in(admin("A0001"))
    page.goto(f"{desk.server.url}/console/hr/mass")
    shot(page, "hr-mass-form")
    form = page.locator("form").filter(has=page.locator('input[name="action"][value="suspend"]'))
    form.locator('input[name="agency_code"]').fill(AGENCY)
    form.locator("select[name=reason]").select_option("emergency")
    form.get_by_role("button", name="다음 / Next").click()
    expect(page.locator("strong").first).to_have_text("3")
    shot(page, "hr-mass-confirm")
    page.get_by_role("button", name="정지 / Suspend 시작 / Start (3)").click()

    bar = page.locator("#progress progress")
    expect(bar).to_have_attribute("value", "33")  # the first batch, live over SSE
    shot(page, "hr-mass-progress")
    jobs.go.release()
    expect(bar).to_have_attribute("value", "66")
    jobs.go.release()
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator("#progress")).to_contain_text("완료 / Done: 3")
    expect(page.locator("#progress")).to_have_attribute("data-sse-state", "done")
    shot(page, "hr-mass-done")

    page.goto(f"{desk.server.url}/console/hr/audit")
    expect(page.locator("tbody")).to_contain_text("credential.mass_suspend")
    shot(page, "hr-audit")
    page.get_by_role("button", name="체인 검증 / Verify chain").click()
    expect(page.locator(".verify-ok")).to_contain_text("정상 / OK")
    shot(page, "hr-audit-verified")


def test_an_officer_finds_an_employee_and_revokes_in_the_console(desk, page: Page) -> None:
    issued = desk.office.issue("E1002")
    desk.sign_in(officer(AGENCY, "O1741"))
    page.goto(f"{desk.server.url}/console/hr")
    page.get_by_label("공무원 번호, 이름 또는 부서 / Number, name or department").fill("김철")
    page.get_by_role("button", name="찾기 / Search").click()
    shot(page, "hr-search")
    page.get_by_role("link", name="E1002").click()
    expect(page.locator("h1")).to_contain_text("김철수")
    shot(page, "hr-employee")
    page.get_by_role("link", name="폐기 / Revoke").first.click()
    shot(page, "hr-revoke-confirm")
    page.go_back()
    revoke_in_console(page, desk.server.url, "E1002")
    shot(page, "hr-employee-revoked")
    assert desk.office.state_of(issued) == "revoked"
    desk.office.assert_published(issued.uri, {issued.idx: INVALID})


def test_an_hr_export_is_reviewed_then_applied(desk, page: Page, tmp_path: Path) -> None:
    desk.office.issue("E1001")
    rows = [r for r in standard_staff() if r["employee_number"] != "E1002"]
    rows[0].update(department="인사과", department_code="D200")  # E1001 moves
    rows.append(employee("E7001", name="신입사원"))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    export = tmp_path / "e-saram.csv"
    export.write_text(out.getvalue(), encoding="utf-8")
    desk.sign_in(admin())
    page.goto(f"{desk.server.url}/console/hr/upload")
    shot(page, "hr-upload")
    page.set_input_files("#file", str(export))
    page.get_by_role("button", name="예행 / Dry run").click()
    expect(page.locator("h1")).to_contain_text("예행 결과 / Dry run")
    expect(page.locator("td.after").first).to_have_text("인사과")
    shot(page, "hr-upload-review")
    page.once("dialog", lambda dialog: dialog.accept())  # the kit's data-confirm
    page.get_by_role("button", name="적용 / Apply").click()
    expect(page.get_by_role("status")).to_contain_text("추가 / created 1")
    shot(page, "hr-upload-applied")


def test_the_issuer_pages_for_hr_administrators(desk, page: Page) -> None:
    desk.office.issue("E1001")
    desk.sign_in(admin())
    for path, name in (
        ("/console/hr/outbox", "hr-outbox"),
        ("/console/hr/status-lists", "hr-status-lists"),
        ("/console/hr/keys", "hr-keys"),
    ):
        page.goto(f"{desk.server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        shot(page, name)
    page.get_by_role("link", name="키 교체 / Rotate the key").click()
    page.get_by_role("button", name="교체 / Rotate").click()
    expect(page.get_by_role("status")).to_contain_text("Rotated")
