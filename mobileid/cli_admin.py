"""Console administration on `mobileid admin`: grant and revoke console roles, list grants, print
a single-use sign-in link, create the grant readers' token (issue 19). Every change is audited
with the operator (`issuer.api_tokens.operator`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from issuer.api_tokens import Role, operator
from issuer.console_auth import LOGIN_LINK_TTL, create_login_link, login_link_path
from issuer.grants import ConsoleRole, GrantRecord, grant_role, list_grants, revoke_grant
from mobileid.cli_common import console, issuer_runtime
from mobileid.cli_hr import create_token
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script

__all__ = ["register_admin_commands"]

_ROLES = ", ".join(r.value for r in ConsoleRole)
EmployeeOpt = Annotated[str, typer.Option("--employee", help="employee number")]
RoleOpt = Annotated[str, typer.Option("--role", metavar="ROLE", help=_ROLES)]
ScopeOpt = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="agency code (hr_officer), department code (department_head), gate id "
        "(gate_operator; none: every gate)",
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (audited)")]
_GRANT_COLUMNS = (
    "id",
    "employee_number",
    "name",
    "role",
    "scope",
    "reason",
    "granted_by",
    "granted_at",
    "revoked_by",
    "revoked_at",
    "revoke_reason",
)


def _describe(g: GrantRecord) -> str:
    scope = f" ({escape(g.scope)})" if g.scope else ""
    return f"{escape(g.employee_number)} {escape(g.name)}: {g.role}{scope}"


def _change(change: Callable[..., GrantRecord], **given: str | None) -> str:
    """Make one grant change as the operator; what changed, for a line of output."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        record = change(session, actor=operator().actor, now=runtime.clock(), **given)
        return _describe(record)


def grant(
    employee: EmployeeOpt, role: RoleOpt, scope: ScopeOpt = None, reason: ReasonOpt = ""
) -> None:
    """권한 부여 / Grant a console role to an employee in active service (audited)."""
    described = _change(grant_role, employee_number=employee, role=role, scope=scope, reason=reason)
    console.print(f"부여됨 / granted: {described}", highlight=False, soft_wrap=True)


def revoke(
    employee: EmployeeOpt, role: RoleOpt, scope: ScopeOpt = None, reason: ReasonOpt = ""
) -> None:
    """권한 회수 / Revoke a console role (audited).

    The issuer's console stops honouring it at once; gates and the login service within 30
    seconds (they cache grants)."""
    described = _change(
        revoke_grant, employee_number=employee, role=role, scope=scope, reason=reason
    )
    console.print(f"회수됨 / revoked: {described}", highlight=False, soft_wrap=True)


def _grant_json(g: GrantRecord) -> dict[str, object]:
    return {
        "id": g.id,
        "employee_number": g.employee_number,
        "name": g.name,
        "role": g.role,
        "scope": g.scope,
        "reason": g.reason,
        "granted_by": g.granted_by,
        "granted_at": g.granted_at.isoformat(),
        "revoked_by": g.revoked_by,
        "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
        "revoke_reason": g.revoke_reason,
    }


def grants(
    employee: Annotated[str | None, typer.Option("--employee", help="only this employee")] = None,
    include_revoked: Annotated[
        bool, typer.Option("--all", help="revoked grants too (the history)")
    ] = False,
    as_json: JsonOpt = False,
    plain: PlainOpt = False,
) -> None:
    """권한 목록 / Console grants: who holds which role, and since when."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        records = list_grants(session, employee, include_revoked=include_revoked)
    rows = [_grant_json(g) for g in records]
    if emit_for_script(rows, as_json=as_json, plain=plain, columns=_GRANT_COLUMNS):
        return
    if not records:
        console.print("권한 없음 / no grants")
        return
    # One record a line or two: names and reasons fit 80 columns whole, a table's would not.
    for g in records:
        state = (
            f"[red]회수 / revoked {g.revoked_at:%Y-%m-%d} by {escape(g.revoked_by or '-')}[/]"
            if g.revoked_at
            else f"부여 / granted {g.granted_at:%Y-%m-%d} by {escape(g.granted_by)}"
        )
        reason = g.revoke_reason if g.revoked_at else g.reason
        why = f"; {escape(reason)}" if reason else ""
        console.print(f"[bold]{_describe(g)}[/]\n  {state}{why}", highlight=False, soft_wrap=True)


def login_link(
    employee: EmployeeOpt,
    minutes: Annotated[
        int, typer.Option(min=1, max=1440, help="minutes until the link expires")
    ] = int(LOGIN_LINK_TTL.total_seconds() // 60),
) -> None:
    """로그인 링크 / Print a single-use console sign-in link for an employee.

    For the first administrators, before anyone holds a mobile ID. Hand it over in person:
    whoever opens it is signed in as that employee. Only its hash is stored."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        token, expires = create_login_link(
            session,
            employee,
            operator().actor,
            runtime.clock(),
            ttl=timedelta(minutes=minutes),
        )
        url = runtime.config.url(login_link_path(token))
    console.print(
        f"한 번만 쓸 수 있는 링크 / single-use link, 만료 / expires {expires:%Y-%m-%d %H:%M} UTC:",
        highlight=False,
    )
    print(url)


def grant_reader_token(
    label: Annotated[str, typer.Option(help="a note for operators, e.g. the gate")] = "",
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="days until it expires"),
    ] = None,
) -> None:
    """권한 조회 토큰 / Create a grant_reader token for gates and the login service.

    It reads console grants (GET /console/api/grants/N) and nothing else. Printed once, stored
    only as a hash; expires after MOBILEID_API_TOKEN_LIFETIME_DAYS days unless --days."""
    create_token(role=Role.grant_reader, label=label, days=days)


def register_admin_commands(admin_app: typer.Typer) -> None:
    """Mount the console administration commands on `mobileid admin`."""
    admin_app.command("grant")(grant)
    admin_app.command("revoke-grant")(revoke)
    admin_app.command("grants")(grants)
    admin_app.command("login-link")(login_link)
    admin_app.command("grant-reader-token")(grant_reader_token)
