"""A gate's decisions, live: each one published to the displays watching the lane.

`LaneBroadcast.publish` is called on the decision path (`GateService.decided`) and never waits:
each subscriber (one guard display's event stream) has a bounded queue, and a display that does
not keep up loses its oldest undelivered decisions, never slows a scan. A display shows the
newest decision, so an old one dropped is no loss. Subscribers live on the app's event loop; a
decision made in another thread (a worker, a test) is handed over thread-safely.

A lane is a gate terminal: its `gate_id`, the scope a `gate_operator` grant names.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from verifier.pipeline import Decision
from verifier.reasons import Reason

__all__ = ["DISPLAY_CLAIMS", "LaneBroadcast", "LaneEvent", "Subscription"]

DISPLAY_CLAIMS = ("name", "department", "position", "employee_number", "photo")
"""What a guard display may show of a person, and only when the decision itself carries it
(the gate's purpose disclosed it): a gate purpose shows the employee number, an identity purpose
the name, department and, online, the photo."""

QUEUE_SIZE = 16
"""Decisions held for one display that has not read them yet; older ones are dropped."""


@dataclass(frozen=True, slots=True)
class LaneEvent:
    """One decision as a display shows it: never more than the decision carries."""

    lane: str
    at: float
    allow: bool
    reason: Reason
    stale_status: bool = False
    shown: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, lane: str, decision: Decision, at: float) -> LaneEvent:
        claims = decision.displayed_claims
        shown = {k: claims[k] for k in DISPLAY_CLAIMS if isinstance(claims.get(k), str)}
        return cls(lane, at, decision.allow, decision.reason, decision.stale_status, shown)


class Subscription:
    """One display's queue of decisions (read on the event loop it was made on)."""

    def __init__(self, lane: str | None, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.lane = lane
        self.dropped = 0
        self._loop = loop
        self._thread = threading.get_ident()
        self._queue: asyncio.Queue[LaneEvent] = asyncio.Queue(size)

    def offer(self, event: LaneEvent) -> None:
        """Hand `event` over from any thread, without waiting."""
        if self.lane is not None and event.lane != self.lane:
            return
        if threading.get_ident() == self._thread:
            self._put(event)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: LaneEvent) -> None:
        if self._queue.full():
            self._queue.get_nowait()  # the oldest goes: a display shows the newest
            self.dropped += 1
        self._queue.put_nowait(event)

    async def next(self, timeout: float) -> LaneEvent | None:
        """The next decision, or None after `timeout` seconds without one."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class LaneBroadcast:
    """The displays subscribed to one gate's decisions."""

    def __init__(self, *, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscribers: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: LaneEvent) -> None:
        """Offer `event` to every subscriber; returns at once whatever they do."""
        for subscriber in self._subscribers:  # a snapshot: (un)subscribing replaces the tuple
            subscriber.offer(event)

    @asynccontextmanager
    async def subscribe(self, lane: str | None = None) -> AsyncIterator[Subscription]:
        """A subscription for this block (all lanes, or only `lane`)."""
        subscription = Subscription(lane, asyncio.get_running_loop(), self._queue_size)
        with self._lock:
            self._subscribers = (*self._subscribers, subscription)
        try:
            yield subscription
        finally:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not subscription)
