"""The remote-work pages through a browser (httpx with cookies against the served app): file a
plan, the head approves it, work starts at the next sign-in, the records page shows it; the
refusals as error pages with their codes; CSRF on every form; the office PC placeholder."""

from __future__ import annotations

import re

import httpx
from rw_kit import (
    CENTRES,
    DEPARTMENT,
    EMPLOYEE,
    HEAD,
    OTHER_HEAD,
    System,
    approve_today,
    csrf,
    records,
    sign_in,
)
from sqlalchemy import select

from remote_work.models import plans, signins


def _file(browser: httpx.Client, **changes: str) -> httpx.Response:
    form = {
        "csrf_token": csrf(browser),
        "start_date": changes.pop("start_date"),
        "end_date": changes.pop("end_date"),
        "place": "home",
        "tasks": "정책 보고서 / policy report",
        "overtime_hours": "1",
        **changes,
    }
    return browser.post("/work/plans", data=form)


def test_plan_approve_work_and_see_the_record(system: System) -> None:
    today = system.clock.today.isoformat()
    with system.browser() as employee, system.browser() as head:
        sign_in(employee, EMPLOYEE, department=DEPARTMENT)
        home = employee.get("/work")
        assert 'data-state="none"' in home.text and "no_approved_plan" in home.text
        assert employee.get("/work/office-pc").status_code == 403
        filed = _file(employee, start_date=today, end_date=today, place="centre:sejong-1")
        assert filed.status_code == 303
        plans = employee.get("/work/plans").text
        assert 'data-status="pending"' in plans and CENTRES["sejong-1"] in plans

        sign_in(head, HEAD, name="김부서", department=DEPARTMENT)
        inbox = head.get("/work/approvals").text
        plan_id = re.search(r'data-plan="([0-9a-f]+)"', inbox).group(1)  # type: ignore[union-attr]
        token = csrf(head, "/work/approvals")
        decided = head.post(
            f"/work/approvals/{plan_id}",
            data={"csrf_token": token, "decision": "approved", "comment": "승인합니다"},
        )
        assert decided.status_code == 303
        twice = head.post(
            f"/work/approvals/{plan_id}", data={"csrf_token": token, "decision": "rejected"}
        )
        assert twice.status_code == 409 and "already_decided" in twice.text

        assert 'data-status="approved"' in employee.get("/work/plans").text
        start = employee.post("/work/start", data={"csrf_token": csrf(employee, "/work")})
        assert start.status_code == 303
        home = employee.get("/work").text
        assert 'data-state="open"' in home and "사무실 PC" in home and "연결 예정" in home
        office = employee.get("/work/office-pc")
        assert office.status_code == 200 and "연결 예정 / Coming later" in office.text

        system.clock.advance(1500)
        page = employee.get("/work/records").text
        assert 'data-how="open"' in page and "0:25" in page
    with system.db() as db:
        amrs = {r.employee_number: r.amr for r in db.execute(select(signins))}
    assert amrs == {EMPLOYEE: "mobile_id pin", HEAD: "mobile_id pin"}


def test_work_starts_at_sign_in_on_an_approved_day(system: System) -> None:
    approve_today(system)
    with system.browser() as browser:
        sign_in(browser, EMPLOYEE)
        assert 'data-state="open"' in browser.get("/work").text
    [record] = records(system)
    assert record.how is None


def test_refusals_are_pages_with_their_codes(system: System) -> None:
    yesterday = system.clock.day(-1).isoformat()
    today = system.clock.today.isoformat()
    with system.browser() as employee, system.browser() as other:
        sign_in(employee, EMPLOYEE)
        past = _file(employee, start_date=yesterday, end_date=today)
        assert past.status_code == 400 and "plan_in_past" in past.text
        bad = _file(employee, start_date="tomorrow", end_date=today)
        assert bad.status_code == 400 and "invalid_plan" in bad.text
        assert _file(employee, start_date=today, end_date=today).status_code == 303
        again = _file(employee, start_date=today, end_date=today)
        assert again.status_code == 400 and "plan_overlaps" in again.text
        started = employee.post("/work/start", data={"csrf_token": csrf(employee, "/work")})
        assert started.status_code == 403 and "no_approved_plan" in started.text
        no_csrf = employee.post("/work/start")
        assert no_csrf.status_code == 403 and "csrf_failed" in no_csrf.text
        assert employee.get("/work/approvals").status_code == 403  # not a head
        assert "Traceback" not in past.text

        sign_in(other, OTHER_HEAD, department="인사과")
        inbox = other.get("/work/approvals")
        assert inbox.status_code == 200 and "data-plan=" not in inbox.text
        plans = _plan_ids(system)
        refused = other.post(
            f"/work/approvals/{plans[0]}",
            data={"csrf_token": csrf(other, "/work/approvals"), "decision": "approved"},
        )
        assert refused.status_code == 403 and "not_department_head" in refused.text


def test_a_plan_needs_a_known_department(system: System) -> None:
    today = system.clock.today.isoformat()
    with system.browser() as browser:
        sign_in(browser, EMPLOYEE, department=None)
        answer = _file(browser, start_date=today, end_date=today)
        assert answer.status_code == 400 and "invalid_plan" in answer.text


def test_not_signed_in_goes_to_the_sign_in_page(system: System) -> None:
    with system.browser() as browser:
        answer = browser.get("/work/records")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/work/signin?next=%2Fwork%2Frecords")
        assert browser.get("/").headers["location"] == "/work"


def _plan_ids(system: System) -> list[str]:
    with system.db() as db:
        return [r.id for r in db.execute(select(plans.c.id))]
