"""The console stack for browser scenarios: the real issuer (HR data imported), the login
service, a gate reporting to the central verifier, all on 127.0.0.1, and phones (the wallet
simulator) holding a credential the issuer issued to a given employee through the HR flow
(apply, department head approves, SMS offer accepted).

`stack.console(grants)` serves the console kit's test app (`console_kit`), an OpenID Connect
client of the stack's login service like every console (issue 19), until scenarios use the
parties' own consoles.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from console_kit import Clock, Roles, kit_app, make_console
from gate_kit import Clock as EpochClock
from issuer_console_kit import issuer_settings, write_secret
from issuer_kit import (
    TOKEN_LIFETIME,
    Tokens,
    apply_and_approve,
    link_of,
    read_sms,
    seed,
    standard_staff,
    tx_code_of,
)
from login_kit import PIN, Login, running_login
from server_kit import Served
from signin_kit import register_console

from console.viewer import Grant
from mobileid.app import create_app
from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.gate_app import create_gate_app
from verifier.central import CentralConfig, CentralService
from verifier.feed_relay import FeedRelay
from verifier.fetch import new_http_client
from verifier.gate.feed import GateFeed
from verifier.gate.service import GateService, build_gate
from verifier.login.clients import register_client
from verifier.policy import GatePolicy, parse_gate_policy
from verifier.trust import TrustedIssuer
from wallet_sim.holder import Holder
from wallet_sim.http import new_client
from wallet_sim.presenter import Presenter
from wallet_sim.store import INTERACTIVE, UnlockedWallet, WalletStore

__all__ = ["ConsoleStack", "Phone", "RelyingParty", "running_console_stack", "running_stack"]

GATE_ID = "sejong-06-east-01"
GATE_TOKEN = secrets.token_urlsafe(24)
STAFF = {row["employee_number"]: row for row in standard_staff()}


@dataclass
class Phone:
    """An employee's phone: the wallet simulator holding their credential, and its OpenID4VP
    side, trusting the login service's verifier certificates."""

    employee_number: str
    wallet: UnlockedWallet
    presenter: Presenter

    def gate_presentation(self, audience: str) -> bytes:
        """What the phone's QR carries at a gate (purpose `gate`)."""
        shown = self.presenter.purpose_presentation(self.wallet, "gate", audience=audience)
        return shown.payload.encode() if isinstance(shown.payload, str) else shown.payload


@dataclass
class RelyingParty:
    """A served console: an OpenID Connect client of the login service."""

    url: str
    client_id: str


@dataclass
class ConsoleStack:
    issuer: Any  # conftest's LiveServer
    tokens: Tokens
    login: Login
    gate: Served
    gate_service: GateService
    gate_policy: GatePolicy
    central: Served
    central_service: CentralService
    tmp_path: Path
    _offers: int = 0
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def clock(self) -> float:
        return float(self.issuer.clock().timestamp())

    def phone(self, employee_number: str) -> Phone:
        """`employee_number` applies, their department head approves, and a new phone accepts
        the SMS offer (link + transaction code): the wallet holds the issued credential."""
        applicant, head = self._tokens_for(employee_number)
        apply_and_approve(self.issuer.client, self.tokens, applicant=applicant, head=head)
        return self.accept_offer(employee_number)

    def accept_offer(self, employee_number: str) -> Phone:
        """A new phone accepts the newest SMS offer in the outbox (link + transaction code),
        however it was approved (the HR API, the console's inbox)."""
        self._offers += 1
        link = link_of(read_sms(self.issuer.data_dir, kind="offer_link", count=self._offers)[-1])
        code = tx_code_of(read_sms(self.issuer.data_dir, kind="tx_code", count=self._offers)[-1])
        path = self.tmp_path / f"phone-{employee_number}-{self._offers}"  # a second phone too
        wallet = WalletStore(path, kdf_limits=INTERACTIVE).create(PIN)
        with new_client() as client:
            holder = Holder(client)
            holder.accept(holder.resolve_offer(link), tx_code=code, wallet=wallet)
        return Phone(employee_number, wallet, self.login.presenter())

    def _tokens_for(self, employee_number: str) -> tuple[str, str]:
        """HR API tokens: the employee's own and their department head's."""
        from issuer.api_tokens import Role, create_api_token

        runtime = self.issuer.runtime
        department = STAFF[employee_number]["department_code"]
        with runtime.unit_of_work() as session:
            own, _ = create_api_token(
                session,
                role=Role.employee,
                employee_number=employee_number,
                now=runtime.clock(),
                lifetime=TOKEN_LIFETIME,
            )
            head, _ = create_api_token(
                session,
                role=Role.department_head,
                department_code=department,
                now=runtime.clock(),
                lifetime=TOKEN_LIFETIME,
            )
        return own, head

    def scan(self, phone: Phone) -> dict[str, Any]:
        """The phone's QR at the stack's gate: `POST /scan`, the gate's decision."""
        body = phone.gate_presentation(self.gate_policy.audience)
        response = httpx.post(f"{self.gate.url}/scan", content=body, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def console(self, grants: dict[str, list[Grant]]) -> RelyingParty:
        """A console (the kit's test app, `console_kit.kit_app`) registered at the login service
        as a business system and served on 127.0.0.1 for the rest of the stack's life; people's
        grants come from `grants` (employee number -> grants)."""
        served = Served(None)
        with self.login.db() as db:
            new = register_client(
                db,
                name="테스트 콘솔 / Test console",
                redirect_uris=[f"{served.url}/console/callback"],
                allowed_claims=["name"],
                subject_type="employee_number",
                now=time.time(),
            )
        served.app = kit_app(
            make_console(
                Roles(grants),
                Clock(time.time()),
                login_url=self.login.url,
                base_url=served.url,
                client_id=new.client.client_id,
                client_secret=new.secret,
            )
        )
        served.start()
        self._stack.callback(served.stop)
        return RelyingParty(served.url, new.client.client_id)


@dataclass
class _Issuer:
    url: str


@contextlib.contextmanager
def running_stack(live_server: Any, tmp_path: Path) -> Iterator[ConsoleStack]:
    """Around the issuer `live_server` (standard staff imported): the login service, the central
    verifier and a gate uploading its entry records to it, sharing the issuer's clock."""

    def clock() -> float:
        return float(live_server.clock().timestamp())

    tokens = seed(live_server, tmp_path)
    with contextlib.ExitStack() as stack:
        login = stack.enter_context(
            running_login(
                tmp_path, f"sqlite:///{tmp_path / 'login.sqlite3'}", clock, _Issuer(live_server.url)
            )
        )
        yield _around(stack, live_server, tokens, login, tmp_path, clock)


@dataclass
class IssuerClock:
    """The issuer's time (datetimes) from the epoch clock the other parties share."""

    epoch: EpochClock

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), UTC)

    def timestamp(self) -> float:
        return self.epoch()

    def advance(self, seconds: float) -> None:
        self.epoch.advance(seconds)


@dataclass
class ServedIssuer:
    """The issuer as `running_console_stack` serves it (what tests use of conftest's
    `LiveServer`: url, data_dir, clock, app, client, runtime)."""

    url: str
    data_dir: Path
    clock: IssuerClock
    app: Any
    client: httpx.Client

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@contextlib.contextmanager
def running_console_stack(tmp_path: Path, database_url: str) -> Iterator[ConsoleStack]:
    """The stack with the issuer built as `mobileid serve` builds it with its console at
    `/console` (settings naming the stack's login service and the console's registration there;
    SMS in `<tmp_path>/data/dev-sms.log`), standard staff imported."""
    epoch = EpochClock()
    issuer_served = Served(None)  # its port held: the login service trusts its URL first
    with contextlib.ExitStack() as stack:
        stack.callback(issuer_served.stop)
        login = stack.enter_context(
            running_login(
                tmp_path,
                f"sqlite:///{tmp_path / 'login.sqlite3'}",
                epoch,
                _Issuer(issuer_served.url),
            )
        )
        registration = register_console(login, issuer_served.url)
        assert registration.secret is not None
        settings = issuer_settings(
            tmp_path,
            database_url,
            issuer_base_url=issuer_served.url,
            console_login_url=login.url,
            console_client_id=registration.client.client_id,
            console_client_secret_file=write_secret(
                tmp_path / "console-secret", registration.secret
            ),
            outbox_poll_s=0.05,
        )
        clock = IssuerClock(epoch)
        issuer_served.app = create_app(settings, clock=clock)
        issuer_served.start()
        client = stack.enter_context(httpx.Client(base_url=issuer_served.url, timeout=30))
        issuer = ServedIssuer(
            issuer_served.url, settings.data_dir, clock, issuer_served.app, client
        )
        tokens = seed(issuer, tmp_path)
        login.refresh()  # the issuer's keys, now that it answers
        yield _around(stack, issuer, tokens, login, tmp_path, epoch)


def _around(
    stack: contextlib.ExitStack,
    issuer: Any,
    tokens: Tokens,
    login: Login,
    tmp_path: Path,
    clock: Callable[[], float],
) -> ConsoleStack:
    """The central verifier and a gate reporting to it, beside `issuer` and `login`."""
    central_service = open_central_service(
        CentralConfig(
            trusted_issuers=(TrustedIssuer(issuer.url),),
            gate_token=GATE_TOKEN,
            allow_insecure_loopback=True,
        ),
        engine=create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}"),
        client=new_http_client(),
        clock=clock,
    )
    stack.callback(central_service.close)
    relay = FeedRelay([issuer.url], allow_insecure_loopback=True)
    central = Served(create_central_app(central_service, relay=relay)).start()
    stack.callback(central.stop)
    policy = parse_gate_policy(
        {
            "gate_id": GATE_ID,
            "site": "sejong",
            "trusted_issuers": [{"issuer": issuer.url}],
            "allow_insecure_loopback": True,
            "central_url": central.url,
            "central_token": GATE_TOKEN,
        },
        environ={},
    )
    gate_dir = tmp_path / "gate"
    gate_dir.mkdir(mode=0o700)
    gate_service = build_gate(
        policy,
        engine=create_db_engine(f"sqlite:///{gate_dir / 'gate.sqlite3'}"),
        client=new_http_client(),
        clock=clock,
    )
    gate_service.refresher.run_once()  # what its background refresher does first
    # As `mobileid gate run` does: the change feed (through the central relay) and the worker
    # uploading entry records; the app closes the service.
    gate = Served(create_gate_app(gate_service, feed=GateFeed(gate_service))).start()
    stack.callback(gate.stop)
    return ConsoleStack(
        issuer,
        tokens,
        login,
        gate,
        gate_service,
        policy,
        central,
        central_service,
        tmp_path,
        _stack=stack,
    )
