"""Console grants (issue 19): who may be granted what within which scope, revocation, what a
signed-in person holds (nothing once they leave), the audit trail, and `mobileid admin`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from issuer_kit import AGENCY, employee
from sqlalchemy import inspect, select, update
from typer.testing import CliRunner

from console.viewer import Grant
from issuer.audit import verify_audit_chain
from issuer.errors import GrantError, HrError
from issuer.grants import grant_role, grants_for, list_grants, revoke_grant
from issuer.hr.importing import HrSource, import_records, validate_records
from issuer.migrate import alembic_config, upgrade_database
from issuer.models import AuditEntry, Employee
from mobileid.cli import app as cli
from mobileid.db import create_db_engine

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ADMIN = "console:E0001"


def _grant(rt, number: str, role: str, scope: str | None = None, **kw):
    with rt.unit_of_work() as s:
        return grant_role(
            s, employee_number=number, role=role, scope=scope, actor=ADMIN, now=NOW, **kw
        )


def _held(rt, number: str, now: datetime = NOW) -> list[Grant]:
    with rt.unit_of_work() as s:
        return grants_for(s, number, now)


def _refused(rt, number: str, role: str, scope: str | None = None) -> str:
    with pytest.raises((GrantError, HrError)) as caught:
        _grant(rt, number, role, scope)
    return str(caught.value.code)


def test_each_role_takes_its_scope(staffed_issuer) -> None:
    _grant(staffed_issuer, "E1001", "hr_admin", reason="first administrator")
    _grant(staffed_issuer, "E1001", "hr_officer", AGENCY)
    _grant(staffed_issuer, "E1001", "department_head", "D200")
    _grant(staffed_issuer, "E1001", "gate_operator")
    _grant(staffed_issuer, "E1001", "gate_operator", " gate-1 ")  # trimmed
    _grant(staffed_issuer, "E1001", "login_admin")
    assert _held(staffed_issuer, "E1001") == [
        Grant("department_head", "D200"),
        Grant("gate_operator", None),
        Grant("gate_operator", "gate-1"),
        Grant("hr_admin", None),
        Grant("hr_officer", AGENCY),
        Grant("login_admin", None),
    ]
    assert _held(staffed_issuer, "E1002") == [] and _held(staffed_issuer, "NOBODY") == []


@pytest.mark.parametrize(
    ("role", "scope", "code"),
    [
        ("superuser", None, "unknown_role"),
        ("employee", None, "unknown_role"),  # implicit, never granted
        ("hr_admin", "D100", "scope_not_allowed"),
        ("login_admin", "x", "scope_not_allowed"),
        ("hr_officer", None, "scope_required"),
        ("department_head", "  ", "scope_required"),
        ("department_head", "D999", "unknown_scope"),  # no such department in HR data
        ("hr_officer", "9999999", "unknown_scope"),
        ("department_head", AGENCY, "unknown_scope"),  # an agency is not a department
        ("gate_operator", "gate 1; drop", "invalid_scope"),
        ("gate_operator", "g" * 65, "invalid_scope"),
    ],
)
def test_bad_roles_and_scopes_are_refused(
    staffed_issuer, role: str, scope: str | None, code
) -> None:
    assert _refused(staffed_issuer, "E1001", role, scope) == code
    with staffed_issuer.unit_of_work() as s:
        assert list_grants(s, include_revoked=True) == []
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "grant.add")) is None


def test_unknown_or_departed_employees_get_no_grant(staffed_issuer) -> None:
    assert _refused(staffed_issuer, "E0000", "hr_admin") == "employee_not_found"
    assert _refused(staffed_issuer, "E4001", "hr_admin") == "employee_not_active"  # on leave


def test_a_grant_is_held_once_and_revoked_once(staffed_issuer) -> None:
    first = _grant(staffed_issuer, "E1002", "department_head", "D100")
    assert _refused(staffed_issuer, "E1002", "department_head", "D100") == "grant_exists"
    _grant(staffed_issuer, "E1002", "department_head", "D200")  # another scope is another grant
    with staffed_issuer.unit_of_work() as s:
        revoked = revoke_grant(
            s,
            employee_number="E1002",
            role="department_head",
            scope="D100",
            actor=ADMIN,
            now=NOW + timedelta(hours=1),
            reason="moved to D200",
        )
    assert (revoked.id, revoked.revoked_by, revoked.revoke_reason) == (
        first.id,
        ADMIN,
        "moved to D200",
    )
    assert _held(staffed_issuer, "E1002") == [Grant("department_head", "D200")]
    with staffed_issuer.unit_of_work() as s, pytest.raises(GrantError) as again:
        revoke_grant(
            s, employee_number="E1002", role="department_head", scope="D100", actor=ADMIN, now=NOW
        )
    assert again.value.code == "grant_not_found"
    again_granted = _grant(
        staffed_issuer, "E1002", "department_head", "D100"
    )  # a new grant, new row
    assert again_granted.id != first.id
    with staffed_issuer.unit_of_work() as s:
        history = list_grants(s, "E1002", include_revoked=True)
        assert [(g.scope, g.active) for g in history] == [
            ("D100", False),
            ("D100", True),
            ("D200", True),
        ]
        assert [g.scope for g in list_grants(s, "E1002")] == ["D100", "D200"]
        with pytest.raises(HrError):
            list_grants(s, "E0000")


def test_every_change_is_audited_with_the_person(staffed_issuer) -> None:
    _grant(staffed_issuer, "E1001", "hr_officer", AGENCY, reason="HR team")
    with staffed_issuer.unit_of_work() as s:
        revoke_grant(
            s,
            employee_number="E1001",
            role="hr_officer",
            scope=AGENCY,
            actor="console:E2001",
            now=NOW,
            reason="left the team",
        )
    with staffed_issuer.unit_of_work() as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action.like("grant.%")).order_by(AuditEntry.seq)
        ).all()
        assert [(e.action, e.actor, e.subject) for e in entries] == [
            ("grant.add", ADMIN, "employee:E1001"),
            ("grant.revoke", "console:E2001", "employee:E1001"),
        ]
        assert json.loads(entries[1].detail)["reason"] == "left the team"
        assert json.loads(entries[0].detail)["scope"] == AGENCY
        verify_audit_chain(s)


def test_someone_who_leaves_holds_nothing(staffed_issuer) -> None:
    _grant(staffed_issuer, "E1001", "hr_admin")
    _grant(staffed_issuer, "E1002", "login_admin")
    with staffed_issuer.unit_of_work() as s:
        s.execute(
            update(Employee)
            .where(Employee.employee_number == "E1001")
            .values(employment_status="retired")
        )
        s.execute(
            update(Employee)
            .where(Employee.employee_number == "E1002")
            .values(retirement_date=datetime(2026, 12, 31).date())
        )
    assert _held(staffed_issuer, "E1001") == []
    # Service ends at the end of the retirement day, Korean time (15:00 UTC).
    assert _held(staffed_issuer, "E1002", datetime(2026, 12, 31, 14, 59, tzinfo=UTC)) == [
        Grant("login_admin")
    ]
    assert _held(staffed_issuer, "E1002", datetime(2026, 12, 31, 15, 0, tzinfo=UTC)) == []
    with staffed_issuer.unit_of_work() as s:  # the rows stay, as history, and can be revoked
        assert len(list_grants(s)) == 2
        revoke_grant(s, employee_number="E1001", role="hr_admin", scope=None, actor=ADMIN, now=NOW)


def test_reason_has_a_limit(staffed_issuer) -> None:
    with pytest.raises(GrantError) as caught:
        _grant(staffed_issuer, "E1001", "hr_admin", reason="x" * 201)
    assert caught.value.code == "invalid_request"


def _run(issuer_env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=issuer_env)
    return result.exit_code, result.output


def test_admin_commands(issuer_env, staffed_issuer) -> None:
    ok, out = _run(issuer_env, "admin", "grant", "--employee", "E1001", "--role", "hr_admin")
    assert ok == 0 and "E1001" in out and "hr_admin" in out, out
    ok, out = _run(
        issuer_env, "admin", "grant", "--employee", "E2001", "--role", "department_head", "--scope",
        "D200", "--reason", "인사과장",
    )  # fmt: skip
    assert ok == 0, out
    ok, out = _run(issuer_env, "admin", "grant", "--employee", "E1001", "--role", "hr_admin")
    assert ok == 1 and "grant_exists" in out
    ok, out = _run(
        issuer_env,
        "admin",
        "grant",
        "--employee",
        "E1001",
        "--role",
        "department_head",
        "--scope",
        "D9",
    )
    assert ok == 1 and "unknown_scope" in out
    ok, out = _run(issuer_env, "admin", "grants", "--json")
    listed = json.loads(out)
    assert [(g["employee_number"], g["role"], g["scope"], g["reason"]) for g in listed] == [
        ("E1001", "hr_admin", None, ""),
        ("E2001", "department_head", "D200", "인사과장"),
    ]
    assert all(g["granted_by"] == "cli" for g in listed)
    ok, out = _run(issuer_env, "admin", "grants", "--employee", "E2001", "--plain")
    lines = out.splitlines()
    assert ok == 0 and lines[0].startswith("id\temployee_number\tname\trole\tscope")
    assert len(lines) == 2 and "\tD200\t" in lines[1]
    ok, out = _run(
        issuer_env, "admin", "revoke-grant", "--employee", "E2001", "--role", "department_head",
        "--scope", "D200", "--reason", "moved",
    )  # fmt: skip
    assert ok == 0 and "E2001" in out, out
    ok, out = _run(issuer_env, "admin", "grants", "--employee", "E2001", "--json")
    assert json.loads(out) == []
    ok, out = _run(issuer_env, "admin", "grants", "--employee", "E2001", "--all", "--json")
    (old,) = json.loads(out)
    assert (old["revoked_by"], old["revoke_reason"]) == ("cli", "moved")
    ok, out = _run(issuer_env, "admin", "grants", "--all")
    assert ok == 0 and "E2001" in out and "revoked" in out and "moved" in out
    ok, out = _run(issuer_env, "admin", "grants", "--employee", "E0000")
    assert ok == 1 and "employee_not_found" in out


def test_admin_commands_on_an_unknown_role(issuer_env, staffed_issuer) -> None:
    ok, out = _run(issuer_env, "admin", "grant", "--employee", "E1001", "--role", "root")
    assert ok == 1 and "unknown_role" in out and "login_admin" in out
    ok, out = _run(issuer_env, "admin", "revoke-grant", "--employee", "E1001", "--role", "hr_admin")
    assert ok == 1 and "grant_not_found" in out
    rows = [employee("E7", department_code="D7")]
    with staffed_issuer.unit_of_work() as s:  # a new department in HR data can be scoped at once
        import_records(s, validate_records(rows), source=HrSource.central, now=NOW)
    ok, out = _run(
        issuer_env,
        "admin",
        "grant",
        "--employee",
        "E7",
        "--role",
        "department_head",
        "--scope",
        "D7",
    )
    assert ok == 0, out


def test_migration_0008_goes_down_and_up_again(database_url: str) -> None:
    tables = {"issuer_grants", "issuer_login_links", "issuer_signin_codes"}
    engine = create_db_engine(database_url)
    try:
        upgrade_database(engine, "0007")
        assert not tables & set(inspect(engine).get_table_names())
        upgrade_database(engine)
        assert tables <= set(inspect(engine).get_table_names())
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0007")
        assert not tables & set(inspect(engine).get_table_names())
        upgrade_database(engine)
        assert tables <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
