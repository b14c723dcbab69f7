"""Plans and approval: filing, the refusals (past, overlap, invalid), the head rule, deciding
once; nothing is written by a refused call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rw_kit import CENTRES, DEPARTMENT, EMPLOYEE, HEAD, OTHER_HEAD, System
from sqlalchemy import func, select

from remote_work.errors import RemoteWorkError
from remote_work.models import audit, plan_decisions, plans
from remote_work.plans import (
    HOME,
    PlanRequest,
    approved_plan_on,
    decide_plan,
    file_plan,
    inbox,
)


def _file(system: System, start: int = 0, end: int = 0, **changes: object) -> str:
    fields: dict[str, object] = {
        "start_date": system.clock.day(start),
        "end_date": system.clock.day(end),
        "place": HOME,
        "tasks": "보고서 작성 / writing a report",
        "overtime_hours": 0,
    }
    fields.update(changes)
    with system.db() as db:
        plan = file_plan(
            db,
            employee_number=EMPLOYEE,
            employee_name="홍길동",
            department=DEPARTMENT,
            request=PlanRequest(**fields),  # type: ignore[arg-type]
            centres=frozenset(CENTRES),
            now=system.clock(),
        )
    return plan.id


def _decide(system: System, plan_id: str, head: str = HEAD, decision: str = "approved") -> None:
    with system.db() as db:
        decide_plan(
            db,
            system.rw.heads,
            plan_id=plan_id,
            head=head,
            decision=decision,
            comment="좋습니다",
            now=system.clock(),
        )


def _count(system: System, table: object) -> int:
    with system.db() as db:
        return int(db.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _refused(system: System, code: str, call: object) -> None:
    before = (_count(system, plans), _count(system, plan_decisions), _count(system, audit))
    with pytest.raises(RemoteWorkError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == code
    assert (_count(system, plans), _count(system, plan_decisions), _count(system, audit)) == before


def test_a_plan_is_filed_approved_and_covers_its_days(system: System) -> None:
    plan_id = _file(system, 0, 2, place="centre:sejong-1", overtime_hours=2)
    with system.db() as db:
        assert approved_plan_on(db, EMPLOYEE, system.clock.today) is None
        assert [p.id for p in inbox(db, system.rw.heads, HEAD)] == [plan_id]
        assert inbox(db, system.rw.heads, OTHER_HEAD) == []
    _decide(system, plan_id)
    with system.db() as db:
        for offset in (0, 1, 2):
            found = approved_plan_on(db, EMPLOYEE, system.clock.day(offset))
            assert found is not None and found.place == "centre:sejong-1"
        assert approved_plan_on(db, EMPLOYEE, system.clock.day(3)) is None
        actions = [r.action for r in db.execute(select(audit).order_by(audit.c.id))]
    assert actions == ["plan_filed", "plan_approved"]


@pytest.mark.parametrize(
    ("code", "changes"),
    [
        pytest.param("plan_in_past", {"start": -1, "end": 0}, id="past"),
        pytest.param("invalid_plan", {"start": 2, "end": 1}, id="ends_before_start"),
        pytest.param("invalid_plan", {"start": 0, "end": 40}, id="too_long"),
        pytest.param("invalid_plan", {"place": "centre:nowhere"}, id="unknown_centre"),
        pytest.param("invalid_plan", {"place": "office"}, id="unknown_place"),
        pytest.param("invalid_plan", {"tasks": "   "}, id="no_tasks"),
        pytest.param("invalid_plan", {"overtime_hours": 13}, id="too_much_overtime"),
        pytest.param("invalid_plan", {"overtime_hours": -1}, id="negative_overtime"),
    ],
)
def test_bad_plans_are_refused_and_nothing_is_written(
    system: System, code: str, changes: dict[str, object]
) -> None:
    changes = dict(changes)  # the parameter is shared by the SQLite and PostgreSQL runs
    start = int(changes.pop("start", 0))  # type: ignore[call-overload]
    end = int(changes.pop("end", 0))  # type: ignore[call-overload]
    _refused(system, code, lambda: _file(system, start, end, **changes))


def test_overlapping_plans_are_refused_unless_the_first_was_rejected(system: System) -> None:
    first = _file(system, 1, 3)
    _refused(system, "plan_overlaps", lambda: _file(system, 3, 5))
    _refused(system, "plan_overlaps", lambda: _file(system, 0, 1))
    _file(system, 4, 5)  # the next day is free
    _decide(system, first, decision="rejected")
    _file(system, 2, 2)  # a rejected plan frees its days


def test_only_the_employees_head_decides_and_only_once(system: System) -> None:
    plan_id = _file(system)
    _refused(system, "not_department_head", lambda: _decide(system, plan_id, head=OTHER_HEAD))
    _refused(system, "not_department_head", lambda: _decide(system, plan_id, head=EMPLOYEE))
    _refused(system, "invalid_plan", lambda: _decide(system, plan_id, decision="maybe"))
    _refused(system, "plan_not_found", lambda: _decide(system, "nope"))
    _decide(system, plan_id, decision="rejected")
    _refused(system, "already_decided", lambda: _decide(system, plan_id))
    with system.db() as db:
        assert approved_plan_on(db, EMPLOYEE, system.clock.today) is None


def test_a_head_does_not_decide_their_own_plan(system: System) -> None:
    with system.db() as db:
        plan = file_plan(
            db,
            employee_number=HEAD,
            employee_name="부서장",
            department=DEPARTMENT,
            request=PlanRequest(system.clock.today, system.clock.today, HOME, "업무"),
            centres=frozenset(),
            now=system.clock(),
        )
        assert inbox(db, system.rw.heads, HEAD) == []
    _refused(system, "not_department_head", lambda: _decide(system, plan.id, head=HEAD))


def test_today_is_the_day_in_korea(system: System) -> None:
    """At 23:30 UTC it is already the next morning in Korea: a plan for that Korean day is not
    in the past."""
    system.clock.now = system.clock.now - timedelta(hours=9, minutes=30).total_seconds()
    assert _file(system, 0, 0)
