"""Console roles asked of the issuer over HTTP: the request, the 30 s cache, refusals, and a
gate console whose issuer is down (a 503 page that says so)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from display_kit import display_app, signed_in
from gate_kit import Clock, gate_policy, make_gate, serve

from console.viewer import Grant
from console.web import ConsoleError
from verifier.grants import IssuerGrants, parse_grants

ISSUER = "https://issuer.example"


class Issuer:
    """The issuer's grants endpoint, answering from a dict (or with `status`)."""

    def __init__(self) -> None:
        self.grants: dict[str, list[dict[str, Any]]] = {}
        self.status = 200
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        number = request.url.path.rsplit("/", 1)[-1]
        if self.status != 200:
            return httpx.Response(self.status)
        if number not in self.grants:
            return httpx.Response(404, json={"error": "not_found"})
        body = {"employee_number": number, "name": "홍길동", "grants": self.grants[number]}
        return httpx.Response(200, json=body)


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def source(issuer: Issuer, clock: Monotonic, ttl_s: float = 30.0) -> IssuerGrants:
    return IssuerGrants(
        ISSUER,
        "grant-reader-token",
        ttl_s=ttl_s,
        clock=clock,
        transport=httpx.MockTransport(issuer),
    )


def test_grants_are_asked_with_the_token_and_kept_30_s_at_most() -> None:
    issuer, clock = Issuer(), Monotonic()
    issuer.grants["E1"] = [{"role": "gate_operator", "scope": "g1"}]
    grants = source(issuer, clock, ttl_s=3600)  # asked for an hour: 30 s it is

    async def run() -> list[object]:
        seen = [await grants("E1")]
        issuer.grants["E1"] = []  # revoked
        clock.now += 29
        seen.append(await grants("E1"))
        clock.now += 2
        seen.append(await grants("E1"))
        await grants.aclose()
        return seen

    first, cached, after = asyncio.run(run())
    assert first == cached == (Grant("gate_operator", "g1"),) and after == ()
    assert len(issuer.requests) == 2
    request = issuer.requests[0]
    assert str(request.url) == f"{ISSUER}/console/api/grants/E1"
    assert request.headers["authorization"] == "Bearer grant-reader-token"


def test_an_employee_number_is_one_path_segment() -> None:
    issuer, clock = Issuer(), Monotonic()
    grants = source(issuer, clock)
    assert asyncio.run(grants("../admin?x=1")) == ()
    assert issuer.requests[0].url.raw_path == b"/console/api/grants/..%2Fadmin%3Fx%3D1"


@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_an_issuer_that_refuses_is_a_503(status: int) -> None:
    issuer, clock = Issuer(), Monotonic()
    issuer.status = status
    with pytest.raises(ConsoleError) as caught:
        asyncio.run(source(issuer, clock)("E1"))
    assert caught.value.status == 503 and caught.value.code == "grants_unavailable"


@pytest.mark.parametrize("body", [b"<html>", b'{"grants": "all"}'])
def test_an_answer_that_is_not_grants_is_a_503(body: bytes) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, content=body))
    grants = IssuerGrants(ISSUER, "t", transport=transport)
    with pytest.raises(ConsoleError) as caught:
        asyncio.run(grants("E1"))
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("grants", "expected"),
    [
        pytest.param([], (), id="none"),
        pytest.param(
            [{"role": "hr_admin"}, {"role": "gate_operator", "scope": "g", "since": 1}],
            (Grant("hr_admin"), Grant("gate_operator", "g")),
            id="scoped_and_not",
        ),
    ],
)
def test_parse_grants(grants: list[object], expected: tuple[Grant, ...]) -> None:
    assert parse_grants({"employee_number": "E1", "name": "홍길동", "grants": grants}) == expected


@pytest.mark.parametrize(
    "body",
    [
        [],
        None,
        {"employee_number": "E1", "name": "x", "roles": []},
        {"employee_number": "E1", "name": "x", "grants": "all"},
        {"employee_number": "E1", "name": "x", "grants": [{"role": 1}]},
        {"employee_number": "E1", "name": "x", "grants": [{"role": "x", "scope": 2}]},
        {"employee_number": "E1", "name": "x", "grants": ["gate_operator"]},
    ],
)
def test_an_answer_of_another_shape_is_refused(body: object) -> None:
    with pytest.raises(ValueError):
        parse_grants(body)


def test_the_gate_console_says_so_when_the_issuer_is_down(tmp_path: Path) -> None:
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, Clock(), online=False)
    with (
        serve(display_app(service, IssuerGrants("http://127.0.0.1:9", "t"))) as gate,
        signed_in(gate.url) as client,
    ):
        response = client.get("/display")
    assert response.status_code == 503
    assert "<code>grants_unavailable</code>" in response.text
    assert "발급 서버에 연결할 수 없어" in response.text
