"""Test kit for the gate's console: a gate app with its console, a sign-in shortcut for tests
that are not about signing in, and a reader of Server-Sent Events off a real HTTP stream."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from server_kit import Served, serve_app
from sqlalchemy import Connection

from console.viewer import Grant, RoleSource
from console.web import Console, SignInConfig
from mobileid.gate_app import create_gate_app
from verifier.gate.console import gate_console
from verifier.gate.service import GateService
from verifier.login.clients import NewClient, register_client

GATE_ID = "sejong-06-east-01"
OPERATOR = "E9001"


@dataclass
class Roles:
    """Grants by employee number, as the issuer would answer."""

    grants: dict[str, list[Grant]] = field(default_factory=dict)

    async def __call__(self, employee_number: str) -> Sequence[Grant]:
        return list(self.grants.get(employee_number, ()))


def operator_roles(scope: str | None = GATE_ID) -> Roles:
    return Roles({OPERATOR: [Grant("gate_operator", scope)], "E0002": [Grant("employee")]})


def register_gate_console(db: Connection, gate_url: str) -> NewClient:
    """The gate's console registered at a login service, as every console is: a business system
    whose `sub` is the employee number, shown the name."""
    return register_client(
        db,
        name="출입 게이트 콘솔 / Gate console",
        redirect_uris=[f"{gate_url}/console/callback"],
        allowed_claims=["name"],
        subject_type="employee_number",
        now=time.time(),
    )


def console_for(service: GateService, roles: RoleSource) -> Console:
    return gate_console(
        service,
        roles=roles,
        signin=SignInConfig("http://127.0.0.1:9", "gate-console", None, "http://127.0.0.1"),
        session_secret=b"s" * 32,
        secure_cookies=False,
    )


def display_app(service: GateService, roles: RoleSource) -> FastAPI:
    """The gate's app with its console, plus `/test-signin/{number}` starting a session."""
    console = console_for(service, roles)
    app = create_gate_app(service, worker_factory=None, console=console)

    @app.get("/test-signin/{number}")
    async def test_signin(request: Request, number: str) -> Response:
        console.sign_in(request, number, f"직원 {number}", amr=["test"])
        return Response(status_code=204)

    return app


@contextmanager
def signed_in(url: str, number: str = OPERATOR) -> Iterator[httpx.Client]:
    """A browser (cookies kept) signed in at the gate as `number`."""
    with httpx.Client(base_url=url, timeout=20) as client:
        assert client.get(f"/test-signin/{number}").status_code == 204
        yield client


@contextmanager
def watching(
    service: GateService, roles: RoleSource | None = None
) -> Iterator[tuple[Served, httpx.Response, Iterator[str]]]:
    """The gate served, and an operator's display stream open on it: (gate, response, events)."""
    with (
        serve_app(display_app(service, roles or operator_roles())) as gate,
        signed_in(gate.url) as client,
        client.stream("GET", "/display/events") as stream,
    ):
        yield gate, stream, sse(stream)


def sse(response: httpx.Response) -> Iterator[str]:
    """Each event's data (lines joined), and each comment as `:<text>`, as they arrive."""
    data: list[str] = []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield line
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            yield "\n".join(data)
            data = []
