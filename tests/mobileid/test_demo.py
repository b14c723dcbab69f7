"""`mobileid demo` as a person runs it: a subprocess on free ports and a temporary data
directory; every part answers, the example data is there, SIGINT stops everything (exit 0, no
child left), a second run reuses the data, and a part that dies stops the demo (exit 1, named).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from mobileid.cli_demo import EXAMPLE_CLIENT_ID, EXAMPLE_EMPLOYEE, LOOPBACK_NOTICE
from mobileid.cli_demo_consoles import ADMIN_EMPLOYEE, DEMO_GRANTS, GRANT_TOKEN_FILE
from mobileid.demo import port_in_use

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
READY = "Ctrl-C"
PARTS = {"issuer": 0, "gate": 100, "central": 200, "login": 300}
CONSOLES = {  # part: (where a person opens it, its client id at the login service)
    "issuer": ("/console", "demo-console"),
    "gate": ("/display", "demo-gate-console"),
    "login": ("/admin", "demo-login-console"),
}
CONSOLE_SECRETS = (
    "console-client-secret",
    "gate-console-client-secret",
    "login-console-client-secret",
)


def _free_port_base() -> int:
    """Below Linux's ephemeral range (32768-60999), where the other tests' servers on port 0
    and every outgoing connection take their ports."""
    for _ in range(200):
        base = random.randrange(10000, 32000, 10)
        if not any(port_in_use(base + offset) for offset in PARTS.values()):
            return base
    raise AssertionError("no free port base")


def _children(pid: int) -> dict[int, str]:
    """The live child processes of `pid` and their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


class PortTaken(Exception):
    pass


@dataclass
class Demo:
    data_dir: Path
    base: int
    output: Path
    process: subprocess.Popen[bytes]
    children: dict[int, str] = field(default_factory=dict)

    @classmethod
    def start(cls, data_dir: Path, output: Path) -> Demo:
        """A demo on a free port base; another base when a port was taken between the check and
        the bind (a port chosen in advance can always be lost so)."""
        for _ in range(3):
            try:
                return cls._start(data_dir, output)
            except PortTaken:
                continue
        raise AssertionError("three port bases taken while the demo started")

    @classmethod
    def _start(cls, data_dir: Path, output: Path) -> Demo:
        base = _free_port_base()
        command = ["demo", "--data-dir", str(data_dir), "--port-base", str(base)]
        with output.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "mobileid", *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "COLUMNS": "200"},
                cwd=ROOT,
            )
        demo = cls(data_dir, base, output, process)
        deadline = time.monotonic() + 240
        while READY not in demo.text:
            lost = ("address already in use", "port(s) in use")
            if process.poll() is not None and any(m in demo.text for m in lost):
                raise PortTaken
            assert process.poll() is None, demo.text
            assert time.monotonic() < deadline, demo.text
            time.sleep(0.2)
        demo.children = _children(process.pid)
        return demo

    @property
    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.base + PARTS[part]}"

    def wait(self) -> int:
        return self.process.wait(timeout=60)

    def stop(self) -> None:
        """Whatever happened, nothing is left running (the tests check it more politely)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.children:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def _sign_in_goes_to_login(demo: Demo, part: str) -> None:
    """The console at `part` sends a person who is not signed in to its sign-in page, whose
    button goes to the demo's login service as the console's own client."""
    home, client_id = CONSOLES[part]
    with httpx.Client(timeout=10, base_url=demo.url(part)) as browser:
        signin = browser.get(home).headers["location"]
        assert signin.startswith(f"{home}/signin") or signin.startswith("/console/signin"), signin
        page = browser.get(signin)
        token_field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token_field, page.text
        start = browser.post(signin.split("?")[0], data={"csrf_token": token_field.group(1)})
        assert start.status_code == 303, start.text
        assert start.headers["location"].startswith(f"{demo.url('login')}/authorize?"), part
        assert f"client_id={client_id}" in start.headers["location"], part


def _signs_in_with_the_link(demo: Demo, link: str) -> None:
    """The administrator's link signs in once at the issuer's console, with every area."""
    with httpx.Client(timeout=10) as browser:
        page = browser.get(link)
        token_field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token_field, page.text
        signed_in = browser.post(link, data={"csrf_token": token_field.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        for path in ("/console/hr", "/console/ops"):
            assert browser.get(f"{demo.url('issuer')}{path}").status_code == 200, path
    with httpx.Client(timeout=10) as stranger:
        page = stranger.get(link)
        token_field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        again = stranger.post(
            link, data={"csrf_token": token_field.group(1) if token_field else ""}
        )
        assert again.status_code >= 400, again.text  # it worked once


def _mobileid(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mobileid", *args],
        env={**os.environ, "MOBILEID_DATA_DIR": str(data_dir), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo")
    started = Demo.start(directory / "data", directory / "first.out")
    try:
        yield started
    finally:
        started.stop()


def test_demo_runs_every_part_and_stops_on_sigint(demo: Demo) -> None:
    assert len(demo.children) == 4, demo.children
    with httpx.Client(timeout=10) as client:
        metadata = client.get(f"{demo.url('issuer')}/.well-known/openid-credential-issuer")
        assert metadata.json()["credential_issuer"] == demo.url("issuer")
        for part in ("gate", "central", "login"):
            assert client.get(f"{demo.url(part)}/health").status_code == 200, part
        token = (demo.data_dir / "demo" / "login-api-token").read_text().strip()
        session = client.post(
            f"{demo.url('login')}/oid4vp/sessions",
            headers={"Authorization": f"Bearer {token}"},
            json={"claims": ["employee_number", "name"]},
        )
        assert session.status_code == 201, session.text
        assert session.json()["link"].startswith("openid4vp://")
    for part, (home, _client_id) in CONSOLES.items():
        _sign_in_goes_to_login(demo, part)
        assert f"{demo.url(part)}{home}" in demo.text
    for name in (*CONSOLE_SECRETS, GRANT_TOKEN_FILE):
        assert (demo.data_dir / "demo" / name).stat().st_mode & 0o777 == 0o600, name
    granted = json.loads(_mobileid(demo.data_dir, "admin", "grants", "--json").stdout)
    assert sorted((g["employee_number"], g["role"], g["scope"]) for g in granted) == sorted(
        DEMO_GRANTS
    )
    link = re.search(r"http://\S+/console/link/\S+", demo.text)
    assert link, demo.text
    assert f"login-link --employee {ADMIN_EMPLOYEE}" in demo.text
    text = demo.text
    for expected in (LOOPBACK_NOTICE, token, EXAMPLE_CLIENT_ID, "client_secret", "next steps"):
        assert expected in text, expected
    for part in PARTS:
        log = demo.data_dir / "demo" / f"{part}.log"
        assert f"{demo.url(part)}" in text and str(log) in text
        assert log.stat().st_mode & 0o777 == 0o600
    employee = _mobileid(demo.data_dir, "issuer", "credentials", EXAMPLE_EMPLOYEE)
    assert employee.returncode == 0, employee.stderr
    info = json.loads(_mobileid(demo.data_dir, "demo-info", "--json").stdout)
    assert info == {
        "data-dir": str(demo.data_dir),
        "issuer-url": demo.url("issuer"),
        "gate-url": demo.url("gate"),
        "central-url": demo.url("central"),
        "login-url": demo.url("login"),
        "login-ca": str(demo.data_dir / "login" / "cert" / "ca.pem"),
        "console-url": f"{demo.url('issuer')}/console",
        "gate-display-url": f"{demo.url('gate')}/display",
        "login-admin-url": f"{demo.url('login')}/admin",
        "signin-link": link.group(0),
        "login-api-token": token,
    }
    _signs_in_with_the_link(demo, info["signin-link"])
    assert Path(info["login-ca"]).is_file()
    alone = _mobileid(demo.data_dir, "demo-info", "--field", "login-api-token")
    assert alone.stdout == token + "\n", alone.stderr

    demo.process.send_signal(signal.SIGINT)
    assert demo.wait() == 0, demo.text
    assert all(_gone(pid) for pid in demo.children), demo.children
    assert not any(port_in_use(demo.base + offset) for offset in PARTS.values())


def test_demo_rerun_reuses_data_and_stops_when_a_part_dies(demo: Demo) -> None:
    demo.stop()
    again = Demo.start(demo.data_dir, demo.data_dir.parent / "second.out")
    try:
        assert "unchanged 3" in again.text
        assert "registered at an earlier run" in again.text
        assert "client_secret" not in again.text
        clients = _mobileid(demo.data_dir, "login", "clients").stdout.splitlines()
        assert sorted(json.loads(c)["client_id"] for c in clients) == sorted(
            [client_id for _home, client_id in CONSOLES.values()] + [EXAMPLE_CLIENT_ID]
        )
        granted = json.loads(_mobileid(demo.data_dir, "admin", "grants", "--json").stdout)
        assert len(granted) == len(DEMO_GRANTS)  # none granted twice
        link = _mobileid(demo.data_dir, "demo-info", "--field", "signin-link").stdout.strip()
        assert link in again.text and link not in demo.text  # a fresh one each run
        gate = next(pid for pid, cmd in again.children.items() if " gate run " in cmd)
        os.kill(gate, signal.SIGKILL)
        assert again.wait() == 1, again.text
        assert "gate exited" in again.text
        assert str(demo.data_dir / "demo" / "gate.log") in again.text
        assert all(_gone(pid) for pid in again.children), again.children
    finally:
        again.stop()
