"""Console roles read from the issuer (`verifier.grants.IssuerGrants`): the request it makes,
the cache of at most 30 s, and an issuer that cannot answer (a 503 page, never "no roles")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from console.viewer import Grant
from console.web import ConsoleError
from mobileid.login_app import ConsoleSetupError, open_login_console
from mobileid.settings import LoginSettings
from vc.private_files import UnsafePermissions
from verifier.grants import IssuerGrants


class Issuer:
    """The issuer's grants endpoint as a mock transport, counting what it was asked."""

    def __init__(self) -> None:
        self.asked: list[httpx.Request] = []
        self.answer: httpx.Response = httpx.Response(
            200, json={"grants": [{"role": "login_admin", "scope": None}]}
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        return self.answer


def _grants(issuer: Issuer, now: list[float]) -> IssuerGrants:
    client = httpx.AsyncClient(transport=httpx.MockTransport(issuer))
    return IssuerGrants("https://id.example.go.kr/", "t0ken", client=client, clock=lambda: now[0])


def test_grants_are_asked_with_the_token_and_cached_at_most_30_s() -> None:
    issuer, now = Issuer(), [1000.0]
    grants = _grants(issuer, now)

    async def scenario() -> None:
        assert await grants("E 1/2") == (Grant("login_admin"),)
        assert await grants("E 1/2") == (Grant("login_admin"),)
        assert len(issuer.asked) == 1
        asked = issuer.asked[0]
        assert str(asked.url) == "https://id.example.go.kr/console/api/grants/E%201%2F2"
        assert asked.headers["authorization"] == "Bearer t0ken"
        issuer.answer = httpx.Response(200, json={"grants": []})  # the grant was revoked
        now[0] += 29.9
        assert await grants("E 1/2") == (Grant("login_admin"),)
        now[0] += 0.2
        assert await grants("E 1/2") == ()
        issuer.answer = httpx.Response(404, json={"error": "not_found"})
        assert await grants("E9") == ()
        await grants.aclose()

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="30"):
        IssuerGrants("https://id.example.go.kr", "t", cache_s=31)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, json={"error": "unauthorized"}),
        httpx.Response(200, content=b"<html>"),
        httpx.Response(200, json={"grants": [{"scope": "x"}]}),
        httpx.Response(200, json={"grants": "login_admin"}),
    ],
    ids=["refused", "not-json", "no-role", "not-a-list"],
)
def test_an_issuer_that_cannot_answer_is_a_503_not_no_roles(answer: httpx.Response) -> None:
    issuer, now = Issuer(), [0.0]
    issuer.answer = answer
    grants = _grants(issuer, now)

    async def scenario() -> None:
        with pytest.raises(ConsoleError) as caught:
            await grants("E1")
        assert (caught.value.status, caught.value.code) == (503, "grants_unavailable")
        await grants.aclose()

    asyncio.run(scenario())


def test_the_console_refuses_unusable_settings(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken")
    token.chmod(0o644)
    values = {
        "data_dir": tmp_path / "login",
        "console_client_id": "login-console",
        "console_issuer_url": "http://127.0.0.1:9",
        "console_grant_token_file": token,
    }
    with pytest.raises(UnsafePermissions):
        open_login_console(LoginSettings(**values, allow_insecure_loopback=True))
    token.chmod(0o600)
    with pytest.raises(ConsoleSetupError, match="ISSUER_URL"):  # http, not loopback-allowed
        open_login_console(LoginSettings(**values))
    with pytest.raises(ConsoleSetupError, match="cannot be read"):
        open_login_console(
            LoginSettings(
                **{**values, "console_grant_token_file": tmp_path / "absent"},
                allow_insecure_loopback=True,
            )
        )
    with pytest.raises(ValueError, match="GRANT_TOKEN_FILE"):
        LoginSettings(data_dir=tmp_path, console_client_id="login-console")
