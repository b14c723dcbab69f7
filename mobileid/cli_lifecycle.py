"""Credential lifecycle commands on `mobileid issuer`: list an employee's credentials; revoke,
suspend, reinstate and reissue one; suspend or revoke an agency's or department's in bulk.

Registered on the issuer's command group by `register_lifecycle_commands`, so they keep their
place in `mobileid issuer --help`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from issuer.api_tokens import operator
from issuer.lifecycle.credentials import (
    list_credentials,
    live_credential,
    reinstate_credential,
    reissue_credential,
    revoke_credential,
    suspend_credential,
)
from issuer.lifecycle.mass_actions import MassScope, plan_mass_action, run_mass_action
from issuer.lifecycle.state_changes import (
    REINSTATEMENT_REASONS,
    REVOCATION_REASONS,
    SUSPENSION_REASONS,
    StatusChange,
)
from mobileid.cli_common import console, fail, issuer_runtime
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script
from schemas.lifecycle_api import MASS_ACTION_BATCH_SIZE

__all__ = ["register_lifecycle_commands"]

# -- credential lifecycle -------------------------------------------------------------------

Reason = Annotated[str, typer.Option("--reason", help="a reason code (see README, Lifecycle)")]
Comment = Annotated[str, typer.Option(help="a note kept in the audit log")]
EmployeeOpt = Annotated[
    str | None,
    typer.Option(
        "--employee", help="act on this employee's live credential instead of a credential id"
    ),
]
CredentialArg = Annotated[str | None, typer.Argument(help="credential id (see `credentials`)")]


def _target(session: Session, credential_id: str | None, employee: str | None) -> str:
    if bool(credential_id) == bool(employee):
        fail("give a credential id or --employee (one of them)", code=2)
    if credential_id:
        return credential_id
    assert employee is not None
    return live_credential(session, operator(), employee).id


def _print_change(change: StatusChange) -> None:
    console.print(
        f"{change.credential_id} ({change.employee_number}): {change.before} → "
        f"[bold]{change.after}[/] ({change.reason})\n  status list "
        f"{change.status_list_id} index {change.status_idx} republished"
    )


def _status_change(
    verb: Callable[..., StatusChange],
    credential_id: str | None,
    employee: str | None,
    reason: str,
    comment: str,
    *,
    reasons: Sequence[str],
) -> None:
    if reason not in reasons:  # before looking anything up: the same answer with an id or not
        fail(f"invalid_reason: reason must be one of: {', '.join(reasons)}")
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        target = _target(session, credential_id, employee)
        change = verb(
            session,
            operator(),
            target,
            reason=reason,
            comment=comment,
            publisher=runtime.status,
            keyring=runtime.keyring,
            now=runtime.clock(),
        )
    _print_change(change)


_CREDENTIAL_COLUMNS = (
    "id",
    "state",
    "reason",
    "issued_at",
    "expires_at",
    "kid",
    "status_list_id",
    "status_idx",
)


def credentials(
    employee: Annotated[str, typer.Argument(help="employee number")],
    as_json: JsonOpt = False,
    plain: PlainOpt = False,
) -> None:
    """발급 내역 / An employee's credentials, newest first: id, state, dates (the key and the
    status slot with --json or --plain)."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        rows = [
            {
                "id": c.id,
                "state": c.state,
                "reason": c.revocation_reason or c.suspension_reason,
                "issued_at": c.issued_at.isoformat(),
                "expires_at": c.expires_at.isoformat(),
                "kid": c.kid,
                "status_list_id": c.status_list_id,
                "status_idx": c.status_idx,
            }
            for c in (r.credential for r in list_credentials(session, operator(), employee))
        ]
    if emit_for_script(rows, as_json=as_json, plain=plain, columns=_CREDENTIAL_COLUMNS):
        return
    # The id is copied into revoke etc.: its column is never cut nor folded; 80 columns hold it.
    table = Table(box=None, padding=(0, 2, 0, 0))
    table.add_column("id", no_wrap=True, min_width=32)
    table.add_column("상태 / state", overflow="fold")
    table.add_column("발급 / issued", no_wrap=True)
    table.add_column("만료 / expires", no_wrap=True)
    for row in rows:
        state = f"{row['state']}: {row['reason']}" if row["reason"] else row["state"]
        table.add_row(
            str(row["id"]), str(state), str(row["issued_at"])[:10], str(row["expires_at"])[:10]
        )
    console.print(table)


def revoke(
    credential_id: CredentialArg = None,
    employee: EmployeeOpt = None,
    reason: Reason = "other",
    comment: Comment = "",
) -> None:
    """폐지 / Revoke a credential (irreversible). Reasons: phone_lost, phone_changed,
    app_deleted, pin_lockout, info_changed, retired, dismissed, other."""
    _status_change(
        revoke_credential, credential_id, employee, reason, comment, reasons=REVOCATION_REASONS
    )


def suspend(
    credential_id: CredentialArg = None,
    employee: EmployeeOpt = None,
    reason: Reason = "investigation",
    comment: Comment = "",
) -> None:
    """정지 / Suspend a credential. Reasons: leave_of_absence, investigation, emergency."""
    _status_change(
        suspend_credential, credential_id, employee, reason, comment, reasons=SUSPENSION_REASONS
    )


def reinstate(
    credential_id: CredentialArg = None,
    employee: EmployeeOpt = None,
    reason: Reason = "other",
    comment: Comment = "",
) -> None:
    """정지 해제 / Reinstate a suspended credential. Reasons: leave_ended,
    investigation_closed, emergency_over, other."""
    _status_change(
        reinstate_credential,
        credential_id,
        employee,
        reason,
        comment,
        reasons=REINSTATEMENT_REASONS,
    )


def reissue(
    employee: Annotated[str, typer.Argument(help="employee number")],
    reason: Annotated[
        str,
        typer.Option(
            help="phone_lost (old credential revoked now) or "
            "phone_changed (revoked when the new one is issued)"
        ),
    ],
    phone: Annotated[
        str | None,
        typer.Option(
            help="a phone on record (default: the live credential's, else the HR record's); "
            "a new phone is the employee's own application"
        ),
    ] = None,
    comment: Comment = "",
) -> None:
    """재발급 신청 / File a reissue application on the employee's behalf, to a phone on record;
    the department head approves it, and the offer SMS goes out then. A new phone: the employee
    applies (POST /hr/applications)."""
    with issuer_runtime() as runtime:
        with runtime.unit_of_work() as session:
            result = reissue_credential(
                session,
                operator(),
                employee,
                phone=phone,
                reason=reason,
                comment=comment,
                publisher=runtime.status,
                keyring=runtime.keyring,
                now=runtime.clock(),
            )
            app_id = result.application.application.id
        if result.revoked is not None:
            _print_change(result.revoked)
        console.print(
            f"재발급 신청 접수 / reissue application {app_id} filed, pending the department "
            "head's approval (POST /hr/applications/<id>/approve)"
        )


def _mass(
    action: str,
    *,
    agency: str | None,
    department: str | None,
    reason: str,
    dry_run: bool,
    batch_size: int,
    comment: str,
) -> None:
    with issuer_runtime() as runtime:
        with runtime.unit_of_work() as session:
            scope = MassScope.parse(agency_code=agency, department_code=department)
            plan = plan_mass_action(session, operator(), scope, action=action, reason=reason)
        verb = "정지 / suspend" if action == "suspend" else "폐지 / revoke"
        console.print(f"{verb}: {plan.matched} credential(s) of {scope.label} ({reason})")
        if dry_run or not plan.matched:
            console.print("예행 / dry run: nothing changed" if dry_run else "nothing to do")
            return
        with Progress(
            TextColumn(f"[bold]{verb}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task(action, total=plan.matched)
            result = run_mass_action(
                plan,
                unit_of_work=runtime.unit_of_work,
                publisher=runtime.status,
                keyring=lambda: runtime.keyring,
                clock=runtime.clock,
                batch_size=batch_size,
                comment=comment,
                progress=lambda n: progress.advance(task, n),
            )
    console.print(
        f"완료 / done: {result.changed} changed in {result.batches} batch(es), job {result.job}"
    )


AgencyOpt = Annotated[str | None, typer.Option("--agency", help="agency code (7 digits)")]
DepartmentOpt = Annotated[str | None, typer.Option("--department", help="department code")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="count only, change nothing")]
BatchSize = Annotated[int, typer.Option(min=1, max=10_000, help="credentials per transaction")]


def mass_suspend(
    *,
    agency: AgencyOpt = None,
    department: DepartmentOpt = None,
    reason: Reason = "emergency",
    dry_run: DryRun = False,
    batch_size: BatchSize = MASS_ACTION_BATCH_SIZE,
    comment: Comment = "",
) -> None:
    """일괄 정지 / Suspend every active credential of an agency or department (resumable)."""
    _mass(
        "suspend",
        agency=agency,
        department=department,
        reason=reason,
        dry_run=dry_run,
        batch_size=batch_size,
        comment=comment,
    )


def mass_revoke(
    *,
    agency: AgencyOpt = None,
    department: DepartmentOpt = None,
    reason: Reason = "other",
    dry_run: DryRun = False,
    batch_size: BatchSize = MASS_ACTION_BATCH_SIZE,
    comment: Comment = "",
) -> None:
    """일괄 폐지 / Revoke every live credential of an agency or department (resumable)."""
    _mass(
        "revoke",
        agency=agency,
        department=department,
        reason=reason,
        dry_run=dry_run,
        batch_size=batch_size,
        comment=comment,
    )


def register_lifecycle_commands(app: typer.Typer) -> None:
    """Add this module's commands to `app` (the `mobileid issuer` group), in this order."""
    app.command("credentials")(credentials)
    app.command("revoke")(revoke)
    app.command("suspend")(suspend)
    app.command("reinstate")(reinstate)
    app.command("reissue")(reissue)
    app.command("mass-suspend")(mass_suspend)
    app.command("mass-revoke")(mass_revoke)
