"""Outgoing messages (SMS) through an outbox table and a pluggable sender.

A message is written in the same transaction as the action that causes it, so it exists iff the
action committed. Delivery is at-least-once: a message is marked sent only after its sender
returned; a failing sender leaves it pending with exponential back-off and it is retried forever
(operators see it in `mobileid outbox`). A delivered tx_code message has its body redacted.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.models import OutboxMessage

__all__ = [
    "LogFileSender",
    "MessageSender",
    "OutgoingMessage",
    "deliver_one",
    "enqueue_message",
    "list_messages",
]

log = logging.getLogger(__name__)
_MAX_BACKOFF_S = 900
REDACTED_BODY = "[전달 후 삭제됨 / redacted after delivery]"
REDACT_AFTER_DELIVERY = frozenset({"tx_code"})


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    id: int
    channel: str
    recipient: str
    kind: str
    body: str


class MessageSender(Protocol):
    """Delivers one message or raises; must be safe to call again for the same message."""

    def send(self, message: OutgoingMessage) -> None: ...


class LogFileSender:
    """The default sender: appends each SMS as a JSON line to a file and echoes it to a console."""

    def __init__(self, path: Path, console: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.console = console
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        line = json.dumps(
            {
                "id": message.id,
                "channel": message.channel,
                "to": message.recipient,
                "kind": message.kind,
                "body": message.body,
            },
            ensure_ascii=False,
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        if self.console is not None:
            self.console(f"[SMS → {message.recipient}] {message.body}")


def enqueue_message(
    session: Session,
    *,
    channel: str,
    recipient: str,
    kind: str,
    subject: str,
    body: str,
    now: datetime,
) -> OutboxMessage:
    msg = OutboxMessage(
        channel=channel,
        recipient=recipient,
        kind=kind,
        subject=subject,
        body=body,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(msg)
    return msg


def deliver_one(session: Session, sender: MessageSender, now: datetime) -> OutboxMessage | None:
    """Claim the oldest due message, send it and record the outcome; None when nothing is due.

    On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so several workers never send the
    same message at the same time.
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
    try:
        sender.send(OutgoingMessage(msg.id, msg.channel, msg.recipient, msg.kind, msg.body))
    except Exception as exc:
        log.warning(
            "outbox message %s not delivered (attempt %s)", msg.id, msg.attempts, exc_info=True
        )
        msg.last_error = f"{type(exc).__name__}: {exc}"[:200]
        msg.next_attempt_at = now + timedelta(seconds=min(2**msg.attempts, _MAX_BACKOFF_S))
        return msg
    msg.state = "sent"
    msg.sent_at = now
    msg.last_error = None
    if msg.kind in REDACT_AFTER_DELIVERY:
        msg.body = REDACTED_BODY
    return msg


def list_messages(
    session: Session, *, state: str | None = None, limit: int = 100
) -> Sequence[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state is not None:
        query = query.where(OutboxMessage.state == state)
    return session.scalars(query).all()
