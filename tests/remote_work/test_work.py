"""Work sessions: start only on an approved day, end at sign-out, idle timeout (at the last
activity), back-channel logout or a clock that went back; records, totals, a head's correction as
a new audited entry beside the original."""

from __future__ import annotations

import pytest
from rw_kit import EMPLOYEE, HEAD, OTHER_HEAD, SID, System, approve_today, records, start
from sqlalchemy import select

from remote_work.errors import RemoteWorkError
from remote_work.models import work_ends, work_sessions
from remote_work.plans import HOME
from remote_work.work import (
    audit_entries,
    close_idle_sessions,
    correct_record,
    daily_totals,
    end_sid,
    open_session_for,
    sid_ended,
    touch,
)


def test_no_session_without_an_approved_plan_for_today(system: System) -> None:
    with pytest.raises(RemoteWorkError) as caught:
        start(system)
    assert caught.value.code == "no_approved_plan"
    with system.db() as db:
        assert db.execute(select(work_sessions)).first() is None


def test_no_session_without_a_login_sid(system: System) -> None:
    approve_today(system)
    for sid in (None, ""):
        with pytest.raises(RemoteWorkError) as caught:
            start(system, sid)  # type: ignore[arg-type]
        assert caught.value.code == "no_sid"


def test_a_session_runs_from_start_to_sign_out(system: System) -> None:
    plan_id = approve_today(system)
    session_id = start(system)
    assert start(system) == session_id  # the same login keeps its session
    system.clock.advance(2 * 3600)
    with system.db() as db:
        assert end_sid(db, SID, how="signout", actor=f"console:{EMPLOYEE}", now=system.clock())
        assert sid_ended(db, SID)
    [record] = records(system)
    assert (record.session_id, record.plan_id, record.place, record.how) == (
        session_id,
        plan_id,
        HOME,
        "signout",
    )
    assert record.seconds(system.clock()) == 2 * 3600
    assert start(system, "sid-2") != session_id  # a new login on the same day: a new session


def test_idle_sessions_end_at_their_last_activity(system: System) -> None:
    approve_today(system)
    start(system)
    system.clock.advance(600)
    with system.db() as db:
        assert touch(db, sid=SID, employee_number=EMPLOYEE, now=system.clock())
    last_activity = system.clock()
    system.clock.advance(system.rw.idle_timeout_s)
    with system.db() as db:  # exactly the timeout: still open
        assert not close_idle_sessions(
            db, idle_timeout_s=system.rw.idle_timeout_s, now=system.clock()
        )
    system.clock.advance(1)
    with system.db() as db:
        assert close_idle_sessions(db, idle_timeout_s=system.rw.idle_timeout_s, now=system.clock())
        assert open_session_for(db, SID, EMPLOYEE) is None
    system.clock.advance(1)
    with system.db() as db:
        assert (
            close_idle_sessions(db, idle_timeout_s=system.rw.idle_timeout_s, now=system.clock())
            == 0
        )
        assert sid_ended(db, SID)  # the browser holding it is signed out too
    [record] = records(system)
    assert (record.how, record.ended_at, record.seconds(0)) == ("idle_timeout", last_activity, 600)


def test_a_clock_that_went_back_ends_the_session(system: System) -> None:
    approve_today(system)
    start(system)
    system.clock.advance(300)
    with system.db() as db:
        touch(db, sid=SID, employee_number=EMPLOYEE, now=system.clock())
    system.clock.advance(-120)
    with system.db() as db:
        assert touch(db, sid=SID, employee_number=EMPLOYEE, now=system.clock()) is False
    [record] = records(system)
    assert record.how == "clock_changed" and record.seconds(0) == 300


def test_totals_per_day_and_month(system: System) -> None:
    approve_today(system, days=2)
    start(system, "a")
    system.clock.advance(3600)
    with system.db() as db:
        end_sid(db, "a", how="signout", actor="t", now=system.clock())
    system.clock.advance(1800)
    start(system, "b")
    system.clock.advance(1800)
    with system.db() as db:
        end_sid(db, "b", how="signout", actor="t", now=system.clock())
    system.clock.advance(86400)
    start(system, "c")
    system.clock.advance(600)  # still open: counts until now
    totals = daily_totals(records(system), system.clock())
    assert list(totals.values()) == [5400, 600]
    assert list(totals) == [system.clock.day(-1), system.clock.today]


def test_a_correction_is_a_new_audited_entry_by_the_head(system: System) -> None:
    approve_today(system)
    session_id = start(system)
    started = system.clock()
    system.clock.advance(3600)
    with system.db() as db:
        end_sid(db, SID, how="signout", actor="t", now=system.clock())

    def correct(head: str, begin: float, end: float, reason: str = "지각 정정") -> None:
        with system.db() as db:
            correct_record(
                db,
                system.rw.heads,
                session_id=session_id,
                head=head,
                started_at=begin,
                ended_at=end,
                reason=reason,
                now=system.clock(),
            )

    for head, begin, end, reason, code in [
        (OTHER_HEAD, started, started + 60, "x", "not_department_head"),
        (EMPLOYEE, started, started + 60, "x", "not_department_head"),
        (HEAD, started + 60, started, "x", "invalid_correction"),
        (HEAD, started, started + 60, " ", "invalid_correction"),
        (HEAD, started, system.clock() + 60, "x", "invalid_correction"),
    ]:
        with pytest.raises(RemoteWorkError) as caught:
            correct(head, begin, end, reason)
        assert caught.value.code == code
    correct(HEAD, started - 1800, started + 3600)
    [record] = records(system)
    assert record.seconds(0) == 5400 and record.corrected_by == f"console:{HEAD}"
    with system.db() as db:  # the original stays as it was
        original = db.execute(select(work_sessions.c.started_at)).scalar_one()
        ended = db.execute(select(work_ends.c.ended_at)).scalar_one()
        entries = audit_entries(db, session_id)
    assert (original, ended) == (started, started + 3600)
    assert [e["action"] for e in entries] == ["work_started", "work_ended", "work_corrected"]
    assert entries[-1]["actor"] == f"console:{HEAD}"
    assert entries[-1]["detail"]["before"] == [started, started + 3600]


def test_an_open_session_cannot_be_corrected(system: System) -> None:
    approve_today(system)
    session_id = start(system)
    with system.db() as db, pytest.raises(RemoteWorkError) as caught:
        correct_record(
            db,
            system.rw.heads,
            session_id=session_id,
            head=HEAD,
            started_at=system.clock() - 60,
            ended_at=system.clock(),
            reason="x",
            now=system.clock(),
        )
    assert caught.value.code == "record_not_found"
