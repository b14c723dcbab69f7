"""The one background task of a verifier's caches: issuer keys and status lists, fetched off the
decision path.

A gate, a login service and the central service each own one `TrustStore`, its `StatusCache`
and one `Refresher`, started and stopped with the service. Decisions never fetch; they ask for
what they missed (an unknown `kid`, an unknown or due list), which wakes the refresher at once.
Otherwise a round runs every `every_s`: metadata of the issuers asked for (or holding no keys),
then the lists asked for, those due, and those the policy names or the issuers publish
(Token Status List aggregation) that are not held yet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from verifier.status import StatusCache
from verifier.trust import TrustStore

__all__ = ["Refresher"]

log = logging.getLogger(__name__)
MIN_GAP_S = 0.1
"""At most ten rounds a second, however often decisions ask (say while an issuer is down)."""


class Refresher:
    """Keeps a trust store and its status cache current; `run_once` is one round."""

    def __init__(
        self,
        trust: TrustStore,
        status: StatusCache,
        *,
        clock: Callable[[], float],
        every_s: float = 1.0,
    ) -> None:
        self.trust = trust
        self.status = status
        self._clock = clock
        self._every = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One round; returns how many status lists it fetched or tried to. A round started
        while another is running over the same caches waits for it, then runs."""
        with self.trust.refresh_round:
            self.trust.refresh_wanted()
            listed = self.trust.published_status_lists()
            return self.status.refresh(now=self._clock(), listed=listed)

    def start(self) -> None:
        """Run rounds in a daemon thread, the first at once."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="verifier-refresher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.trust.needs_refresh.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.trust.needs_refresh.clear()
            try:
                self.run_once()
            except Exception:  # a bug in one round must not end refreshing for good
                log.exception("cache refresh round failed")
            if self._stop.wait(MIN_GAP_S):
                return
            self.trust.needs_refresh.wait(self._every)
