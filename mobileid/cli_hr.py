"""HR-side commands: `mobileid hr import` (e-사람 / 인사랑 files) and `mobileid admin ...` (the
HR systems' API tokens)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from issuer.api_tokens import Role, create_api_token, list_api_tokens, revoke_api_token
from issuer.errors import HrImportRejected
from issuer.hr.changes import HrAction, apply_hr_actions, plan_hr_actions
from issuer.hr.importing import HrSource
from issuer.hr.stream import import_hr_file
from issuer.hr.synthetic import SyntheticSource, write_synthetic_hr_file
from issuer.models import ApiToken
from mobileid.cli_common import console, issuer_runtime
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script
from schemas.hr_record import __doc__ as HR_COLUMNS_DOC

__all__ = ["admin_app", "hr_app"]

hr_app = typer.Typer(
    help="인사 자료 / HR data: import employees, generate synthetic test files.",
    no_args_is_help=True,
)
admin_app = typer.Typer(
    help="관리 / Administration: API tokens, console roles, sign-in links.", no_args_is_help=True
)
tokens_app = typer.Typer(help="토큰 / HR API tokens: list, revoke.", no_args_is_help=True)
admin_app.add_typer(tokens_app, name="tokens")


def _print_problems(exc: HrImportRejected, *, as_json: bool) -> None:
    if as_json:
        problems = [{"row": p.row, "field": p.field, "problem": p.message} for p in exc.problems]
        print(json.dumps({"error": exc.code, "problems": problems}, ensure_ascii=False))
        return
    table = Table(title=f"거부됨 / rejected: {len(exc.problems)} problem(s); nothing was written")
    table.add_column("행 / record", justify="right")
    table.add_column("항목 / field")
    table.add_column("문제 / problem")
    for p in exc.problems:
        table.add_row(str(p.row) if p.row else "-", p.field, p.message)
    console.print(table)


@hr_app.command(
    "import",
    help="인사 자료 가져오기 / Import an HR export (CSV or JSON), whole or not at all.\n\n"
    + (HR_COLUMNS_DOC or ""),
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
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object, no progress bar (for scripts)")
    ] = False,
) -> None:
    with issuer_runtime(create=True) as runtime, _progress(file, quiet=as_json) as advance:
        try:
            with runtime.unit_of_work() as session:
                now = runtime.clock()
                result = import_hr_file(session, file, source=source, now=now, progress=advance)
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
        except HrImportRejected as exc:
            _print_problems(exc, as_json=as_json)
            raise typer.Exit(1) from None
    if as_json:
        summary = {
            "dry_run": dry_run,
            "source": source.system,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "actions": [asdict(a) for a in actions],
        }
        print(json.dumps(summary, ensure_ascii=False))
        return
    _print_actions(actions, dry_run=dry_run)
    prefix = "예행 / dry run (nothing written)\n" if dry_run else ""
    console.print(
        f"{prefix}신규 created [bold]{result.created}[/], "
        f"변경 updated [bold]{result.updated}[/], "
        f"동일 unchanged [bold]{result.unchanged}[/] ({source.system})"
    )


@contextmanager
def _progress(file: Path, *, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A bar of rows read on a terminal (the total estimated from the file's lines); none for
    scripts or when output is not a terminal."""
    if quiet or not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("[bold]가져오는 중 / importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("import", total=_estimated_rows(file))
        yield lambda n: progress.advance(task, n)


def _estimated_rows(file: Path) -> int | None:
    """Lines of a CSV file but its header and comments (a quoted line break counts twice)."""
    if file.suffix.lower() == ".json":
        return None
    lines = comments = 0
    with file.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            if not lines:
                comments = sum(1 for line in chunk.splitlines()[:10] if line.startswith(b"#"))
            lines += chunk.count(b"\n")
    return max(0, lines - comments - 1)


@hr_app.command("generate")
def hr_generate(
    count: Annotated[int, typer.Option("--count", min=1, help="how many employees")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="the CSV file to write")],
    seed: Annotated[int, typer.Option(help="the same seed writes the same file")] = 2026,
    source: Annotated[
        SyntheticSource, typer.Option(help="central agencies, local governments, or all")
    ] = SyntheticSource.all,
) -> None:
    """합성 인사 자료 / Write a SYNTHETIC HR export for load and scale tests (never production
    data): agencies, departments, positions, grades, unassigned phone numbers, small photos;
    streamed, created 0600, the same for the same seed. Import it with `mobileid hr import`."""
    with Progress(
        TextColumn("[bold]합성 / generating"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("generate", total=count)
        write_synthetic_hr_file(
            out, count, seed=seed, source=source, progress=lambda n: progress.advance(task, n)
        )
    console.print(f"합성 자료 / synthetic HR file: {out} ({count} employees, seed {seed})")


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
def create_token(  # noqa: PLR0917 - Typer maps parameters to options
    role: Annotated[
        Role,
        typer.Option(
            metavar="ROLE",
            help="hr_admin, department_head, agency_officer, employee or grant_reader",
        ),
    ],
    department: Annotated[
        str | None, typer.Option(help="department code (department_head)")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="agency code (agency_officer)")] = None,
    employee: Annotated[str | None, typer.Option(help="employee number (employee)")] = None,
    label: Annotated[str, typer.Option(help="a note for operators")] = "",
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="days until it expires (default: below)"),
    ] = None,
) -> None:
    """토큰 발급 / Create an HR API token; it is printed once and stored only as a hash.

    Without --days it expires after MOBILEID_API_TOKEN_LIFETIME_DAYS days."""
    with issuer_runtime(create=True) as runtime, runtime.unit_of_work() as session:
        token, row = create_api_token(
            session,
            role=role,
            now=runtime.clock(),
            lifetime=timedelta(days=days or runtime.settings.api_token_lifetime_days),
            department_code=department,
            agency_code=agency,
            employee_number=employee,
            label=label,
        )
        token_id, expires = row.id, row.expires_at
    console.print(
        f"토큰 / token #{token_id} ({role.value}), 만료 / expires {expires:%Y-%m-%d %H:%M} UTC — "
        "다시 표시되지 않습니다 / shown only once:",
        highlight=False,
    )
    print(token)


def _token_json(t: ApiToken, now: datetime) -> dict[str, object]:
    state = "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "active"
    return {
        "id": t.id,
        "role": t.role,
        "scope": t.department_code or t.agency_code or t.employee_number,
        "label": t.label,
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat(),
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        "state": state,
    }


_TOKEN_COLUMNS = (
    "id",
    "role",
    "scope",
    "label",
    "created_at",
    "expires_at",
    "revoked_at",
    "state",
)


@tokens_app.command("list")
def list_tokens(as_json: JsonOpt = False, plain: PlainOpt = False) -> None:
    """토큰 목록 / HR API tokens: role, scope, label, dates (never a token or its hash)."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        now = runtime.clock()
        tokens = [_token_json(t, now) for t in list_api_tokens(session)]
    if emit_for_script(tokens, as_json=as_json, plain=plain, columns=_TOKEN_COLUMNS):
        return
    table = Table(
        title="토큰 / tokens (UTC; 빨강 = 만료·폐기 / red = expired or revoked)",
        box=None,
        padding=(0, 1, 0, 0),
    )
    table.add_column("id", justify="right")
    table.add_column("role", no_wrap=True, min_width=15)
    table.add_column("scope", overflow="fold")
    table.add_column("label", overflow="fold")
    for name in ("created", "expires", "revoked"):
        table.add_column(name, no_wrap=True, min_width=10)
    for t in tokens:
        expires = str(t["expires_at"])[:10]
        table.add_row(
            str(t["id"]),
            str(t["role"]),
            escape(str(t["scope"] or "-")),
            escape(str(t["label"])),
            str(t["created_at"])[:10],
            f"[red]{expires}[/]" if t["state"] == "expired" else expires,
            f"[red]{str(t['revoked_at'])[:10]}[/]" if t["revoked_at"] else "-",
        )
    console.print(table, width=min(console.width, 80))


@tokens_app.command("revoke")
def revoke_token(token_id: Annotated[int, typer.Argument(help="token id (tokens list)")]) -> None:
    """토큰 폐기 / Revoke an HR API token at once (audited)."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        revoke_api_token(session, token_id, runtime.clock())
    console.print(f"폐기됨 / revoked: token #{token_id}")
