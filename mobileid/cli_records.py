"""Issuer record commands: `mobileid outbox ...` and `mobileid audit ...`."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer
from rich.table import Table

from issuer.api_tokens import operator
from issuer.audit import iter_audit, seal_legacy_chain, verify_audit_chain
from issuer.errors import AuditChainBroken, AuditKeyMismatch, AuditSealRefused
from issuer.messages.outbox import list_messages
from mobileid.cli_common import console, fail, issuer_runtime
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script
from mobileid.outbox_worker import drain_outbox

__all__ = ["audit_app", "outbox_app"]

outbox_app = typer.Typer(
    help="발송함 / Outbox: SMS waiting or delivered (links and codes never shown)."
)
audit_app = typer.Typer(help="감사 기록 / Audit log.", no_args_is_help=True)


@outbox_app.callback(invoke_without_command=True)
def outbox_default(ctx: typer.Context) -> None:
    """Without a sub-command: list messages."""
    if ctx.invoked_subcommand is None:
        outbox_list(state=None, limit=50)


@outbox_app.command("list")
def outbox_list(
    state: Annotated[str | None, typer.Option(help="pending, sent or refused")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """발송함 목록 / List outbox messages, newest first."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        table = Table(
            "id",
            "상태 / state",
            "종류 / kind",
            "수신 / to",
            "시도 / tries",
            "생성 / created",
            "내용 / body",
            "오류 / last error",
        )
        for m in list_messages(session, state=state, limit=limit):
            table.add_row(
                str(m.id),
                m.state,
                m.kind,
                m.recipient,
                str(m.attempts),
                f"{m.created_at:%Y-%m-%d %H:%M:%S}",
                m.body,
                m.last_error or "",
            )
    console.print(table)


@outbox_app.command("send")
def outbox_send() -> None:
    """지금 발송 / Deliver every due message now (the server also does this in the background)."""
    with issuer_runtime() as runtime:
        sent, failed = drain_outbox(runtime)
    console.print(f"발송 / sent {sent}, 실패 / failed {failed} (재시도 예정 / will retry)")
    if failed:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify() -> None:
    """감사 기록 검증 / Recompute the keyed hash chain; exit 1 if anything was changed or
    removed, or if it is keyed under another MOBILEID_SECRET_KEY."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        try:
            summary = verify_audit_chain(session)
        except AuditKeyMismatch as exc:
            fail(f"비밀키 불일치 / wrong secret: {exc.detail}")
        except AuditChainBroken as exc:
            fail(f"감사 기록 손상 / audit chain broken {exc.detail}")
    legacy = f" ({summary.legacy_entries} sealed unkeyed)" if summary.legacy_entries else ""
    console.print(
        f"정상 / intact: {summary.entries} entries{legacy}, head {summary.head_hash[:16]}…"
    )


@audit_app.command("seal-legacy")
def audit_seal_legacy(
    head: Annotated[
        str,
        typer.Option(
            "--head",
            help="The head hash (16+ hex characters) the earlier release's `audit verify` printed.",
        ),
    ],
) -> None:
    """이전 기록 봉인 / Once, after upgrading from a release before keyed audit: seal its unkeyed
    entries under the key, vouching for them as they stood when that release printed --head."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        try:
            who = operator()
            sealed = seal_legacy_chain(
                session,
                expected_head=head,
                actor=who.actor,
                role=who.role.value,
                now=runtime.clock(),
            )
        except (AuditChainBroken, AuditSealRefused) as exc:
            fail(f"봉인 거부 / not sealed: {exc.detail}")
    console.print(f"봉인 / sealed: entries 1-{sealed.entries}, head {sealed.head_hash[:16]}…")


_AUDIT_COLUMNS = ("seq", "at", "actor", "role", "action", "subject", "detail")


@audit_app.command("list")
def audit_list(
    after: Annotated[int, typer.Option(help="show entries after this sequence number")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    as_json: JsonOpt = False,
    plain: PlainOpt = False,
) -> None:
    """감사 기록 보기 / Show audit entries in order."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        rows = [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "role": e.role,
                "action": e.action,
                "subject": e.subject,
                "detail": e.detail,
            }
            for e in islice(iter_audit(session, after=after), limit)
        ]
    if emit_for_script(rows, as_json=as_json, plain=plain, columns=_AUDIT_COLUMNS):
        return
    # Two lines an entry, never cut: what and on whom, then who and the detail.
    console.print(
        "  seq  시각 / at (UTC)   행위 / action  대상 / subject\n"
        "       행위자 / actor (역할 / role): 세부 / detail",
        style="bold",
        highlight=False,
    )
    for row in rows:
        console.print(
            f"{row['seq']:>5}  {str(row['at'])[:16].replace('T', ' ')}  {row['action']}  "
            f"{row['subject']}\n       {row['actor']} ({row['role']}): {row['detail']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
