"""The README's tour, run as a newcomer pastes it, so the document cannot drift from the program.

What runs: the start command of the README's first code block (the part of its first line after
the last `&&`, e.g. `.venv/bin/mobileid demo`: the install before it is already done) in the
background, as a person runs it in a first terminal; once its output settles and a URL it
printed answers, the README's ```` ```sh tour ```` blocks in order, in ONE bash session
(`set -euo pipefail` per block), as a person pastes them into a second terminal; then Ctrl-C
(SIGINT to its process group) for the start command, which must end by itself with nothing of
it left running.

Where: a temporary directory laid out like a fresh checkout (the repository's files linked in,
`.venv` -> the environment running this test), with HOME, XDG_DATA_HOME and MOBILEID_DATA_DIR
inside it, no MOBILEID_* variable and no virtual environment inherited, and a `jq` that fails
(a fresh machine has none). When unprivileged user namespaces are available everything runs in
a network namespace of its own, so the tour's fixed ports (8000, 8100, ...) meet neither a
developer's own servers nor a parallel test run; otherwise on the host's loopback.

A failing block is reported with its text, the failing line, the session's output and every
server log in the directory.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.tour

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
TOUR_INFO = "sh tour"
# Not what a newcomer has after cloning: local state, caches, environments (and history,
# which the tour never needs).
NOT_IN_A_CHECKOUT = {".git", ".venv", "data", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
START_TIMEOUT_S = 180.0
BLOCK_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 30.0
QUIET_S = 1.0
LOG_TAIL_LINES = 80
_FENCE = re.compile(r"^```(?P<info>[^`\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_LOOPBACK_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost):(\d+)")
# Brings the namespace's loopback up (SIOCSIFFLAGS: IFF_UP | IFF_LOOPBACK | IFF_RUNNING), says so,
# and holds the namespace open until its stdin closes (the test ends, or dies).
_NS_HOLDER = """
import fcntl, socket, struct, sys
with socket.socket() as s:
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))
print("ready", flush=True)
sys.stdin.read()
"""


@dataclass(frozen=True)
class Block:
    number: int
    line: int  # where it starts in README.md
    text: str


def code_blocks(markdown: str) -> list[tuple[str, int, str]]:
    """Every fenced block: (info string, first line number, body)."""
    return [
        (m["info"].strip(), markdown.count("\n", 0, m.start()) + 1, m["body"])
        for m in _FENCE.finditer(markdown)
    ]


def tour_blocks(markdown: str) -> list[Block]:
    blocks = [(line, body) for info, line, body in code_blocks(markdown) if info == TOUR_INFO]
    return [Block(n, line, body) for n, (line, body) in enumerate(blocks, 1)]


def start_command(markdown: str) -> str:
    """The README's first line: what a newcomer runs first, without the install before it."""
    blocks = code_blocks(markdown)
    assert blocks, "README.md has no code block: its first line should start the system"
    first_line = blocks[0][2].splitlines()[0]
    return first_line.split("&&")[-1].strip()


def test_the_readme_has_a_tour() -> None:
    """The tour test below cannot pass by finding nothing to run."""
    markdown = README.read_text(encoding="utf-8")
    assert tour_blocks(markdown), f"README.md has no ```{TOUR_INFO} block"
    assert "mobileid" in start_command(markdown)


def test_tour_blocks_are_the_marked_ones_in_order() -> None:
    markdown = "```sh\nnot me\n```\n```sh tour\none\n```\ntext\n```sh tour\ntwo\nthree\n```\n"
    assert tour_blocks(markdown) == [Block(1, 4, "one\n"), Block(2, 8, "two\nthree\n")]
    assert start_command("```sh\npython3 -m venv .venv && .venv/bin/mobileid demo\n```") == (
        ".venv/bin/mobileid demo"
    )


def test_a_failing_command_ends_the_tour_naming_its_line(tmp_path: Path) -> None:
    (tmp_path / "checkout").mkdir()
    session = Session(tmp_path / "checkout", _fresh_env(tmp_path), [])
    try:
        session.run(Block(1, 1, "X=$(echo one)\n"))
        with pytest.raises(TourFailure, match=re.escape("line 2 (exit 1): false")) as failed:
            session.run(Block(2, 1, "echo $X\nfalse\necho never\n"))
        assert failed.value.output == ["one\n"]
    finally:
        session.close()


def test_a_command_waiting_for_the_keyboard_fails(tmp_path: Path) -> None:
    (tmp_path / "checkout").mkdir()
    session = Session(tmp_path / "checkout", _fresh_env(tmp_path), [])
    try:
        with pytest.raises(TourFailure, match="read answer"):
            session.run(Block(1, 1, "read answer\n"))
    finally:
        session.close()


# ---------------------------------------------------------------------------------------------


def _fresh_checkout(root: Path) -> Path:
    checkout = root / "mobileid"
    checkout.mkdir()
    for entry in REPO.iterdir():
        if entry.name in NOT_IN_A_CHECKOUT or entry.name.endswith(".egg-info"):
            continue
        (checkout / entry.name).symlink_to(entry)
    (checkout / ".venv").symlink_to(Path(sys.prefix))
    return checkout


def _fresh_env(root: Path) -> dict[str, str]:
    """The environment of a person who has just cloned: no mobileid settings, no venv active."""
    venv_bin = str(Path(sys.prefix) / "bin")
    shims = root / "shims"
    shims.mkdir()
    jq = shims / "jq"
    jq.write_text('#!/bin/sh\necho "jq: not installed on a fresh machine" >&2\nexit 127\n')
    jq.chmod(0o755)
    path = [p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != venv_bin]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MOBILEID_", "PYTEST_", "COV_")) and k not in {"VIRTUAL_ENV", "PS1"}
    }
    home = root / "home"
    data_home = home / ".local" / "share"
    data_home.mkdir(parents=True)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(data_home),
        MOBILEID_DATA_DIR=str(data_home / "mobileid"),
        PATH=os.pathsep.join([str(shims), *path]),
    )
    env.pop("PYTHONPATH", None)
    return env


class Sandbox:
    """A network namespace of the test's own (an unprivileged user namespace), so the tour's fixed
    ports meet neither a developer's servers nor a parallel run, and every process the tour
    starts can be found by its namespace; without user namespaces, the host's loopback."""

    def __init__(self) -> None:
        self.prefix: list[str] = []
        self._holder: subprocess.Popen[bytes] | None = None
        if not (shutil.which("unshare") and shutil.which("nsenter")):
            return
        holder = subprocess.Popen(
            ["unshare", "--user", "--map-root-user", "--net", sys.executable, "-c", _NS_HOLDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert holder.stdout is not None
        ready = holder.stdout.readline() == b"ready\n"
        holder.stdout.close()
        if not ready:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait()
            return
        self._holder = holder
        self.prefix = [
            "nsenter",
            "--preserve-credentials",
            "--user",
            "--net",
            f"--target={holder.pid}",
        ]

    def answers(self, port: int) -> bool:
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)"
        run = subprocess.run(
            [*self.prefix, sys.executable, "-c", probe], check=False, stderr=subprocess.DEVNULL
        )
        return run.returncode == 0

    def processes(self) -> list[int]:
        """Every process in the namespace but its holder (nothing is known without one)."""
        if self._holder is None:
            return []
        mine = os.readlink(f"/proc/{self._holder.pid}/ns/net")
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self._holder.pid:
                continue
            try:
                if os.readlink(entry / "ns" / "net") == mine:
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def wait_empty(self, timeout: float) -> list[int]:
        """Until nothing runs in the namespace; what still does after `timeout` s."""
        deadline = time.monotonic() + timeout
        while (left := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def close(self) -> None:
        """Kill whatever still runs in the namespace, then let it go."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self._holder is not None and self._holder.stdin is not None:
            self._holder.stdin.close()
            self._holder.wait()


class _Lines:
    """A process's output line by line, read in a thread so waits can time out."""

    def __init__(self, stream: object, log: Path) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._log = log
        thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        thread.start()

    def _pump(self, stream: object) -> None:
        with self._log.open("a", encoding="utf-8") as log:
            for raw in stream:  # type: ignore[attr-defined]
                line = raw.decode("utf-8", "replace")
                log.write(line)
                log.flush()
                self.lines.put(line)
        stream.close()  # type: ignore[attr-defined]
        self.lines.put(None)

    def next(self, timeout: float) -> str | None:
        """The next line; None at the end of the output. Raises queue.Empty on timeout."""
        line = self.lines.get(timeout=timeout)
        if line is not None:
            self.seen.append(line)
        return line


class TourFailure(Exception):
    def __init__(self, message: str, output: list[str] | None = None) -> None:
        super().__init__(message)
        self.output = output


class Servers:
    """The README's start command in the background, as in a first terminal."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], sandbox: Sandbox) -> None:
        self.command = command
        self.proc = subprocess.Popen(
            [*sandbox.prefix, "bash", "--noprofile", "--norc", "-c", f"exec {command}"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
        self.output = _Lines(self.proc.stdout, cwd.parent / "start-command.log")
        self._sandbox = sandbox

    def wait_ready(self) -> None:
        """Until the output has settled and a loopback URL it printed answers: a person reads the
        URLs, then turns to a second terminal. (Not every URL printed need answer: a demo may
        name a business system's redirect URI that nothing serves.)"""
        deadline = time.monotonic() + START_TIMEOUT_S
        ports: set[int] = set()
        while time.monotonic() < deadline:
            try:
                line = self.output.next(timeout=QUIET_S)
            except queue.Empty:
                if any(self._sandbox.answers(p) for p in sorted(ports)):
                    return
                continue
            if line is None:
                raise TourFailure(f"it ended (exit {self.proc.wait()}) before it was ready")
            ports.update(int(p) for p in _LOOPBACK_URL.findall(line))
        raise TourFailure(f"not ready after {START_TIMEOUT_S:.0f} s")

    def interrupt(self) -> int | None:
        """Ctrl-C: SIGINT to its process group. Its exit code; None if it does not stop."""
        _signal_group(self.proc, signal.SIGINT)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None


class Session:
    """One bash session fed the tour's blocks, as a person pastes them into a terminal."""

    def __init__(self, cwd: Path, env: dict[str, str], prefix: list[str]) -> None:
        self._dir = cwd.parent / "blocks"
        self._dir.mkdir()
        self._token = secrets.token_hex(8)
        self.proc = subprocess.Popen(
            [*prefix, "bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # what the tour starts in the background is stopped with it
        )
        self.output = _Lines(self.proc.stdout, cwd.parent / "session.out")

    def run(self, block: Block) -> None:
        """Run one block. Raises TourFailure when a command in it fails.

        The block reads /dev/null: a command that would wait for the keyboard fails instead."""
        assert self.proc.stdin is not None
        script = self._dir / f"block-{block.number}.sh"
        script.write_text(block.text, encoding="utf-8")
        done = f"__tour_{self._token}_block_{block.number}_done__"
        failed = f"__tour_{self._token}_failed__"
        self.proc.stdin.write(
            (
                f"trap 'echo \"{failed} line $LINENO (exit $?): $BASH_COMMAND\"' ERR\n"
                "set -euo pipefail\n"
                f". {shlex.quote(str(script))} </dev/null\n"
                "set +euo pipefail\ntrap - ERR\n"
                f"echo {done}\n"
            ).encode()
        )
        self.proc.stdin.flush()
        output: list[str] = []
        deadline = time.monotonic() + BLOCK_TIMEOUT_S
        while True:
            try:
                line = self.output.next(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TourFailure(f"no end after {BLOCK_TIMEOUT_S:.0f} s", output) from None
            if line is None:
                raise TourFailure(f"the shell ended (exit {self.proc.wait()})", output)
            if line.strip() == done:
                return
            if line.startswith(failed):
                where = line.removeprefix(failed).strip()
                raise TourFailure(f"a command failed: block {where}", output)
            output.append(line)

    def close(self) -> None:
        """End the session; SIGINT to what the tour left running in the background."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        _signal_group(self.proc, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(STOP_TIMEOUT_S)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait()


def _logs(root: Path) -> str:
    """The tail of every log under the directory: the start command's output, its parts' logs."""
    parts = []
    for log in sorted(root.rglob("*.log")):
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        parts.append(f"----- {log.relative_to(root)} (last {LOG_TAIL_LINES} lines)\n{tail}")
    return "\n".join(parts)


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    markdown = README.read_text(encoding="utf-8")
    blocks = tour_blocks(markdown)
    assert blocks, f"README.md has no ```{TOUR_INFO} block"
    command = start_command(markdown)
    checkout = _fresh_checkout(tmp_path)
    env = _fresh_env(tmp_path)
    with ExitStack() as stack:
        sandbox = Sandbox()
        stack.callback(sandbox.close)
        servers = Servers(command, checkout, env, sandbox)
        stack.callback(_kill_group, servers.proc)
        stack.callback(servers.interrupt)
        session = Session(checkout, env, sandbox.prefix)
        stack.callback(_kill_group, session.proc)
        stack.callback(session.close)
        failure = _run_tour(servers, session, blocks)
        if failure is not None:
            pytest.fail(f"{failure}\n===== logs\n{_logs(tmp_path)}", pytrace=False)
        session.close()
        code = servers.interrupt()
        left = sandbox.wait_empty(STOP_TIMEOUT_S)
        assert code == 0, (
            f"`{command}` after Ctrl-C: {'still running' if code is None else f'exit {code}'}\n"
            f"{_logs(tmp_path)}"
        )
        assert not left, f"still running after Ctrl-C: {_describe(left)}"
        assert not _group_alive(servers.proc), f"`{command}` left processes running after Ctrl-C"


def _run_tour(servers: Servers, session: Session, blocks: list[Block]) -> str | None:
    """Wait for the start command, run every block; None, or what failed, where, and its output."""
    current: Block | None = None
    try:
        servers.wait_ready()
        for current in blocks:
            session.run(current)
    except TourFailure as exc:
        if current is None:
            where = f"README.md's start command `{servers.command}`"
            output = servers.output.seen
        else:
            where = f"README.md tour block {current.number} (README line {current.line}):\n"
            where += current.text
            output = exc.output or []
        return f"{where}\n{exc}\n===== output\n{''.join(output)}"
    return None


def _describe(pids: list[int]) -> str:
    names = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmdline = "?"
        names.append(f"{pid} {cmdline.strip()}")
    return "; ".join(names)
