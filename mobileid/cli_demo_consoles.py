"""The consoles of `mobileid demo`, set up so a newcomer can use every one at once (issue 19):
each console's client registration at the login service (secret kept 0600 in demo/), one
`grant_reader` token (0600) for the gate's and the login service's consoles to read grants
from the issuer, the example people's grants, and a fresh single-use sign-in link for the example
administrator. Everything is made with the `mobileid` commands an operator would run, once; a
later run reuses it (the sign-in link is new each run: it works once).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mobileid.cli_common import fail
from vc.private_files import write_private_file

__all__ = [
    "ADMIN_EMPLOYEE",
    "ADMIN_ROLES",
    "DEMO_GRANTS",
    "GRANT_TOKEN_FILE",
    "HEAD_DEPARTMENT",
    "HEAD_EMPLOYEE",
    "SIGNIN_LINK_MINUTES",
    "ConsoleClient",
    "DemoConsoles",
]

ADMIN_EMPLOYEE = "2021-016180"
"""The example HR administrator (이철수 in examples/employees.csv)."""
HEAD_EMPLOYEE = "2015-027182"
"""The example department head (김영희, head of MOIS-DATA)."""
HEAD_DEPARTMENT = "MOIS-DATA"
ADMIN_ROLES = ("hr_admin", "login_admin", "gate_operator")
DEMO_GRANTS = (
    *((ADMIN_EMPLOYEE, role, None) for role in ADMIN_ROLES),
    (HEAD_EMPLOYEE, "department_head", HEAD_DEPARTMENT),
)
"""(employee number, role, scope) the demo grants: who may use which console."""
GRANT_TOKEN_FILE = "grant-reader-token"  # noqa: S105 - a file name
SIGNIN_LINK_MINUTES = 60
"""The demo's sign-in link lives longer than the 15-minute default: a newcomer reads first."""

Run = Callable[..., str]
"""`_Demo.run`: one `mobileid` set-up command (`secret=True`: its output is not logged)."""


@dataclass(frozen=True)
class ConsoleClient:
    """One console's registration at the login service: `sub` is the employee number."""

    client_id: str
    name: str
    redirect_uri: str
    secret_file: Path


@dataclass(frozen=True)
class DemoConsoles:
    """The three consoles of one demo run and their files in `directory` (the demo's own)."""

    directory: Path
    issuer_url: str
    gate_url: str
    login_url: str
    central_url: str

    @property
    def issuer(self) -> ConsoleClient:
        return ConsoleClient(
            "demo-console",
            "모바일 공무원증 관리 (console)",
            f"{self.issuer_url}/console/callback",
            self.directory / "console-client-secret",
        )

    @property
    def gate(self) -> ConsoleClient:
        return ConsoleClient(
            "demo-gate-console",
            "출입 게이트 콘솔 / Gate console",
            f"{self.gate_url}/console/callback",
            self.directory / "gate-console-client-secret",
        )

    @property
    def login(self) -> ConsoleClient:
        return ConsoleClient(
            "demo-login-console",
            "로그인 관리 / Login administration",
            f"{self.login_url}/admin/callback",
            self.directory / "login-console-client-secret",
        )

    @property
    def grant_token_file(self) -> Path:
        return self.directory / GRANT_TOKEN_FILE

    @property
    def urls(self) -> dict[str, str]:
        """Where a person opens each console."""
        return {
            "console": f"{self.issuer_url}/console",
            "display": f"{self.gate_url}/display",
            "admin": f"{self.login_url}/admin",
        }

    def issuer_env(self) -> dict[str, str]:
        """The issuer's console, and what its operators' overview asks."""
        return {
            "MOBILEID_CONSOLE_LOGIN_URL": self.login_url,
            "MOBILEID_CONSOLE_CLIENT_ID": self.issuer.client_id,
            "MOBILEID_CONSOLE_CLIENT_SECRET_FILE": str(self.issuer.secret_file),
            "MOBILEID_OPS_LOGIN_URL": self.login_url,
            "MOBILEID_OPS_CENTRAL_URL": self.central_url,
            "MOBILEID_OPS_GATE_URLS": json.dumps([self.gate_url]),
        }

    def gate_env(self) -> dict[str, str]:
        """The gate's guard display and entry records."""
        return {
            "MOBILEID_GATE_CONSOLE_LOGIN_URL": self.login_url,
            "MOBILEID_GATE_CONSOLE_CLIENT_ID": self.gate.client_id,
            "MOBILEID_GATE_CONSOLE_CLIENT_SECRET_FILE": str(self.gate.secret_file),
            "MOBILEID_GATE_CONSOLE_GRANTS_TOKEN_FILE": str(self.grant_token_file),
            "MOBILEID_GATE_CONSOLE_ISSUER_URL": self.issuer_url,
            # a display left open while the newcomer reads on stays signed in for the tour
            "MOBILEID_GATE_CONSOLE_IDLE_TIMEOUT_S": "3600",
        }

    def login_env(self) -> dict[str, str]:
        """The login administrators' console (`/admin`)."""
        return {
            "MOBILEID_LOGIN_CONSOLE_CLIENT_ID": self.login.client_id,
            "MOBILEID_LOGIN_CONSOLE_CLIENT_SECRET_FILE": str(self.login.secret_file),
            "MOBILEID_LOGIN_CONSOLE_ISSUER_URL": self.issuer_url,
            "MOBILEID_LOGIN_CONSOLE_GRANT_TOKEN_FILE": str(self.grant_token_file),
        }

    def set_up(self, run: Run, registered: set[str]) -> str:
        """Register what is missing, grant what is missing; the administrator's sign-in link."""
        for client in (self.issuer, self.gate, self.login):
            _register(run, client, registered)
        if not self.grant_token_file.is_file():
            token = _last_line(
                run("admin", "grant-reader-token", "--label", "demo consoles", secret=True)
            )
            write_private_file(self.grant_token_file, token.encode("ascii") + b"\n")
        _grant_missing(run)
        return _last_line(
            run(
                "admin",
                "login-link",
                "--employee",
                ADMIN_EMPLOYEE,
                "--minutes",
                str(SIGNIN_LINK_MINUTES),
                secret=True,
            )
        )


def _last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def _register(run: Run, client: ConsoleClient, registered: set[str]) -> None:
    """`client` at the login service, its secret 0600 in `client.secret_file` for the service
    that signs people in with it."""
    if client.client_id in registered and client.secret_file.is_file():
        return
    if client.client_id in registered:  # registered, but its secret file is gone: a new id
        fail(
            f"the console's client secret ({client.secret_file}) is missing; remove the "
            f"demo's login database to register {client.client_id} again"
        )
    created = run(
        "login",
        "add-client",
        "--client-id",
        client.client_id,
        "--name",
        client.name,
        "--redirect-uri",
        client.redirect_uri,
        "--claim",
        "name",
        "--sub",
        "employee_number",
        "--plain",
        secret=True,
    )
    _client_id, _, secret = created.strip().partition("\t")
    write_private_file(client.secret_file, secret.encode("ascii") + b"\n")


def _grant_missing(run: Run) -> None:
    """`DEMO_GRANTS` that are not held yet (audited as the operator, like any grant)."""
    held = {
        (g["employee_number"], g["role"], g["scope"])
        for g in json.loads(run("admin", "grants", "--json"))
    }
    for employee, role, scope in DEMO_GRANTS:
        if (employee, role, scope) in held:
            continue
        run(
            "admin",
            "grant",
            "--employee",
            employee,
            "--role",
            role,
            *(("--scope", scope) if scope else ()),
            "--reason",
            "mobileid demo: example console user",
        )
