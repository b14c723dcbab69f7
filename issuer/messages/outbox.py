"""Outgoing messages (SMS) through an outbox table and a pluggable sender.

A message is written in the same transaction as the action that causes it, so it exists iff the
action committed. Delivery is at-least-once: a message is marked sent only after its sender
returned; a failing sender leaves it pending with exponential back-off and it is retried
(operators see it in `mobileid outbox`).

No issuance secret at rest: the text to send (an offer link, a tx_code) waits sealed
(`vc.sealing`: AES-GCM under a key derived from MOBILEID_SECRET_KEY, bound to the row's id,
recipient and kind) and only the sender sees it opened; `body` holds what operators may see, the
same text with the secret cut out, and the sealed text is dropped once delivered (in development
the assembly keeps it, still sealed, so the developer's `mobileid outbox` can show the SMS that
were never really sent; `forget_sent_texts` drops any at a production start). The seal also
means the outbox sends only what this issuer wrote: a row added, or turned to another phone, by
someone with database access alone does not open and is never sent. Nothing here logs or records
a message's text: a sender's failure is recorded by its type, or by the message of a
`DeliveryError`, which senders keep free of the text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer.errors import DeliveryError
from issuer.models import OutboxMessage
from vc.errors import KeyMaterialError
from vc.sealing import SealingKey

__all__ = [
    "REDACTED",
    "MessageSender",
    "OutgoingMessage",
    "deliver_one",
    "enqueue_message",
    "forget_sent_texts",
    "list_messages",
    "open_text",
    "outbox_sealer",
    "redacted_word",
]

log = logging.getLogger(__name__)
_MAX_BACKOFF_S = 900
REDACTED = "[전달 후 삭제됨 / redacted]"
"""Stands where a secret was in the text operators see."""
_NOT_SEALED = "no sealed text (not written by this issuer's outbox, or before 0006): not sent"
_DOES_NOT_OPEN = "sealed text does not open: another MOBILEID_SECRET_KEY, or the row was altered"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    id: int
    channel: str
    recipient: str
    kind: str
    body: str
    """The text to deliver, secrets included: for the sender's eyes only."""


class MessageSender(Protocol):
    """Delivers one message or raises; must be safe to call again for the same message."""

    def send(self, message: OutgoingMessage) -> None: ...


def outbox_sealer(secret: bytes) -> SealingKey:
    """The box key of waiting messages, derived from the deployment secret."""
    return SealingKey(secret, "outbox message")


def _bound_to(msg: OutboxMessage) -> str:
    return f"{msg.id}\x00{msg.recipient}\x00{msg.kind}"


def enqueue_message(
    session: Session,
    *,
    channel: str,
    recipient: str,
    kind: str,
    subject: str,
    text: str,
    shown: str,
    sealer: SealingKey,
    now: datetime,
) -> OutboxMessage:
    """Queue `text` for `recipient`, sealed; `shown` is the same message with secrets cut out."""
    msg = OutboxMessage(
        channel=channel,
        recipient=recipient,
        kind=kind,
        subject=subject,
        body=shown,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(msg)
    session.flush()  # the id the box is bound to; the text is never written in the clear
    msg.sealed_body = sealer.seal(text.encode("utf-8"), _bound_to(msg))
    return msg


def _failure(exc: Exception) -> str:
    """What is recorded of a failed attempt: never the exception's text unless it is ours."""
    if isinstance(exc, DeliveryError):
        return exc.detail[:200]
    if isinstance(exc, KeyMaterialError):
        return _DOES_NOT_OPEN
    return f"{type(exc).__name__} (the sender's message is not recorded)"[:200]


def deliver_one(
    session: Session,
    sender: MessageSender,
    now: datetime,
    *,
    sealer: SealingKey,
    keep_sent_text: bool = False,
) -> OutboxMessage | None:
    """Claim the oldest due message, send it and record the outcome; None when nothing is due.

    On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so several workers never send the
    same message at the same time. A message without a sealed text is refused for good. The
    sealed text goes once sent, unless `keep_sent_text` (development only: see the module).
    """
    msg = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if msg is None:
        return None
    msg.attempts += 1
    if msg.sealed_body is None:
        log.warning("outbox message %s refused: %s", msg.id, _NOT_SEALED)
        msg.state, msg.last_error = "refused", _NOT_SEALED
        return msg
    try:
        text = sealer.open(msg.sealed_body, _bound_to(msg)).decode("utf-8")
        sender.send(OutgoingMessage(msg.id, msg.channel, msg.recipient, msg.kind, text))
    except Exception as exc:  # noqa: BLE001 - any failure is retried; its text is not kept
        msg.last_error = _failure(exc)
        log.warning(
            "outbox message %s not delivered (attempt %s): %s", msg.id, msg.attempts, msg.last_error
        )
        msg.next_attempt_at = now + timedelta(seconds=min(2**msg.attempts, _MAX_BACKOFF_S))
        return msg
    msg.state = "sent"
    msg.sent_at = now
    msg.last_error = None
    if not keep_sent_text:
        msg.sealed_body = None
    return msg


def forget_sent_texts(session: Session) -> int:
    """Drop the sealed text of every sent message (kept in development); how many there were."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == "sent", OutboxMessage.sealed_body.is_not(None))
        .values(sealed_body=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def open_text(msg: OutboxMessage, sealer: SealingKey) -> str | None:
    """The full text of a message while its sealed text is kept; None without one, or when it
    does not open (another MOBILEID_SECRET_KEY, or the row was altered)."""
    if msg.sealed_body is None:
        return None
    try:
        return sealer.open(msg.sealed_body, _bound_to(msg)).decode("utf-8")
    except (KeyMaterialError, UnicodeDecodeError):
        return None


def redacted_word(shown: str, text: str) -> str | None:
    """The word of `text` (whitespace-delimited) that holds what `shown`, the same message as
    operators see it, has cut out as `REDACTED`: an offer link, a tx_code. None if none is."""
    at = shown.find(REDACTED)
    before, after = shown[:at], shown[at + len(REDACTED) :]
    end = len(text) - len(after)
    if at < 0 or end <= len(before) or not (text.startswith(before) and text.endswith(after)):
        return None
    word = text[before.rfind(" ") + 1 : end]
    return word if word and not any(c.isspace() for c in word) else None


def list_messages(
    session: Session,
    *,
    state: str | None = None,
    kind: str | None = None,
    recipient: str | None = None,
    limit: int = 100,
) -> Sequence[OutboxMessage]:
    """Messages newest first, of one state, kind or recipient when given."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    for column, value in (
        (OutboxMessage.state, state),
        (OutboxMessage.kind, kind),
        (OutboxMessage.recipient, recipient),
    ):
        if value is not None:
            query = query.where(column == value)
    return session.scalars(query).all()
