"""`mobileid demo`: the whole system on one machine for a newcomer, in development mode, on
the embedded SQLite default: the issuer, the central verifier, a gate and the login service,
each a child process running its own production command (`mobileid.demo.Supervisor`), with
the example data loaded (HR import, one business-system client, a verifier certificate, an API
token), every console set up (`mobileid.cli_demo_consoles`), the URLs, the example
administrator's sign-in link and next steps printed, and everything stopped by Ctrl-C or SIGTERM.

Ports are the production defaults (issuer 8000, gate 8100, central 8200, login 8300) or, with
`--port-base`, the same offsets from another base. A second run reuses the data it finds.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import yaml

from mobileid.cli_common import (
    console,
    err_console,
    fail,
    load_settings,
    settings_or_exit,
    warn_if_placeholder_secret,
)
from mobileid.cli_demo_consoles import (
    ADMIN_EMPLOYEE,
    ADMIN_ROLES,
    HEAD_DEPARTMENT,
    HEAD_EMPLOYEE,
    SIGNIN_LINK_MINUTES,
    DemoConsoles,
)
from mobileid.cli_demo_info import (
    DemoDataDirOpt,
    DemoField,
    demo_dir,
    token_file,
    write_demo_info,
)
from mobileid.db import database_exists
from mobileid.demo import Part, PartFailed, Supervisor, open_log, port_in_use, tail
from mobileid.settings import (
    LoginSettings,
    data_root_origin,
    default_data_root,
)
from vc.private_files import ensure_private_dir, write_private_file
from verifier.x509 import CA_CERT_FILE, CertificateError, load_verifier_certificate

__all__ = ["demo"]

LOOPBACK = "127.0.0.1"
EXAMPLE_EMPLOYEE = "2019-031415"
EXAMPLE_CLIENT_ID = "demo-approval"
EXAMPLE_ISSUER = "http://127.0.0.1:8000"  # the issuer examples/gate-sejong.yaml trusts
START_TIMEOUT_S = 120.0  # four Python services starting together on a slow, busy machine
LOOPBACK_NOTICE = (
    "개발용 / development: loopback issuers trusted (MOBILEID_LOGIN_ALLOW_INSECURE_LOOPBACK=true)"
)
_OFFSETS = {"issuer": 0, "gate": 100, "central": 200, "login": 300}
DATABASE_URL_VARIABLES = (
    "MOBILEID_DATABASE_URL",
    "MOBILEID_LOGIN_DATABASE_URL",
    "MOBILEID_GATE_CENTRAL_DATABASE_URL",
)


def _examples_dir() -> Path:
    """examples/ of the checkout mobileid runs from (an editable install), else of the
    current directory."""
    for candidate in (Path(__file__).resolve().parents[1] / "examples", Path.cwd() / "examples"):
        if (candidate / "employees.csv").is_file():
            return candidate
    fail("examples/employees.csv not found: run `mobileid demo` from a mobileid checkout")


def _mobileid(*args: str) -> list[str]:
    return [sys.executable, "-m", "mobileid", *args]


class _Demo:
    """The files and settings of one demo run (everything under the data directory)."""

    def __init__(self, root: Path, port_base: int) -> None:
        self.root = root
        self.dir = ensure_private_dir(demo_dir(root))
        self.ports = {name: port_base + offset for name, offset in _OFFSETS.items()}
        self.urls = {name: f"http://{LOOPBACK}:{port}" for name, port in self.ports.items()}
        self.issuer_url = self.urls["issuer"]
        self.login_url = self.urls["login"]
        self.env = {
            "MOBILEID_ENV": "dev",
            "MOBILEID_DATA_DIR": str(root),
            "MOBILEID_LOGIN_DATA_DIR": str(root / "login"),
            "MOBILEID_ISSUER_BASE_URL": self.issuer_url,
            # the embedded SQLite default, whatever database this shell is set up for
            **dict.fromkeys(DATABASE_URL_VARIABLES, ""),
        }
        self.api_token = self._api_token()
        self.login_env = {
            "MOBILEID_LOGIN_BASE_URL": self.login_url,
            "MOBILEID_LOGIN_TRUSTED_ISSUERS": json.dumps([self.issuer_url]),
            "MOBILEID_LOGIN_ALLOW_INSECURE_LOOPBACK": "true",
            "MOBILEID_LOGIN_API_TOKEN": self.api_token,
        }
        self.consoles = DemoConsoles(
            self.dir, self.issuer_url, self.urls["gate"], self.login_url, self.urls["central"]
        )
        self.signin_link = ""
        """The example administrator's single-use sign-in link, made at each run's set-up."""

    @property
    def token_file(self) -> Path:
        return token_file(self.root)

    def _api_token(self) -> str:
        """The login service's desk API token: made once, kept 0600, reused on later runs."""
        if self.token_file.is_file():
            token = self.token_file.read_text(encoding="ascii").strip()
            if token:
                return token
        token = secrets.token_urlsafe(24)
        write_private_file(self.token_file, token.encode("ascii") + b"\n")
        return token

    def log(self, part: str) -> Path:
        return self.dir / f"{part}.log"

    def run(self, *args: str, secret: bool = False) -> str:
        """A set-up step (a `mobileid` command), logged to setup.log (without its output when
        that holds a `secret`); ends the demo if it fails."""
        result = subprocess.run(  # noqa: S603 - our own command, no shell
            _mobileid(*args),
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,  # a Ctrl-C meanwhile is the demo's to handle, after it
        )
        with self.log("setup").open("a", encoding="utf-8") as log:
            shown = "(output not kept: it holds a secret)\n" if secret else result.stdout
            log.write(f"$ mobileid {' '.join(args)}\n{shown}{result.stderr}\n")
        if result.returncode != 0:
            err_console.print(result.stdout + result.stderr, markup=False, highlight=False)
            fail(
                f"demo set-up step failed: mobileid {' '.join(args[:2])} (see {self.log('setup')})"
            )
        return result.stdout

    def record(self, login: LoginSettings) -> None:
        """What `mobileid demo-info` prints for scripts (the token stays in its own file)."""
        write_demo_info(
            self.root,
            {
                DemoField.data_dir: str(self.root),
                DemoField.issuer_url: self.urls["issuer"],
                DemoField.gate_url: self.urls["gate"],
                DemoField.central_url: self.urls["central"],
                DemoField.login_url: self.urls["login"],
                DemoField.login_ca: str(login.certificate_dir / CA_CERT_FILE),
                DemoField.console_url: self.consoles.urls["console"],
                DemoField.gate_display_url: self.consoles.urls["display"],
                DemoField.login_admin_url: self.consoles.urls["admin"],
                DemoField.signin_link: self.signin_link,
            },
        )

    def gate_policy(self, examples: Path) -> Path:
        """examples/gate-sejong.yaml, or a copy trusting this run's issuer on another port."""
        example = examples / "gate-sejong.yaml"
        if self.issuer_url == EXAMPLE_ISSUER:
            return example
        policy = yaml.safe_load(example.read_text(encoding="utf-8"))
        for entry in policy.get("trusted_issuers", []):
            if entry.get("issuer") == EXAMPLE_ISSUER:
                entry["issuer"] = self.issuer_url
        path = self.dir / "gate-sejong.yaml"
        write_private_file(path, yaml.safe_dump(policy, allow_unicode=True).encode("utf-8"))
        return path

    def central_config(self) -> Path:
        config = {"trusted_issuers": [{"issuer": self.issuer_url}], "allow_insecure_loopback": True}
        path = self.dir / "central.yaml"
        write_private_file(path, yaml.safe_dump(config).encode("utf-8"))
        return path


def _load_examples(demo: _Demo, examples: Path, login: LoginSettings) -> None:
    """The example data, made at the first run and reused at later ones: the HR import (a
    rerun changes nothing), the verifier certificate, one business-system client."""
    employees = examples / "employees.csv"
    summary = json.loads(demo.run("hr", "import", str(employees), "--json"))
    console.print(
        f"인사 자료 / HR import ({employees.name}): 신규 created {summary['created']}, "
        f"변경 updated {summary['updated']}, 동일 unchanged {summary['unchanged']}",
        highlight=False,
        soft_wrap=True,
    )
    try:
        load_verifier_certificate(login.certificate_dir)
    except CertificateError:
        demo.run("verifier", "init-cert", "--dns", "localhost")
    clients = (
        {
            json.loads(line).get("client_id")
            for line in demo.run("login", "clients").splitlines()
            if line.strip()
        }
        if database_exists(login.db_url)
        else set()
    )
    demo.signin_link = demo.consoles.set_up(demo.run, clients)
    if EXAMPLE_CLIENT_ID in clients:
        console.print(
            f"업무시스템 / business system: client_id {EXAMPLE_CLIENT_ID} "
            "(registered at an earlier run, which showed its secret)",
            highlight=False,
            soft_wrap=True,
        )
        return
    created = demo.run(
        "login",
        "add-client",
        "--client-id",
        EXAMPLE_CLIENT_ID,
        "--name",
        "전자결재 (e-approval, demo)",
        "--redirect-uri",
        f"http://{LOOPBACK}:{demo.ports['issuer'] + 400}/callback",
        "--claim",
        "name",
        "--claim",
        "department",
        secret=True,
    )
    console.print(
        f"업무시스템 / business system registered: client_id {EXAMPLE_CLIENT_ID}; "
        "secret shown once / 비밀값은 한 번만 표시됩니다:",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(created.rstrip("\n"))


def _print_ready(demo: _Demo, login: LoginSettings, parts: list[Part], why: str) -> None:
    """The parts with their URLs and logs, the development settings, the next steps."""
    console.print()
    # One line a part, never folded: a log's path is copied whole (the terminal wraps it).
    for part in sorted(parts, key=lambda p: demo.ports[p.name]):
        console.print(
            f"{part.name:<8} {part.url:<27} log: {part.log}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    _print_consoles(demo)
    console.print(LOOPBACK_NOTICE, highlight=False, soft_wrap=True)
    console.print(
        f"login API token (development value) for POST {demo.login_url}/oid4vp/sessions: "
        f"{demo.api_token}\n  (for scripts: mobileid demo-info --field login-api-token; "
        "--json for every value here)",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"wallets trust the login service's CA: {login.certificate_dir / CA_CERT_FILE}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"development SMS: {demo.root / 'dev-sms.log'} (and mobileid outbox list)",
        highlight=False,
        soft_wrap=True,
    )
    activate = Path(sys.prefix) / "bin" / "activate"
    steps = [f". {_relative(activate)}"] if activate.is_file() else []
    if not why.startswith("default"):
        steps.append(f"export MOBILEID_DATA_DIR={demo.root}")
    steps += [f"mobileid issuer credentials {EXAMPLE_EMPLOYEE}", "mobileid outbox list"]
    console.print("\n[bold]다음 단계 / next steps[/] (another terminal; then the README's tour):")
    for step in steps:
        console.print(f"  {step}", highlight=False, soft_wrap=True, markup=False)
    console.print("\nCtrl-C: 모두 중지 / stops everything")


def _print_consoles(demo: _Demo) -> None:
    """Where each console is, who may use it, and the administrator's sign-in link."""
    urls = demo.consoles.urls
    lines = (
        "\n[bold]콘솔 / consoles[/] (모바일 공무원증으로 로그인 / sign in with the mobile ID):",
        f"  {urls['console']:<31} 직원·부서장·인사·운영 / employees, heads, HR, operations",
        f"  {urls['display']:<31} 경비 화면 / guard display (and /records)",
        f"  {urls['admin']:<31} 로그인 관리 / login administration",
        f"  {ADMIN_EMPLOYEE} example HR administrator: {', '.join(ADMIN_ROLES)}; "
        f"{HEAD_EMPLOYEE} department head of {HEAD_DEPARTMENT}",
        f"첫 관리자 로그인 / the administrator's sign-in link (works once, "
        f"{SIGNIN_LINK_MINUTES} min):",
    )
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"  {demo.signin_link}", highlight=False, soft_wrap=True, markup=False)
    console.print(
        f"  (a new one: mobileid admin login-link --employee {ADMIN_EMPLOYEE}; "
        "for scripts: mobileid demo-info --field signin-link)",
        highlight=False,
        soft_wrap=True,
    )


def _relative(path: Path) -> Path:
    """`path` from the current directory when it is below it (`.venv/bin/activate`)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _parts(demo: _Demo, policy: Path) -> dict[str, Part]:
    """Each part's production command on its loopback port, with its health URL and log."""
    commands = {
        "issuer": (["serve"], "/.well-known/openid-credential-issuer"),
        "central": (["gate", "central", "--config", str(demo.central_config())], "/health"),
        "login": (["login", "serve"], "/health"),
        "gate": (["gate", "run", "--policy", str(policy)], "/health"),
    }
    urls = demo.urls
    return {
        name: Part(
            name,
            _mobileid(*args, "--host", LOOPBACK, "--port", str(demo.ports[name])),
            urls[name] + ("/scan" if name == "gate" else ""),
            urls[name] + health,
            demo.log(name),
            {**demo.env, **_part_env(demo, name)},
        )
        for name, (args, health) in commands.items()
    }


def _part_env(demo: _Demo, name: str) -> dict[str, str]:
    if name == "issuer":
        return demo.consoles.issuer_env()
    if name == "gate":
        return demo.consoles.gate_env()
    return {**demo.login_env, **demo.consoles.login_env()} if name == "login" else {}


def _run(demo: _Demo, login: LoginSettings, supervisor: Supervisor, why: str) -> int:
    """Set up, start, watch; 0 when stopped by a signal, 1 when a part failed."""
    stop = supervisor.stop
    examples = _examples_dir()
    os.close(open_log(demo.log("setup")))
    _load_examples(demo, examples, login)
    if stop.is_set():
        return 0
    policy = demo.gate_policy(examples)
    parts = _parts(demo, policy)
    demo.record(login)
    try:
        for name in ("issuer", "central", "login"):
            supervisor.start(parts[name])
        if not supervisor.wait_ready(parts["issuer"], timeout_s=START_TIMEOUT_S):
            return 0
        demo.run("gate", "sync", "--policy", str(policy), "--from-issuers")
        supervisor.start(parts["gate"])
        for name in ("central", "login", "gate"):
            if not supervisor.wait_ready(parts[name], timeout_s=START_TIMEOUT_S):
                return 0
        _print_ready(demo, login, list(parts.values()), why)
        supervisor.watch()
    except PartFailed as exc:
        err_console.print(
            f"[red]오류 / error:[/] {exc.part.name} {exc.reason}; "
            f"its log ({exc.part.log}) ends:\n{tail(exc.part.log)}",
            highlight=False,
            soft_wrap=True,
        )
        err_console.print("stopping the other parts / 나머지 중지")
        return 1
    return 0


def _login_settings(demo: _Demo) -> LoginSettings:
    login = settings_or_exit(
        LoginSettings,
        data_dir=demo.root / "login",
        base_url=demo.login_url,
        trusted_issuers=[demo.issuer_url],
        allow_insecure_loopback=True,
        api_token=demo.api_token,
    )
    # the embedded SQLite default, whatever database this shell is set up for
    return login.model_copy(update={"database_url": None})


def _refuse_busy_ports(ports: dict[str, int]) -> None:
    busy = [f"{port} ({name})" for name, port in ports.items() if port_in_use(port)]
    if busy:
        fail(
            f"port(s) in use: {', '.join(busy)}. Is a demo or a mobileid service already "
            "running? Stop it, or choose other ports with --port-base."
        )


def _on_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def demo(
    data_dir: DemoDataDirOpt = None,
    port_base: Annotated[
        int,
        typer.Option(
            "--port-base",
            min=1024,
            max=65000,
            help="Issuer port; the gate listens on +100, central +200, login +300.",
        ),
    ] = 8000,
) -> NoReturn:
    """체험 / Run the whole system here, with example data (development only).

    The issuer, a gate, the central verifier and the login service, each on its own port and
    with its log in the data directory's demo/, every console set up; prints the URLs, a
    sign-in link for the example administrator and next steps. Ctrl-C stops all of it."""
    root = (data_dir or default_data_root()).absolute()
    why = "from --data-dir" if data_dir else data_root_origin()
    settings = load_settings(data_dir=root).model_copy(update={"database_url": None})
    if settings.env != "dev":
        fail("mobileid demo is for development only: unset MOBILEID_ENV (or set it to dev)", 2)
    ensure_private_dir(root)
    demo = _Demo(root, port_base)
    login = _login_settings(demo)
    _refuse_busy_ports(demo.ports)
    warn_if_placeholder_secret("MOBILEID_SECRET_KEY", settings.secret_key.get_secret_value())
    warn_if_placeholder_secret("MOBILEID_LOGIN_SECRET_KEY", login.secret_key.get_secret_value())
    console.print(
        f"[bold]mobileid demo[/] — 개발용 / development only\n"
        f"데이터 디렉터리 / data directory: {root} ({why})",
        highlight=False,
        soft_wrap=True,
    )
    stop = threading.Event()
    _on_signals(stop)
    supervisor = Supervisor(stop)
    try:
        code = _run(demo, login, supervisor, why)
    finally:
        supervisor.stop_all()
    if code == 0:
        console.print("중지됨 / stopped")
    raise typer.Exit(code)
