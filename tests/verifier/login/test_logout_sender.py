"""`LogoutSender` on an httpx mock transport: what counts as delivered, what is retried, what is
final, and that each attempt is recorded; one client's failures never hold up another's."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, insert, select

from mobileid.db import connection_transaction
from verifier.login.backchannel import LogoutSender
from verifier.login.models import oidc_logouts
from verifier.login.sessions import LogoutNotice
from verifier.migrate import upgrade_verifier_database

ANSWERS: dict[str, list[int | None]] = {
    "ok": [200],
    "no-content": [204],
    "refused": [400],
    "flaky": [503, None, 200],  # None: the connection fails
    "down": [500, 500, 500, 500],
}


@pytest.fixture
def engine(database_url: str) -> Any:
    eng = create_engine(database_url)
    upgrade_verifier_database(eng, "login")
    yield eng
    eng.dispose()


def test_deliveries_are_recorded_retried_or_final(engine: Any) -> None:
    seen: dict[str, list[str]] = {name: [] for name in ANSWERS}

    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.strip("/")
        seen[name].append(request.content.decode())
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        status = ANSWERS[name][len(seen[name]) - 1]
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    notices = [
        LogoutNotice(f"jti-{name}", name, f"https://rp.example/{name}", f"h.{name}.s")
        for name in ANSWERS
    ]
    with engine.begin() as db:
        for n in notices:
            db.execute(
                insert(oidc_logouts).values(
                    jti=n.jti,
                    sid="sid",
                    client_id=n.client_id,
                    uri=n.uri,
                    token=n.token,
                    state="pending",
                    attempts=0,
                    created_at=time.time(),
                )
            )

    async def run() -> None:
        sender = LogoutSender(
            partial(connection_transaction, engine),
            clock=time.time,
            transport=httpx.MockTransport(answer),
            retry_delays_s=(0.0, 0.0, 0.0),
        )
        sender.send(notices)
        await sender.drain()
        await sender.stop()

    asyncio.run(run())
    with engine.connect() as db:
        rows = {r.client_id: r for r in db.execute(select(oidc_logouts))}
    outcome = {name: (r.state, r.attempts, r.last_error) for name, r in rows.items()}
    assert outcome == {
        "ok": ("delivered", 1, None),
        "no-content": ("delivered", 1, None),
        "refused": ("failed", 1, "HTTP 400"),
        "flaky": ("delivered", 3, None),
        "down": ("failed", 4, "HTTP 500"),
    }
    assert seen["flaky"] == ["logout_token=h.flaky.s"] * 3
