"""What the HTTP benchmarks share: a worker process on 127.0.0.1, and a lean keep-alive client.

The client is written here rather than taken from httpx: a load generator shares the machine's
two cores with the worker it measures, and httpx spends several times more CPU per request than
the few lines below (which know that every answer carries a Content-Length).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

__all__ = [
    "Connection",
    "cpu_seconds",
    "free_port",
    "in_private_dir",
    "paced",
    "pct",
    "saturate",
    "start_worker",
    "stop_workers",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a process and its live descendants, from Linux's /proc; None
    elsewhere. Unlike flows/s, it does not count time the shared machine gave to others."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    try:
        while pending:
            current = pending.pop()
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
    except (OSError, ValueError, IndexError):
        return None
    return total


def in_private_dir(
    prefix: str, drive: Callable[[Path], Coroutine[Any, Any, dict[str, Any]]]
) -> dict[str, Any]:
    """`drive(directory)` on a fresh event loop, in a temporary 0700 directory removed after."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        directory = Path(tmp)
        directory.chmod(0o700)
        return asyncio.run(drive(directory))


def start_worker(
    module: str, directory: Path, port: int, lifetime_s: float
) -> subprocess.Popen[bytes]:
    """`python -m <module> --serve <directory> <port> <lifetime>`; returns once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--serve", str(directory), str(port), str(lifetime_s)]
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{module} worker did not start")


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    """Ask every worker to stop, then wait for each (killed after 10 s)."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(
        self, method: str, target: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body."""
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int((await self.reader.readline()).split()[1])
        found: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            found[name.strip().lower()] = value.strip()
        payload = await self.reader.readexactly(int(found.get("content-length", "0")))
        return status, found, payload

    async def post(self, target: str, body: bytes, content_type: str) -> bytes:
        """POST and return the body of a 200 answer (raises on any other); headers unread."""
        head = (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await self.reader.readexactly(length)
        if b" 200 " not in status_line:
            raise RuntimeError(f"{target} answered {status_line!r}")
        return payload

    def close(self) -> None:
        self.writer.close()


async def saturate(
    port: int,
    target: str,
    content_type: str,
    bodies: list[bytes],
    connections: int,
    ok: Callable[[bytes], bool],
) -> tuple[float, list[float], int]:
    """POST every body as fast as `connections` keep-alive connections go.

    Returns (bodies per second, each request's latency in ms, how many answers were `ok`)."""
    conns = [await Connection.open(port) for _ in range(connections)]
    latencies: list[float] = []
    passed = 0
    queue = iter(bodies)

    async def worker(conn: Connection) -> None:
        nonlocal passed
        for body in queue:
            start = time.perf_counter()
            answer = await conn.post(target, body, content_type)
            latencies.append((time.perf_counter() - start) * 1000)
            passed += ok(answer)

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    return len(bodies) / elapsed, latencies, passed


async def paced(
    port: int,
    target: str,
    content_type: str,
    bodies: list[bytes],
    rate: float,
    connections: int,
    ok: Callable[[bytes], bool],
) -> tuple[list[float], int]:
    """POST body i at i / rate seconds; latency counts from that scheduled time, so queueing
    counts. Returns (latencies in ms, how many answers were `ok`)."""
    conns = [await Connection.open(port) for _ in range(connections)]
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for c in conns:
        idle.put_nowait(c)
    latencies: list[float] = []
    passed = 0
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05

    async def one(i: int, body: bytes) -> None:
        nonlocal passed
        scheduled = t0 + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        conn = await idle.get()
        answer = await conn.post(target, body, content_type)
        latencies.append((loop.time() - scheduled) * 1000)
        passed += ok(answer)
        idle.put_nowait(conn)

    await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    for c in conns:
        c.close()
    return latencies, passed


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
