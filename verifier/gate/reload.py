"""`gate sync` reaches a running gate: the command saves the bundle in the gate's database and
leaves a signal file in its data directory; the running gate watches that file, installs the
saved bundle at once (checked exactly as at start) and answers in another file, which the
command waits for to say that the running gate picked the bundle up.

Files, not a socket: the sync command already shares the gate's data directory (and nothing
else), so no port, token or listener is needed for it.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from vc.private_files import write_private_file
from verifier.gate.service import GateService
from verifier.gate.store import install_bundle, saved_bundle

__all__ = ["BundleWatch", "Pickup", "announce_bundle", "await_pickup", "running_gate"]

log = logging.getLogger(__name__)
SIGNAL = "bundle.changed"
ANSWER = "bundle.loaded"
RUNNING = "gate.running"


@dataclass(frozen=True, slots=True)
class Pickup:
    pid: int
    issuers: int
    status_lists: int
    rejected: int


def running_gate(data_dir: Path) -> int | None:
    """The process id of the gate running on `data_dir`, if one is."""
    try:
        pid = int((data_dir / RUNNING).read_text(encoding="ascii"))
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def announce_bundle(data_dir: Path) -> str:
    """Tell a running gate that a new bundle is saved; returns the signal's nonce."""
    nonce = secrets.token_hex(8)
    write_private_file(data_dir / SIGNAL, nonce.encode())
    return nonce


def await_pickup(data_dir: Path, nonce: str, *, timeout_s: float = 5.0) -> Pickup | None:
    """The running gate's answer to the signal `nonce`, or None if none came in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            answer = orjson.loads((data_dir / ANSWER).read_bytes())
            if answer.get("nonce") == nonce:
                return Pickup(
                    answer["pid"], answer["issuers"], answer["status_lists"], answer["rejected"]
                )
        except (OSError, orjson.JSONDecodeError, KeyError, AttributeError):
            pass
        time.sleep(0.05)
    return None


class BundleWatch:
    """The running gate's side: a thread reading the signal file (a few bytes) every `every_s`."""

    def __init__(self, service: GateService, data_dir: Path, *, every_s: float = 0.25) -> None:
        self.service, self.data_dir, self.every_s = service, data_dir, every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = self._signal()

    def _signal(self) -> str | None:
        try:
            return (self.data_dir / SIGNAL).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None

    def start(self) -> None:
        write_private_file(self.data_dir / RUNNING, str(os.getpid()).encode())
        self._thread = threading.Thread(target=self._run, name="gate-bundle-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        (self.data_dir / RUNNING).unlink(missing_ok=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            nonce = self._signal()
            if nonce is not None and nonce != self._seen:
                self._seen = nonce
                try:
                    self.reload(nonce)
                except Exception:
                    log.exception("installing the bundle `gate sync` saved failed")

    def reload(self, nonce: str) -> None:
        """Install the saved bundle now and answer the signal `nonce`."""
        now = self.service.clock()
        with self.service.engine.connect() as conn:
            bundle = saved_bundle(conn, now=now)
        result = install_bundle(bundle, self.service.trust, self.service.status, now=now)
        log.info("gate %s installed the bundle sync saved: %s", self.service.policy.gate_id, result)
        answer = {
            "nonce": nonce,
            "pid": os.getpid(),
            "issuers": result.issuers,
            "status_lists": result.status_lists,
            "rejected": result.rejected,
        }
        write_private_file(self.data_dir / ANSWER, orjson.dumps(answer))
