"""The gate terminal's service: decide on a scan, record it, and keep trust and status current.

`build_gate` wires the parts from a `GatePolicy`, an engine, an HTTP client (None: offline,
bundles only) and a clock. `GateService.scan` is the whole decision path: the pipeline (whose
replay store is a row in the gate's database), then the entry record's row and the decision
offered to the lane's live displays (`verifier.gate.lane`, never waiting); it never fetches.
`GateWorker` is the background side: the cache refresher (issuer keys and status lists,
`verifier.refresh`) in a thread of its own, and records uploaded, the bundle saved,
presentations past their window forgotten.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine

from verifier.gate.lane import LaneBroadcast, LaneEvent
from verifier.gate.recorder import EntryRecorder
from verifier.gate.replay_store import GateReplayStore
from verifier.gate.sqlite_writer import GateWriter
from verifier.gate.store import Bundle, count_pending, install_bundle, save_bundle, saved_bundle
from verifier.gate.sync import upload_records
from verifier.migrate import upgrade_verifier_database
from verifier.pipeline import Decision, Pipeline
from verifier.policy import GatePolicy
from verifier.refresh import Refresher
from verifier.status import StatusCache
from verifier.trust import TrustStore

__all__ = ["GateService", "GateWorker", "build_gate"]

log = logging.getLogger(__name__)


@dataclass
class GateService:
    policy: GatePolicy
    pipeline: Pipeline
    recorder: EntryRecorder
    replay: GateReplayStore
    engine: Engine
    trust: TrustStore
    status: StatusCache
    client: httpx.Client | None
    clock: Callable[[], float]
    refresher: Refresher
    writer: GateWriter
    lanes: LaneBroadcast = field(default_factory=LaneBroadcast)
    """The guard displays watching this gate's decisions live."""

    def scan(self, payload: bytes | str) -> Decision:
        """Decide, record, answer. The record is durable before this returns."""
        now = self.clock()
        decision = self.pipeline.decide(payload, now=now)
        self.decided(decision, now)
        if decision.detail and not decision.allow:
            log.info(
                "gate %s denied: %s (%s)", self.policy.gate_id, decision.reason, decision.detail
            )
        return decision

    def decided(self, decision: Decision, now: float) -> None:
        """What follows every decision (a scan's, the desk's): its entry record, durable, then
        the decision offered to the displays (`LaneBroadcast.publish` does not wait)."""
        self.recorder.record(self.entry(decision, now))
        if self.lanes.subscribers:
            self.lanes.publish(LaneEvent.of(self.policy.gate_id, decision, now))

    def entry(self, decision: Decision, now: float) -> dict[str, Any]:
        """The entry record of one scan: who only when allowed (the building needs no more)."""
        allowed = decision.allow
        return {
            "id": self.recorder.new_id(),
            "gate_id": self.policy.gate_id,
            "site": self.policy.site,
            "purpose": str(self.policy.verification.purpose),
            "at": now,
            "allow": allowed,
            "reason": str(decision.reason),
            "stale_status": decision.stale_status,
            "issuer": decision.issuer,
            "employee_number": decision.employee_number if allowed else None,
            "agency_code": decision.agency_code if allowed else None,
            "member_id": decision.member_id if allowed else None,
            "elapsed_ms": round(decision.elapsed_ms, 3),
        }

    def bundle(self) -> Bundle:
        return Bundle.of(self.trust, self.status, now=self.clock())

    def save_bundle(self) -> None:
        with self.engine.begin() as conn:
            save_bundle(conn, self.bundle())

    def health(self) -> dict[str, Any]:
        now = self.clock()
        entries = self.status.entries()
        newest = max((e.confirmed_at for e in entries), default=None)
        with self.engine.connect() as conn:
            pending = count_pending(conn)
        return {
            "gate_id": self.policy.gate_id,
            "site": self.policy.site,
            "site_name": self.policy.site_name,
            "purpose": str(self.policy.verification.purpose),
            "issuers_with_keys": sum(1 for i in self.trust.issuers if self.trust.keys_of(i)),
            "status_lists": len(entries),
            "status_age_s": None if newest is None else round(now - newest, 1),
            "max_status_age_s": self.policy.verification.max_status_age_s,
            "stale_policy": str(self.policy.verification.stale_status),
            "records_not_uploaded": pending,
        }

    def close(self) -> None:
        """Release what the service holds (it owns `client`)."""
        self.writer.close()
        if self.client is not None:
            self.client.close()


def build_gate(
    policy: GatePolicy,
    *,
    engine: Engine,
    client: httpx.Client | None,
    clock: Callable[[], float] = time.time,
) -> GateService:
    """Create tables, load the saved bundle, wire the pipeline."""
    upgrade_verifier_database(engine, "gate")
    writer = GateWriter.of(engine)
    replay = GateReplayStore(writer)
    trust = TrustStore(
        policy.trusted_issuers,
        client=client,
        clock=clock,
        allow_insecure_loopback=policy.allow_insecure_loopback,
    )
    status = StatusCache(trust, client=client, algorithms=policy.verification.algorithms)
    now = clock()
    with engine.connect() as conn:
        saved = saved_bundle(conn, now=now)
    installed = install_bundle(saved, trust, status, now=now)
    log.info("gate %s loaded bundle: %s", policy.gate_id, installed)
    recorder = EntryRecorder(writer)
    pipeline = Pipeline(
        policy.verification,
        audience=policy.audience,
        trust=trust,
        status=status,
        replay=replay,
    )
    refresher = Refresher(trust, status, clock=clock)
    return GateService(
        policy, pipeline, recorder, replay, engine, trust, status, client, clock, refresher, writer
    )


class GateWorker:
    """The background of `gate run`: the cache refresher in its own thread (a slow issuer holds
    up nothing else), and a thread that uploads records, saves the bundle and forgets spent
    presentations, each on its own period."""

    def __init__(
        self,
        service: GateService,
        *,
        upload_every_s: float = 10.0,
        save_every_s: float = 60.0,
        forget_every_s: float = 5.0,
    ) -> None:
        self.service = service
        self._tasks: list[tuple[float, Callable[[], object]]] = [
            (upload_every_s, self._upload),
            (save_every_s, service.save_bundle),
            (forget_every_s, lambda: service.replay.purge(now=service.clock())),
        ]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.service.refresher.start()
        self._thread = threading.Thread(target=self._run, name="gate-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.service.refresher.stop()

    def _upload(self) -> None:
        if self.service.client is not None and self.service.policy.central_url:
            upload_records(self.service)

    def _run(self) -> None:
        last = [float("-inf")] * len(self._tasks)
        while not self._stop.wait(min(every for every, _ in self._tasks)):
            for i, (every, task) in enumerate(self._tasks):
                if time.monotonic() - last[i] < every:
                    continue
                last[i] = time.monotonic()
                try:
                    task()
                except Exception:  # retried next period; the worker must outlive a bad one
                    log.exception("gate worker task failed")
