"""The status-list change feed: every publication of a Token Status List, announced to verifiers
as Server-Sent Events (`vc.status_feed`) so online gates need not wait for a token's `ttl`.

The feed is derived from the lists' own rows: each publication takes the next number of one
counter row (`StatusFeedHead`) and stores it as the list's `feed_seq`. The counter's row lock is
held until the publishing transaction commits, so numbers follow commit order in every issuer
process on the database, and a subscriber resuming after `Last-Event-ID` N misses nothing: it
gets each list published since N once, with its current token (an older publication of the same
list is superseded, not lost). More than `replay_max` such lists, or a position this database
never issued, is answered with `resync` instead.

Each process polls the counter (one indexed read every `poll_s`); when it moves, the poller reads
what was published and wakes the subscribers, who pass it on (one that was elsewhere reads its
own replay from the database). Heartbeats every `heartbeat_s`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer.errors import IssuerCode, ProtocolError
from issuer.models import StatusFeedHead, StatusListRecord
from vc.status_feed import (
    EVENT_RESYNC,
    EVENT_STATUS_LIST,
    MAX_EVENT_ID_CHARS,
    StatusListChanged,
    encode_comment,
    encode_event,
)

__all__ = [
    "FeedReplay",
    "LastPublication",
    "StatusFeed",
    "feed_head",
    "last_publication",
    "next_feed_seq",
    "parse_last_event_id",
    "replay_after",
]

log = logging.getLogger(__name__)


def next_feed_seq(session: Session) -> int:
    """The feed number of a publication in this transaction (locks the counter to commit)."""
    seq: int | None = session.scalar(
        update(StatusFeedHead)
        .where(StatusFeedHead.id == 1)
        .values(seq=StatusFeedHead.seq + 1)
        .returning(StatusFeedHead.seq)
    )
    if seq is None:  # pragma: no cover - migration 0007 inserts the row
        raise RuntimeError("issuer_status_feed_head has no row; run the migrations")
    return seq


def feed_head(session: Session) -> int:
    """The last feed number handed out and committed."""
    head: int | None = session.scalar(select(StatusFeedHead.seq).where(StatusFeedHead.id == 1))
    return head or 0


@dataclass(frozen=True, slots=True)
class LastPublication:
    """The feed's newest event: its number, the list it announced and when that was signed."""

    seq: int
    uri: str
    signed_at: datetime | None


def last_publication(session: Session) -> LastPublication | None:
    """The list published last (the feed's head), or None before the first publication."""
    row = session.execute(
        select(StatusListRecord.feed_seq, StatusListRecord.uri, StatusListRecord.token_iat)
        .where(StatusListRecord.feed_seq.is_not(None))
        .order_by(StatusListRecord.feed_seq.desc())
        .limit(1)
    ).first()
    return LastPublication(row[0] or 0, row[1], row[2]) if row is not None else None


@dataclass(frozen=True, slots=True)
class FeedReplay:
    """What a subscriber at some position is owed: events in order, or a resync (None)."""

    events: list[tuple[int, StatusListChanged]] | None
    head: int


def replay_after(session: Session, position: int, *, limit: int) -> FeedReplay:
    """Each list published after `position`, in feed order, at most `limit` of them."""
    head = feed_head(session)
    if position > head:
        return FeedReplay(None, head)
    rows = session.execute(
        select(
            StatusListRecord.feed_seq,
            StatusListRecord.uri,
            StatusListRecord.etag,
            StatusListRecord.token_iat,
        )
        .where(StatusListRecord.feed_seq > position, StatusListRecord.feed_seq <= head)
        .order_by(StatusListRecord.feed_seq)
        .limit(limit + 1)
    ).all()
    if len(rows) > limit:
        return FeedReplay(None, head)
    events = [
        (seq or 0, StatusListChanged(uri, etag or "", int(iat.timestamp()) if iat else 0))
        for seq, uri, etag, iat in rows
    ]
    return FeedReplay(events, head)


def parse_last_event_id(raw: str | None) -> int | None:
    """A `Last-Event-ID` header as a feed position; None when absent or empty."""
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_EVENT_ID_CHARS:
        raise ProtocolError(
            IssuerCode.invalid_last_event_id, "Last-Event-ID must be a feed position (digits)"
        )
    return int(raw)


def _resync(head: int, reason: str) -> bytes:
    return encode_event(EVENT_RESYNC, orjson.dumps({"reason": reason}).decode(), str(head))


class StatusFeed:
    """One per issuer process: polls the counter while anyone listens and streams the feed."""

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractContextManager[Session]],
        *,
        poll_s: float = 0.2,
        heartbeat_s: float = 15.0,
        replay_max: int = 1000,
    ) -> None:
        self._unit_of_work = unit_of_work
        self.poll_s, self.heartbeat_s, self.replay_max = poll_s, heartbeat_s, replay_max
        self._moved: asyncio.Event | None = None
        """Set when the counter moves, then replaced: a stream takes it before reading its
        replay, so a move during the read is never slept through."""
        self._poller: asyncio.Task[None] | None = None
        self._closing = False
        self._listeners = 0
        self._latest: tuple[int, FeedReplay] | None = None
        """The poller's last read (from what position, what it found): every stream that was at
        that position takes it instead of asking the database again (20 gates on one issuer
        process: one query per publication, not 20, in `bench.propagation`)."""

    @property
    def subscribers(self) -> int:
        """Streams open in this process now (verifiers following the feed)."""
        return self._listeners

    def _replay(self, position: int) -> FeedReplay:
        with self._unit_of_work() as session:
            return replay_after(session, position, limit=self.replay_max)

    def _head(self) -> int:
        with self._unit_of_work() as session:
            return feed_head(session)

    def _announce(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        if moved is not None:
            moved.set()

    async def close(self) -> None:
        """Stop polling and wait for a read in progress, before the service closes its database
        (a read cancelled mid-query would leave its connection to the garbage collector)."""
        self._closing = True
        if self._poller is not None:
            await self._poller

    async def _poll(self) -> None:
        last = await asyncio.to_thread(self._head)
        while self._listeners and not self._closing:
            await asyncio.sleep(self.poll_s)
            if self._closing:
                return
            try:
                head = await asyncio.to_thread(self._head)
                if head == last:
                    continue
                replay = await asyncio.to_thread(self._replay, last)
            except Exception:  # the database may come back; streams keep their heartbeats
                log.exception("status feed poll failed")
                continue
            self._latest = (last, replay)
            last = replay.head
            self._announce()

    async def stream(self, position: int | None) -> AsyncIterator[bytes]:
        """The feed after `position` (None: from now on, beginning with a `resync`)."""
        if self._moved is None:
            self._moved = asyncio.Event()
        self._listeners += 1
        if not self._closing and (self._poller is None or self._poller.done()):
            self._poller = asyncio.create_task(self._poll())
        try:
            if position is None:
                position = await asyncio.to_thread(self._head)
                yield _resync(position, "start")
            while True:
                moved, latest = self._moved, self._latest
                if latest is not None and latest[0] == position:
                    replay = latest[1]
                else:
                    replay = await asyncio.to_thread(self._replay, position)
                if replay.events is None:
                    yield _resync(replay.head, "replay_unavailable")
                for seq, changed in replay.events or ():
                    yield encode_event(EVENT_STATUS_LIST, changed.to_data(), str(seq))
                position = replay.head
                try:
                    await asyncio.wait_for(moved.wait(), self.heartbeat_s)
                except TimeoutError:
                    yield encode_comment("heartbeat")
        finally:
            self._listeners -= 1
