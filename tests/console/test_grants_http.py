"""Grants over HTTP for consoles outside the issuer: asked with the reader's token, kept at most
30 s, none for someone HR does not know, and a page refused (never shown with stale roles) when
the issuer cannot answer."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from console_kit import Clock

from console.grants_http import IssuerGrants
from console.viewer import Grant
from console.web import ConsoleError

ISSUER = "http://issuer.test"


class FakeIssuer:
    """The issuer's `GET /console/api/grants/{n}` as a transport: answers from `grants`."""

    def __init__(self) -> None:
        self.grants: dict[str, list[dict[str, Any]]] = {}
        self.asked: list[httpx.Request] = []
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        if request.headers.get("authorization") != "Bearer reader-token":
            return httpx.Response(401, json={"error": "unauthorized"})
        number = request.url.path.rsplit("/", 1)[-1]
        if number not in self.grants:
            return httpx.Response(404, json={"error": "employee_not_found"})
        return httpx.Response(
            200, json={"employee_number": number, "name": "홍길동", "grants": self.grants[number]}
        )


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


def _source(issuer: FakeIssuer, clock: Clock, **kwargs: Any) -> IssuerGrants:
    transport = httpx.MockTransport(issuer.handle)
    return IssuerGrants(ISSUER, "reader-token", transport=transport, clock=clock, **kwargs)


def test_grants_are_read_and_kept_30_seconds(issuer: FakeIssuer) -> None:
    clock = Clock()
    source = _source(issuer, clock, ttl_s=3600)  # asked for more: 30 s at most
    issuer.grants["E1"] = [{"role": "gate_operator", "scope": None}]
    assert asyncio.run(source("E1")) == (Grant("gate_operator"),)
    issuer.grants["E1"] = []  # revoked
    clock.advance(29)
    assert asyncio.run(source("E1")) == (Grant("gate_operator"),)
    clock.advance(2)
    assert asyncio.run(source("E1")) == ()
    assert [r.url.path for r in issuer.asked] == ["/console/api/grants/E1"] * 2


def test_someone_hr_does_not_know_holds_nothing(issuer: FakeIssuer) -> None:
    assert asyncio.run(_source(issuer, Clock())("E404")) == ()


def test_a_number_cannot_change_the_path(issuer: FakeIssuer) -> None:
    asyncio.run(_source(issuer, Clock())("../hr/me"))
    assert issuer.asked[0].url.raw_path == b"/console/api/grants/..%2Fhr%2Fme"


@pytest.mark.parametrize(
    "failure",
    ["down", "bad_token", "not_json", "bad_grant"],
)
def test_without_an_answer_the_page_is_refused(issuer: FakeIssuer, failure: str) -> None:
    source = _source(issuer, Clock())
    if failure == "down":
        issuer.down = True
    elif failure == "bad_token":
        source.headers["Authorization"] = "Bearer wrong"
    elif failure == "not_json":
        source.transport = httpx.MockTransport(lambda r: httpx.Response(200, text="<html>"))
    else:
        issuer.grants["E1"] = [{"role": 7}]
    with pytest.raises(ConsoleError) as refused:
        asyncio.run(source("E1"))
    assert (refused.value.status, refused.value.code) == (503, "grants_unavailable")
