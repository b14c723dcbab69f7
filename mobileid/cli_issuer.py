"""Issuer commands: `mobileid hr ...`, `mobileid admin ...`, `mobileid issuer ...`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Column, Table
from sqlalchemy.orm import Session

from issuer.api_tokens import Role, create_api_token, list_api_tokens, operator, revoke_api_token
from issuer.errors import HrImportRejected
from issuer.hr_changes import HrAction, apply_hr_actions, plan_hr_actions
from issuer.hr_import import HrSource, import_records, parse_hr_file, validate_records
from issuer.key_rotation import retire_compromised_key, rotate_signing_key
from issuer.lifecycle import (
    REINSTATEMENT_REASONS,
    REVOCATION_REASONS,
    SUSPENSION_REASONS,
    StatusChange,
    list_credentials,
    live_credential,
    reinstate_credential,
    reissue_credential,
    revoke_credential,
    suspend_credential,
)
from issuer.mass_actions import MassScope, plan_mass_action, run_mass_action
from issuer.metadata import credential_issuer_metadata
from issuer.signing_keys import IssuerKeyring, SigningKey
from issuer.status_publication import status_list_summary
from mobileid.cli_common import console, fail, issuer_runtime
from schemas.hr_record import __doc__ as HR_COLUMNS_DOC

__all__ = ["admin_app", "hr_app", "issuer_app"]

SIGNING_ALGS = ("EdDSA", "ES256")

hr_app = typer.Typer(help="인사 자료 / HR data: import employees.", no_args_is_help=True)
admin_app = typer.Typer(help="관리 / Administration: HR API tokens.", no_args_is_help=True)
issuer_app = typer.Typer(
    help="발급기관 / Issuer: keys, metadata and the credential lifecycle.", no_args_is_help=True
)


def _print_problems(exc: HrImportRejected) -> None:
    table = Table(title=f"거부됨 / rejected: {len(exc.problems)} problem(s); nothing was written")
    table.add_column("행 / record", justify="right")
    table.add_column("항목 / field")
    table.add_column("문제 / problem")
    for p in exc.problems:
        table.add_row(str(p.row) if p.row else "-", p.field, p.message)
    console.print(table)


@hr_app.command(
    "import",
    help="인사 자료 가져오기 / Import an HR export (CSV or JSON).\n\n" + (HR_COLUMNS_DOC or ""),
)
def hr_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: Annotated[
        HrSource,
        typer.Option(
            help="central = e-사람 (central government), local = 인사랑 (local government)"
        ),
    ] = HrSource.central,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="show what would change (records and credentials), write nothing"
        ),
    ] = False,
) -> None:
    try:
        records = validate_records(parse_hr_file(file))
    except HrImportRejected as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    with (
        issuer_runtime() as runtime,
        Progress(
            TextColumn("[bold]가져오는 중 / importing"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task("import", total=len(records))
        with runtime.unit_of_work() as session:
            now = runtime.clock()
            result = import_records(
                session,
                records,
                source=source,
                now=now,
                progress=lambda n: progress.advance(task, n),
            )
            actions = plan_hr_actions(session, result.changes)
            if dry_run:
                session.rollback()
            else:
                actions = apply_hr_actions(
                    session,
                    actions,
                    actor="cli",
                    role="hr_admin",
                    config=runtime.config,
                    publisher=runtime.status,
                    keyring=runtime.keyring,
                    now=now,
                )
    _print_actions(actions, dry_run=dry_run)
    prefix = "예행 / dry run (nothing written): " if dry_run else ""
    console.print(
        f"{prefix}신규 created [bold]{result.created}[/], "
        f"변경 updated [bold]{result.updated}[/], "
        f"동일 unchanged [bold]{result.unchanged}[/] ({source.system})"
    )


def _print_actions(actions: Sequence[HrAction], *, dry_run: bool) -> None:
    """One line per credential action (a table would truncate ids on narrow terminals)."""
    if not actions:
        return
    title = "자격 조치 / credential actions" + (" (would be taken)" if dry_run else "")
    console.print(f"[bold]{title}: {len(actions)}[/]")
    for a in actions:
        note = a.note or (f"offer for application {a.application_id}" if a.application_id else "")
        console.print(
            f"  {a.employee_number}: {a.action} ({a.reason}); changed "
            f"{', '.join(a.changed_fields)}; credential {a.credential_id}"
            + (f"; {note}" if note else ""),
            highlight=False,
            soft_wrap=True,
        )


@admin_app.command("create-token")
def create_token(
    role: Annotated[Role, typer.Option(help="hr_admin, department_head, agency_officer, employee")],
    department: Annotated[
        str | None, typer.Option(help="department code (department_head)")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="agency code (agency_officer)")] = None,
    employee: Annotated[str | None, typer.Option(help="employee number (employee)")] = None,
    label: Annotated[str, typer.Option(help="a note for operators")] = "",
) -> None:
    """토큰 발급 / Create an HR API token; it is printed once and stored only as a hash."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        token, row = create_api_token(
            session,
            role=role,
            now=runtime.clock(),
            department_code=department,
            agency_code=agency,
            employee_number=employee,
            label=label,
        )
        token_id = row.id
    console.print(
        f"토큰 / token #{token_id} ({role.value}) — 다시 표시되지 않습니다 / shown only once:",
        highlight=False,
    )
    print(token)


@admin_app.command("list-tokens")
def list_tokens() -> None:
    """토큰 목록 / List HR API tokens (never the tokens themselves)."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        table = Table(
            "id", "역할 / role", "범위 / scope", "메모 / label", "생성 / created", "폐기 / revoked"
        )
        for t in list_api_tokens(session):
            scope = t.department_code or t.agency_code or t.employee_number or "-"
            table.add_row(
                str(t.id),
                t.role,
                scope,
                t.label,
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
            )
    console.print(table)


@admin_app.command("revoke-token")
def revoke_token(token_id: Annotated[int, typer.Argument(help="token id")]) -> None:
    """토큰 폐기 / Revoke an HR API token."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        revoke_api_token(session, token_id, runtime.clock())
    console.print(f"폐기됨 / revoked: token #{token_id}")


@issuer_app.command("info")
def info() -> None:
    """발급기관 정보 / Show the issuer identifier, signing keys and metadata URL."""
    with issuer_runtime() as runtime:
        console.print(f"발급기관 / issuer: {runtime.config.base_url}")
        console.print(f"유형 / vct: {runtime.config.vct}")
        ring = runtime.keyring
        for key in ring.keys:
            console.print(f"키 / key: kid={key.kid} alg={key.alg} ({_key_state(ring, key)})")
        console.print(
            f"메타데이터 / metadata: {runtime.config.base_url}/.well-known/openid-credential-issuer"
        )


def _key_state(ring: IssuerKeyring, key: SigningKey) -> str:
    def when(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")

    if key.retired_at is not None:
        return f"폐기 / retired {when(key.retired_at)}: {key.retired_reason or '-'}"
    if key is ring.active:
        return "서명 중 / signing"
    if key.activates_at is not None and key.activates_at > time.time():
        return f"공개, 서명 대기 / published, signs from {when(key.activates_at)}"
    if key.publish_until is not None:
        return f"공개 / published until {when(key.publish_until)}"
    return "공개 / published"


@issuer_app.command("metadata")
def metadata() -> None:
    """Print the Credential Issuer Metadata JSON."""
    with issuer_runtime() as runtime:
        doc = credential_issuer_metadata(runtime.config, runtime.keyring)
    print(json.dumps(doc, ensure_ascii=False, indent=2))


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
        f"[bold]{change.after}[/] ({change.reason}); status list "
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


@issuer_app.command("credentials")
def credentials(employee: Annotated[str, typer.Argument(help="employee number")]) -> None:
    """발급 내역 / An employee's credentials, newest first, with state and status slot."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        table = Table(
            Column("id", overflow="fold"),  # folded, never cut: it is copied into revoke etc.
            "상태 / state",
            "사유 / reason",
            "발급 / issued",
            "만료 / expires",
            "kid",
            "목록 / list",
            "index",
        )
        for r in list_credentials(session, operator(), employee):
            c = r.credential
            table.add_row(
                c.id,
                c.state,
                c.revocation_reason or c.suspension_reason or "",
                f"{c.issued_at:%Y-%m-%d %H:%M}",
                f"{c.expires_at:%Y-%m-%d}",
                c.kid[:12] + "…",
                str(c.status_list_id),
                str(c.status_idx),
            )
    console.print(table)


@issuer_app.command("revoke")
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


@issuer_app.command("suspend")
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


@issuer_app.command("reinstate")
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


@issuer_app.command("reissue")
def reissue(
    employee: Annotated[str, typer.Argument(help="employee number")],
    phone: Annotated[str, typer.Option(help="the new phone's number")],
    reason: Annotated[
        str,
        typer.Option(
            help="phone_lost (old credential revoked now) or "
            "phone_changed (revoked when the new one is issued)"
        ),
    ],
    comment: Comment = "",
) -> None:
    """재발급 / Reissue to a new phone: a pre-approved application; the offer SMS goes out."""
    with issuer_runtime() as runtime:
        with runtime.unit_of_work() as session:
            result = reissue_credential(
                session,
                operator(),
                employee,
                phone=phone,
                reason=reason,
                comment=comment,
                config=runtime.config,
                publisher=runtime.status,
                keyring=runtime.keyring,
                now=runtime.clock(),
            )
            app_id = result.application.application.id
        if result.revoked is not None:
            _print_change(result.revoked)
        console.print(
            f"재발급 신청 승인됨 / reissue application {app_id} approved; "
            "the offer SMS is queued (mobileid outbox)"
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


@issuer_app.command("mass-suspend")
def mass_suspend(
    *,
    agency: AgencyOpt = None,
    department: DepartmentOpt = None,
    reason: Reason = "emergency",
    dry_run: DryRun = False,
    batch_size: BatchSize = 500,
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


@issuer_app.command("mass-revoke")
def mass_revoke(
    *,
    agency: AgencyOpt = None,
    department: DepartmentOpt = None,
    reason: Reason = "other",
    dry_run: DryRun = False,
    batch_size: BatchSize = 500,
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


@issuer_app.command("rotate-key")
def rotate_key(
    alg: Annotated[str | None, typer.Option(help="EdDSA or ES256 (default: the setting)")] = None,
    compromised: Annotated[
        str | None,
        typer.Option(
            "--compromised",
            metavar="KID",
            help="retire this key now, revoke what it signed and send reissue offers",
        ),
    ] = None,
    activate_after: Annotated[
        int,
        typer.Option(
            min=0,
            max=30 * 86400,
            help="publish the new key now, sign with it after this many seconds (give "
            "verifiers that cache the JWKS time to fetch it); 0 = from the next issuance",
        ),
    ] = 0,
) -> None:
    """키 교체 / Rotate the issuer signing key (old keys stay published while their credentials
    are valid), or retire a compromised key."""
    if alg is not None and alg not in SIGNING_ALGS:
        fail(f"--alg must be one of {', '.join(SIGNING_ALGS)}", code=2)
    with issuer_runtime() as runtime:
        algorithm = alg or runtime.settings.signing_alg
        if compromised is None:
            with runtime.unit_of_work() as session:
                result = rotate_signing_key(
                    session,
                    runtime.settings.keys_dir,
                    alg=algorithm,
                    actor="cli",
                    now=runtime.clock(),
                    activate_after=timedelta(seconds=activate_after),
                    credential_lifetime=timedelta(seconds=runtime.config.credential_lifetime_s),
                )
            console.print(f"새 서명 키 / new signing key: {result.new.kid} ({result.new.alg})")
            if result.activates_at is not None:
                console.print(
                    "공개됨, 서명 시작 / published now, signs from "
                    f"{result.activates_at:%Y-%m-%d %H:%M:%S} UTC"
                )
            if result.previous is not None and result.previous_published_until is not None:
                console.print(
                    f"이전 키 / previous key {result.previous.kid} stays published "
                    f"until {result.previous_published_until:%Y-%m-%d}"
                )
            return
        with Progress(
            TextColumn("[bold]폐지 / revoking"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("revoke", total=None)
            outcome = retire_compromised_key(
                runtime.settings.keys_dir,
                compromised,
                principal=operator(),
                alg=algorithm,
                unit_of_work=runtime.unit_of_work,
                publisher=runtime.status,
                keyring=lambda: runtime.keyring,
                clock=runtime.clock,
                config=runtime.config,
                progress=lambda n: progress.advance(task, n),
            )
    if outcome.new is not None:
        console.print(f"새 서명 키 / new signing key: {outcome.new.kid}")
    console.print(
        f"키 폐기 / key {outcome.kid} retired; {outcome.revoked.changed} credential(s) "
        f"revoked, {outcome.revoked.offers} reissue offer(s) queued, "
        f"{outcome.lists_resigned} status list(s) re-signed"
    )


@issuer_app.command("status-lists")
def status_lists() -> None:
    """상태 목록 / Status lists: size, use, revoked and suspended counts, published token."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        runtime.status.rebuild(session, keyring=runtime.keyring, now=runtime.clock())
        table = Table(
            "id", "uri", "entries", "used", "revoked", "suspended", "version", "kid", "signed"
        )
        for row in status_list_summary(session):
            table.add_row(
                str(row.list_id),
                row.uri,
                str(row.size),
                str(row.used),
                str(row.revoked),
                str(row.suspended),
                str(row.version),
                (row.kid or "-")[:12],
                f"{row.signed_at:%Y-%m-%d %H:%M:%S}" if row.signed_at else "-",
            )
    console.print(table)
