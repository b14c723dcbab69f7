"""A background thread that drains the issuer's outbox while the server runs."""

from __future__ import annotations

import logging
import threading

from issuer.messages.outbox import deliver_one, outbox_sealer
from mobileid.runtime import IssuerRuntime

__all__ = ["OutboxWorker", "drain_outbox"]

log = logging.getLogger(__name__)
_MAX_PER_ROUND = 500


def drain_outbox(runtime: IssuerRuntime, limit: int = _MAX_PER_ROUND) -> tuple[int, int]:
    """Deliver due messages, one transaction each; returns (sent, failed)."""
    sent = failed = 0
    sealer = outbox_sealer(runtime.config.secret_key)
    keep = runtime.settings.env == "dev"  # for `mobileid outbox list` and `last`, sealed
    for _ in range(limit):
        with runtime.unit_of_work() as session:
            msg = deliver_one(
                session, runtime.sender, runtime.clock(), sealer=sealer, keep_sent_text=keep
            )
            if msg is None:
                break
            if msg.state == "sent":
                sent += 1
            else:
                failed += 1
    return sent, failed


class OutboxWorker:
    """Polls every `interval` seconds, or at once when `wake()` is called after a commit."""

    def __init__(self, runtime: IssuerRuntime, interval: float) -> None:
        self.runtime = runtime
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                drain_outbox(self.runtime)
            except Exception:
                log.exception("outbox round failed")
            self._wake.wait(self.interval)
            self._wake.clear()
