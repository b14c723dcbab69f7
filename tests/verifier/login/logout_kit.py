"""A relying system's back-channel for the logout tests: a listener on 127.0.0.1 that records the
logout tokens POSTed to it, and an independent check of each token with joserfc (as a client
library would check it: signature against the JWKS, `typ`, `iss`, `aud`, `events`, no `nonce`).
Refusing a replayed `jti` is the client's business (Back-Channel Logout 1.0 §2.6), not ours."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from gate_kit import Served
from joserfc import jwt
from joserfc.jwk import KeySet
from login_kit import Login
from oidc_kit import begin, redeem, wallet_answers

from verifier.login.clients import NewClient

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass
class Listener:
    """What one relying system's back-channel endpoint received."""

    url: str
    answer: int = 200
    received: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tokens(self) -> list[str]:
        with self.lock:
            return [token for _, token in self.received]


@contextlib.contextmanager
def listening(answer: int = 200) -> Iterator[Listener]:
    """A back-channel endpoint at `<url>/backchannel` answering `answer` to every POST."""
    served = Served(None)
    listener = Listener(served.url + "/backchannel", answer)
    app = FastAPI()

    @app.post("/backchannel")
    async def backchannel(request: Request) -> Response:
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs((await request.body()).decode("ascii"))
        with listener.lock:
            listener.received.append((time.time(), form["logout_token"][0]))
        return Response(status_code=listener.answer)

    served.app = app
    served.start()
    try:
        yield listener
    finally:
        served.stop()


def checked_logout_token(login: Login, token: str, client_id: str) -> dict[str, Any]:
    """The claims of a logout token, checked independently of our code (joserfc)."""
    keys = KeySet.import_key_set(login.http.get(login.url + "/jwks.json").json())
    decoded = jwt.decode(token, keys, algorithms=["RS256", "ES256"])
    assert decoded.header["typ"] == "logout+jwt"
    registry = jwt.JWTClaimsRegistry(
        now=int(login.clock()),  # the tests' clock, which they advance
        iss={"essential": True, "value": login.url},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
        sid={"essential": True},
        events={"essential": True},
    )
    registry.validate(decoded.claims)
    assert decoded.claims["events"] == {EVENT: {}}
    assert "nonce" not in decoded.claims
    return dict(decoded.claims)


def id_token_claims(login: Login, id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(login.http.get(login.url + "/jwks.json").json())
    return dict(jwt.decode(id_token, keys, algorithms=["RS256", "ES256"]).claims)


def log_in(login: Login, new: NewClient, wallet: Any) -> dict[str, Any]:
    """The wallet logs in to `new` through the bridge; the client's token response."""
    attempt = begin(login, new)
    try:
        return redeem(attempt, wallet_answers(login, attempt, wallet, same_device=False))
    finally:
        attempt.close()
