"""The remote-work system in tests: its app on a fresh database with a clock the test moves, a
login service's keys served by a mock transport (discovery + JWKS) and logout tokens signed with
them, and a sign-in helper that runs the console's sign-in and the system's hook as the callback
does after Authlib has checked the ID token."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from joserfc import jwt
from joserfc.jwk import ECKey
from server_kit import serve_app

from mobileid.remote_work_app import OpenRemoteWork, create_remote_work_app, open_remote_work
from mobileid.settings import RemoteWorkSettings
from remote_work.backchannel import BACKCHANNEL_LOGOUT_EVENT
from remote_work.plans import HOME, KST, PlanRequest, decide_plan, file_plan
from remote_work.web import on_signin
from remote_work.work import WorkRecord, start_work, work_records

LOGIN = "http://login.test"
CLIENT_ID = "remote-work"
DEPARTMENT = "디지털정부국"
HEAD = "19990001"
EMPLOYEE = "20240001"
OTHER_HEAD = "19990002"
HEADS = {DEPARTMENT: [HEAD], "인사과": [OTHER_HEAD]}
CENTRES = {"sejong-1": "세종 스마트워크센터"}


@dataclass
class Clock:
    """Unix seconds the test sets and moves; starts at 09:00 KST on a fixed Monday."""

    now: float = field(
        default_factory=lambda: datetime.combine(date(2026, 12, 7), time(9), KST).timestamp()
    )

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def today(self) -> date:
        return datetime.fromtimestamp(self.now, KST).date()

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)


@dataclass
class LoginKeysServed:
    """The login service's signing key and a transport serving its discovery document and JWKS."""

    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", {"kid": "k1"}))
    fetches: int = 0

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/.well-known/openid-configuration":
                return httpx.Response(200, json={"issuer": LOGIN, "jwks_uri": f"{LOGIN}/jwks"})
            if request.url.path == "/jwks":
                self.fetches += 1
                return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
            return httpx.Response(404)

        return httpx.MockTransport(handle)

    def logout_token(self, now: float, **changes: Any) -> str:
        """A valid logout token for `sid` (changes: claims to set; None removes one; `typ`)."""
        typ = changes.pop("typ", "logout+jwt")
        claims: dict[str, Any] = {
            "iss": LOGIN,
            "aud": CLIENT_ID,
            "iat": int(now),
            "exp": int(now) + 120,
            "jti": secrets.token_urlsafe(12),
            "sub": EMPLOYEE,
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        }
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode({"alg": "ES256", "typ": typ, "kid": self.key.kid}, claims, self.key)


@dataclass
class System:
    opened: OpenRemoteWork
    app: FastAPI
    clock: Clock
    login: LoginKeysServed

    @property
    def rw(self) -> Any:
        return self.opened.remote_work

    @contextlib.contextmanager
    def browser(self) -> Iterator[httpx.Client]:
        """The app served on 127.0.0.1 and a browser (cookies kept, redirects not followed)."""
        with serve_app(self.app) as served, httpx.Client(base_url=served.url, timeout=10) as c:
            yield c

    def db(self) -> Any:
        return self.rw.unit_of_work()


SID = "sid-1"


def approve_today(system: System, days: int = 1) -> str:
    with system.db() as db:
        plan = file_plan(
            db,
            employee_number=EMPLOYEE,
            employee_name="홍길동",
            department=DEPARTMENT,
            request=PlanRequest(system.clock.today, system.clock.day(days - 1), HOME, "업무"),
            centres=frozenset(),
            now=system.clock(),
        )
        decide_plan(
            db,
            system.rw.heads,
            plan_id=plan.id,
            head=HEAD,
            decision="approved",
            comment="",
            now=system.clock(),
        )
    return plan.id


def start(system: System, sid: str = SID) -> str:
    with system.db() as db:
        return start_work(
            db, employee_number=EMPLOYEE, sid=sid, amr=["mobile_id"], now=system.clock()
        )


def records(system: System) -> list[WorkRecord]:
    with system.db() as db:
        return work_records(db, EMPLOYEE)


def sign_in(
    client: httpx.Client,
    number: str,
    *,
    name: str = "홍길동",
    department: str | None = DEPARTMENT,
    sid: str | None = None,
    amr: tuple[str, ...] = ("mobile_id", "pin"),
) -> str:
    """Sign `client` in as `number` with a new login `sid` (returned)."""
    sid = sid or secrets.token_urlsafe(8)
    answer = client.post(
        "/test-signin",
        json={"sub": number, "name": name, "department": department, "sid": sid, "amr": amr},
        follow_redirects=False,
    )
    assert answer.status_code == 204, answer.text
    return sid


def csrf(client: httpx.Client, path: str = "/work/plans") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def build_system(tmp_path: Path, database_url: str, **settings: Any) -> Iterator[System]:
    clock = Clock()
    login = LoginKeysServed()
    opened = open_remote_work(
        RemoteWorkSettings(
            data_dir=tmp_path / "remote-work",
            database_url=database_url,
            login_url=LOGIN,
            client_id=CLIENT_ID,
            department_heads=HEADS,
            centres=CENTRES,
            **settings,
        ),
        clock=clock,
        login_client_kwargs={"transport": login.transport()},
    )
    app = create_remote_work_app(opened, sweep=False)

    async def test_signin(request: Request) -> Response:
        claims = await request.json()
        opened.console.sign_in(
            request, claims["sub"], claims["name"], amr=claims["amr"], sid=claims["sid"]
        )
        await on_signin(request, claims)
        return Response(status_code=204)

    app.add_api_route("/test-signin", test_signin, methods=["POST"])
    try:
        yield System(opened, app, clock, login)
    finally:
        opened.close()
