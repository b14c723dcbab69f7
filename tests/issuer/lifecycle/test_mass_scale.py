"""A population issued in bulk (random slots, new lists as lists fill) and a mass action on it
that is interrupted and run again: nothing done twice, each list signed once per batch."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from bench.population import issue_population
from issuer.api_tokens import operator
from issuer.hr.importing import HrSource
from issuer.hr.stream import import_hr_rows
from issuer.hr.synthetic import SyntheticSource, synthetic_rows
from issuer.lifecycle.mass_actions import (
    MassPlan,
    MassScope,
    plan_mass_action,
    run_mass_action,
)
from issuer.models import AuditEntry, Credential, Employee, StatusListRecord
from issuer.status.bulk import insert_with_status_slots
from issuer.status.slots import FULL_FRACTION, current_status_list
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import get_settings

EMPLOYEES = 1500
LIST_SIZE = 1000


class Interrupted(Exception):
    pass


@pytest.fixture
def runtime(database_url: str, tmp_path: Path):
    settings = get_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        outbox_console=False,
        status_list_size=LIST_SIZE,
    )
    rt = open_issuer_runtime(settings)
    with rt.unit_of_work() as s:
        rows = synthetic_rows(EMPLOYEES, seed=3, source=SyntheticSource.central)
        import_hr_rows(s, rows, source=HrSource.central, now=rt.clock())
    yield rt
    rt.close()


def test_bulk_population_fills_lists_to_their_limit_at_distinct_slots(
    runtime: IssuerRuntime,
) -> None:
    issued = issue_population(runtime, batch=400)
    with runtime.unit_of_work() as s:
        live = s.scalar(
            select(func.count())
            .select_from(Employee)
            .where(Employee.employment_status != "retired")
        )
        per_list = Counter(s.scalars(select(Credential.status_list_id)).all())
        slots = s.execute(select(Credential.status_list_id, Credential.status_idx)).all()
        lists = s.scalars(select(StatusListRecord).order_by(StatusListRecord.id)).all()
    assert issued == live == len(slots) == len(set(slots))
    assert len(lists) == -(-issued // int(LIST_SIZE * FULL_FRACTION))
    assert all(n == LIST_SIZE * FULL_FRACTION for lid, n in per_list.items() if lid < lists[-1].id)
    assert [r.full for r in lists] == [True] * (len(lists) - 1) + [False]
    assert all(r.token is not None and r.token_version == r.version for r in lists)


def _suspend_largest_agency(runtime: IssuerRuntime) -> MassPlan:
    """A population issued, and the plan to suspend its largest agency."""
    issue_population(runtime)
    with runtime.unit_of_work() as s:
        agency = s.execute(
            select(Employee.agency_code, func.count())
            .group_by(Employee.agency_code)
            .order_by(func.count().desc())
        ).first()[0]
        return plan_mass_action(
            s,
            operator("hr"),
            MassScope.parse(agency_code=agency),
            action="suspend",
            reason="emergency",
        )


def _in(runtime: IssuerRuntime, *, batch_size: int) -> dict[str, Any]:
    """`run_mass_action`'s arguments from the runtime."""
    return dict(
        unit_of_work=runtime.unit_of_work,
        publisher=runtime.status,
        keyring=lambda: runtime.keyring,
        clock=runtime.clock,
        batch_size=batch_size,
    )


def test_interrupted_mass_suspension_resumes_without_doing_anything_twice(
    runtime: IssuerRuntime,
) -> None:
    plan = _suspend_largest_agency(runtime)
    with runtime.unit_of_work() as s:
        versions = dict(s.execute(select(StatusListRecord.id, StatusListRecord.version)).all())
    assert plan.matched > 200
    calls = []
    original = runtime.status.record_changes

    def counted(session, changes, **kwargs):
        touched = original(session, list(changes), **kwargs)
        calls.append(touched)
        return touched

    runtime.status.record_changes = counted  # type: ignore[method-assign]

    def stop_after_first(n: int) -> None:
        raise Interrupted

    run = _in(runtime, batch_size=100)
    with pytest.raises(Interrupted):
        run_mass_action(plan, progress=stop_after_first, **run)
    with runtime.unit_of_work() as s:
        first = s.scalar(
            select(func.count()).select_from(Credential).where(Credential.state == "suspended")
        )
    assert first == 100
    result = run_mass_action(plan, **run)
    assert result.changed == plan.matched - 100
    with runtime.unit_of_work() as s:
        suspended = s.scalar(
            select(func.count()).select_from(Credential).where(Credential.state == "suspended")
        )
        audited = Counter(
            s.scalars(
                select(AuditEntry.subject).where(AuditEntry.action == "credential.suspend")
            ).all()
        )
        after = dict(s.execute(select(StatusListRecord.id, StatusListRecord.version)).all())
    assert suspended == plan.matched == len(audited) and set(audited.values()) == {1}
    assert len(calls) == result.batches + 1  # one publication per batch, both runs
    for list_id, version in after.items():  # each list signed once per batch that touched it
        assert version - versions[list_id] == sum(list_id in touched for touched in calls)


# PostgreSQL only: SQLite has one writer, so no other process can take a slot meanwhile.
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_bulk_slots_taken_meanwhile_by_another_process_are_retried_elsewhere(
    runtime: IssuerRuntime,
) -> None:
    with runtime.unit_of_work() as s:
        list_id = current_status_list(s, runtime.config, runtime.clock()).id
        employees = s.scalars(select(Employee.id).order_by(Employee.id).limit(11)).all()
    now = runtime.clock()
    rows = [credential_row(e, now) for e in employees[:10]]
    picks = iter(range(5, 1000))

    def randbelow(_n: int) -> int:
        idx = next(picks)
        if idx == 5:  # another issuer takes slot 5 and commits before our insert
            with runtime.unit_of_work() as other:
                other.execute(
                    insert(Credential),
                    [
                        {
                            **credential_row(employees[10], now),
                            "status_list_id": list_id,
                            "status_idx": 5,
                        }
                    ],
                )
        return idx

    with runtime.unit_of_work() as s:
        insert_with_status_slots(s, runtime.config, now, rows, randbelow)
    with runtime.unit_of_work() as s:
        slots = dict(s.execute(select(Credential.id, Credential.status_idx)).all())
    assert {r["id"] for r in rows} <= set(slots) and len(set(slots.values())) == 11
    assert sorted(slots[r["id"]] for r in rows) == list(range(6, 16))


def credential_row(employee_id: int, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "employee_id": employee_id,
        "holder_jkt": "j",
        "kid": "k",
        "state": "active",
        "issued_at": now,
        "expires_at": now,
        "notification_id": uuid.uuid4().hex,
    }


def test_a_credential_that_comes_to_match_behind_a_running_mass_action_is_changed_too(
    runtime: IssuerRuntime,
) -> None:
    plan = _suspend_largest_agency(runtime)
    with runtime.unit_of_work() as s:
        first = s.scalar(
            select(Credential.id)
            .join(Employee, Employee.id == Credential.employee_id)
            .where(Employee.agency_code == plan.scope.agency_code)
            .order_by(Employee.id)
            .limit(1)
        )
    batches = []

    def reinstated_behind(n: int) -> None:
        batches.append(n)
        if len(batches) == 2:  # the first batch's first credential is active again meanwhile
            with runtime.unit_of_work() as s:
                s.execute(update(Credential).where(Credential.id == first).values(state="active"))

    result = run_mass_action(plan, progress=reinstated_behind, **_in(runtime, batch_size=100))
    with runtime.unit_of_work() as s:
        state = s.scalar(select(Credential.state).where(Credential.id == first))
    assert (result.changed, batches[-1], state) == (plan.matched + 1, 1, "suspended")
