"""The supervisor behind `mobileid demo`: each part of the system is a child process running its
own production command (so production keeps one command per service), with its output in a
log file of its own; the supervisor waits until each answers its health URL, watches them, and
stops all of them together.

Children run in sessions of their own, so a terminal's Ctrl-C reaches the supervisor only and
the supervisor stops them in order; on Linux each child also dies with the supervisor should
it be killed outright (`PR_SET_PDEATHSIG`), so nothing is left holding the ports.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["Part", "PartFailed", "Supervisor", "port_in_use", "tail"]

STOP_GRACE_S = 8.0
"""How long the parts get to stop by themselves (uvicorn closes streams after 5 s)."""
_POLL_S = 0.2
_PR_SET_PDEATHSIG = 1


@dataclass
class Part:
    """One child: its name (shown to the person), command, URL, health URL and log file."""

    name: str
    argv: Sequence[str]
    url: str
    health_url: str
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class PartFailed(Exception):
    """A part exited, or did not answer in time; `part` names it, `reason` says what happened."""

    def __init__(self, part: Part, reason: str) -> None:
        super().__init__(f"{part.name}: {reason}")
        self.part = part
        self.reason = reason


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file ("" if there is none)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on `host:port` (or the port cannot be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def open_log(path: Path) -> int:
    """A part's log file, emptied, 0600 (it may name people and show development SMS)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


class Supervisor:
    """Starts parts, waits for them, watches them, stops them; `stop` is set from a signal."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.parts: list[Part] = []

    def start(self, part: Part) -> None:
        fd = open_log(part.log)
        try:
            part.process = subprocess.Popen(  # noqa: S603 - our own command, no shell
                list(part.argv),
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                env={**os.environ, **part.env, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads yet in the parent
            )
        finally:
            os.close(fd)
        self.parts.append(part)

    def check(self) -> None:
        """`PartFailed` for the first part that exited."""
        for part in self.parts:
            if part.process is not None and part.process.poll() is not None:
                raise PartFailed(part, f"exited with code {part.process.returncode}")

    def wait_ready(self, part: Part, *, timeout_s: float) -> bool:
        """Poll the part's health URL until it answers 200 (True) or `stop` is set (False);
        `PartFailed` if any part exits or this one does not answer within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while not self.stop.is_set():
                self.check()
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(part.health_url).status_code == 200:
                        return True
                if time.monotonic() > deadline:
                    raise PartFailed(
                        part, f"did not answer {part.health_url} within {timeout_s:.0f} s"
                    )
                self.stop.wait(_POLL_S)
        return False

    def watch(self) -> None:
        """Block until `stop` is set; `PartFailed` as soon as a part exits."""
        while not self.stop.wait(_POLL_S):
            self.check()

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM to every running part (the last started first), wait up to `grace_s`, then
        SIGKILL what is left; returns when every child is gone."""
        running = [p.process for p in reversed(self.parts) if p.running and p.process]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
