"""The remote-work pages through a browser (httpx with cookies against the served app): file a
plan, the head approves it, work starts at the next sign-in, the records page shows it; the
refusals as error pages with their codes; CSRF on every form; the office PC placeholder."""

from __future__ import annotations

import re

import httpx
import pytest
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
from remote_work.team import csv_safe


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


def test_the_head_sees_the_team_exports_csv_and_corrects_a_record(system: System) -> None:
    approve_today(system)
    with system.browser() as employee, system.browser() as head:
        sign_in(employee, EMPLOYEE)
        assert employee.get("/work/team").status_code == 403  # not a head
        assert employee.get("/work/team.csv").status_code == 403
        system.clock.advance(1500)
        employee.post("/work/signout", data={"csrf_token": csrf(employee, "/work")})

        sign_in(head, HEAD, department=DEPARTMENT)
        page = head.get("/work/team")
        assert page.status_code == 200 and 'data-how="signout"' in page.text
        exported = head.get("/work/team.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        lines = exported.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("employee_number,employee_name,department,day")
        assert lines[1].startswith(f"{EMPLOYEE},홍길동,{DEPARTMENT},")
        assert ",signout,home," in lines[1] and lines[1].split(",")[9] == "25"

        [record] = records(system)
        day = system.clock.today.isoformat()
        token = csrf(head, "/work/team")
        bad = head.post(
            f"/work/team/{record.session_id}/correct",
            data={"csrf_token": token, "started_at": "x", "ended_at": "y", "reason": "r"},
        )
        assert bad.status_code == 400 and "invalid_correction" in bad.text
        fixed = head.post(
            f"/work/team/{record.session_id}/correct",
            data={
                "csrf_token": token,
                "started_at": f"{day}T08:00",
                "ended_at": f"{day}T09:20",
                "reason": "출근 기록 누락 / missed start",
            },
        )
        assert fixed.status_code == 303
        [corrected] = records(system)
        assert corrected.seconds(0) == 4800 and corrected.corrected_by == f"console:{HEAD}"
    with system.browser() as employee:
        sign_in(employee, EMPLOYEE)
        assert "정정됨 / Corrected" in employee.get("/work/records").text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("홍", "홍"),
    ],
)
def test_csv_cells_never_start_a_formula(value: str, written: str) -> None:
    assert csv_safe(value) == written
