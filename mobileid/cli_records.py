"""Issuer record commands: `mobileid outbox ...` and `mobileid audit ...`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from itertools import islice
from typing import Annotated, Any

import typer
from rich.cells import cell_len

from issuer.api_tokens import operator
from issuer.audit import iter_audit, seal_legacy_chain, verify_audit_chain
from issuer.errors import AuditChainBroken, AuditKeyMismatch, AuditSealRefused
from issuer.hr.applications import OFFER_LINK_SMS, TX_CODE_SMS
from issuer.messages.outbox import list_messages, open_text, outbox_sealer, redacted_word
from issuer.models import OutboxMessage
from mobileid.cli_common import console, fail, issuer_runtime
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script
from mobileid.outbox_worker import drain_outbox
from schemas.hr_record import normalize_phone
from vc.sealing import SealingKey

__all__ = ["audit_app", "outbox_app"]

outbox_app = typer.Typer(
    help="발송함 / Outbox: SMS waiting or delivered (full texts in development only)."
)
audit_app = typer.Typer(help="감사 기록 / Audit log.", no_args_is_help=True)

_DEV_CAPTION = "개발용 / development only: full texts (production keeps none once delivered)"


class SmsField(StrEnum):
    """What `outbox last` prints of an approval's SMS."""

    link = "link"
    code = "code"


_KIND_OF = {SmsField.link: OFFER_LINK_SMS, SmsField.code: TX_CODE_SMS}


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _revealed(msg: OutboxMessage, sealer: SealingKey) -> dict[str, str | None]:
    """Development: the SMS as the phone got it, and the link or code a script wants of it."""
    text = open_text(msg, sealer)
    word = redacted_word(msg.body, text) if text is not None else None
    return {
        "text": text,
        "offer_uri": word if msg.kind == OFFER_LINK_SMS else None,
        "tx_code": word if msg.kind == TX_CODE_SMS else None,
    }


@outbox_app.callback(invoke_without_command=True)
def outbox_default(ctx: typer.Context) -> None:
    """Without a sub-command: list messages."""
    if ctx.invoked_subcommand is None:
        outbox_list(state=None, limit=50, as_json=False, plain=False)


_OUTBOX_COLUMNS = (
    "id", "state", "kind", "to", "attempts", "created_at", "sent_at", "body", "last_error",
    "text", "offer_uri", "tx_code",
)  # fmt: skip
_TEXT_INDENT = " " * 7


@outbox_app.command("list")
def outbox_list(
    state: Annotated[str | None, typer.Option(help="pending, sent or refused")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON array; in development each message also has text, offer_uri "
            "(the offer link) and tx_code (null when it has none).",
        ),
    ] = False,
    plain: PlainOpt = False,
) -> None:
    """발송함 목록 / List outbox messages, newest first; in development with each SMS in full.

    Two or more lines a message, never cut: id, phone, kind, state, when; then the text,
    wrapped at the terminal's width between words (a link stays whole)."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        dev = runtime.settings.env == "dev"
        sealer = outbox_sealer(runtime.config.secret_key)
        rows: list[dict[str, Any]] = [
            {
                "id": m.id,
                "state": m.state,
                "kind": m.kind,
                "to": m.recipient,
                "attempts": m.attempts,
                "created_at": _when(m.created_at),
                "sent_at": _when(m.sent_at),
                "body": m.body,
                "last_error": m.last_error,
            }
            | (_revealed(m, sealer) if dev else {})
            for m in list_messages(session, state=state, limit=limit)
        ]
    columns = _OUTBOX_COLUMNS if dev else _OUTBOX_COLUMNS[:-3]
    if emit_for_script(rows, as_json=as_json, plain=plain, columns=columns):
        return
    if not rows:
        console.print("발송함이 비어 있습니다 / The outbox is empty.")
        return
    console.print(
        "   id  수신 / to     종류 / kind  상태 / state (tries)  생성 / created (UTC)\n"
        f"{_TEXT_INDENT}내용 / text",
        style="bold",
        highlight=False,
    )
    for row in rows:
        _print_message(row)
    if dev:
        console.print(_DEV_CAPTION, style="italic", highlight=False)


def _wrap_words(text: str, width: int) -> list[str]:
    """Lines of at most `width` display cells, broken between words only: a longer word (a
    link) gets a line of its own, whole, so it can be copied (the terminal folds it)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            if line and cell_len(line) + 1 + cell_len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def _print_message(row: dict[str, Any]) -> None:
    """One message for a person: its identifiers whole on one line, then its text."""
    created = (row["created_at"] or "")[:19].replace("T", " ")
    head = f"{row['id']:>5}  {row['to']}  {row['kind']}  {row['state']} ({row['attempts']})"
    lines = [f"{head}  {created}"]
    width = max(20, console.width - len(_TEXT_INDENT))
    lines += [_TEXT_INDENT + line for line in _wrap_words(row.get("text") or row["body"], width)]
    if row["last_error"]:
        lines.append(f"{_TEXT_INDENT}오류 / last error: {row['last_error']}")
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


@outbox_app.command("last")
def outbox_last(
    field: Annotated[
        SmsField,
        typer.Option("--field", help="link: the offer link; code: the transaction code."),
    ],
    to: Annotated[
        str | None, typer.Option("--to", help="The phone (010-1234-5678); default: any phone.")
    ] = None,
) -> None:
    """마지막 발급 문자 / The latest offer SMS's link or code, alone.

    For scripts: OFFER=$(mobileid outbox last --field link); development only."""
    try:
        phone = None if to is None else normalize_phone(to)
    except ValueError as exc:
        fail(f"--to: {exc}", code=2)
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        if runtime.settings.env != "dev":
            fail(
                "운영 환경 / production keeps no SMS text: the link and the code went to the "
                "phone only (`outbox last` works with MOBILEID_ENV=dev)"
            )
        found = list_messages(session, kind=_KIND_OF[field], recipient=phone, limit=1)
        if not found:
            fail(f"발급 문자 없음 / no offer SMS in the outbox{f' to {phone}' if phone else ''}")
        value = _revealed(found[0], outbox_sealer(runtime.config.secret_key))
        which = f"message {found[0].id} ({found[0].state})"
    shown = value["offer_uri"] if field is SmsField.link else value["tx_code"]
    if shown is None:
        fail(
            f"{which} keeps no readable text: sent by a release that did not keep it, or sealed "
            "under another MOBILEID_SECRET_KEY"
        )
    typer.echo(shown)


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
