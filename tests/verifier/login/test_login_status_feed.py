"""The login service on the real issuer's status-list change feed: started before the issuer's
first issuance, it holds the new list as soon as it is published (the first login is not refused
`stale_status` for a minute), and a revocation refuses the next login long before the list's
`ttl`. No clock is advanced here: only the feed can tell the login service."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate_kit import wait_until
from issuer_kit import onboard_wallet, revoke_via_hr_api
from login_kit import PIN, Login, running_login

from wallet_sim.errors import VerifierError
from wallet_sim.store import UnlockedWallet, WalletStore


class _Issuer:
    def __init__(self, url: str) -> None:
        self.url = url


def _health(login: Login) -> dict[str, Any]:
    return dict(httpx.get(login.url + "/health", timeout=10).json())


def _log_in(login: Login, wallet: UnlockedWallet) -> str:
    """One login in API mode; its outcome (`ok`, or why it failed)."""
    session = login.session()
    presenter = login.presenter()
    plan = presenter.resolve_request(session["link"], wallet)
    with contextlib.suppress(VerifierError):  # the wallet hears `access_denied`; the desk, why
        presenter.respond(plan, wallet)
    body = login.result(session).json()
    return str(body.get("reason", body["status"]))


@pytest.mark.slow
def test_login_follows_the_issuers_feed(
    live_server: Any, database_url: str, tmp_path: Path
) -> None:
    def clock() -> float:
        return float(live_server.clock().timestamp())

    own_db = f"sqlite:///{tmp_path / 'login.sqlite3'}"
    login_db = own_db if database_url.startswith("sqlite") else database_url
    with running_login(tmp_path, login_db, clock, _Issuer(live_server.url)) as login:
        health = _health(login)
        assert health["status_list_ages"] == []  # nothing issued yet: no list to hold
        (feed,) = wait_until(
            lambda: [f for f in _health(login)["status_feed"] if f["state"] == "connected"],
            "the login service to follow the issuer's feed",
        )
        assert feed["url"] == live_server.url + "/status-lists/events"

        onboard_wallet(live_server, tmp_path / "phone", PIN)  # the issuer's first list
        wallet = WalletStore(tmp_path / "phone").unlock(PIN)
        # discovery would find the list a minute from now; the feed announces it at once
        (held,) = wait_until(lambda: _health(login)["status_list_ages"], "the new list held")
        assert held["uri"].startswith(live_server.url + "/status-lists/")
        assert _log_in(login, wallet) == "ok"

        revoke_via_hr_api(live_server, "E1002", comment="login feed test")
        outcomes: list[str] = []

        def refused() -> bool:
            outcomes.append(_log_in(login, wallet))
            return outcomes[-1] != "ok"

        wait_until(refused, "the revocation to refuse a login")
        assert outcomes[-1] == "revoked"
        (state,) = _health(login)["status_feed"]
        assert state["state"] == "connected" and state["events"] >= 2


def test_the_feed_can_be_turned_off(tmp_path: Path) -> None:
    from gate_kit import Clock, running_issuer

    clock = Clock()
    with (
        running_issuer(clock) as (issuer, _),
        running_login(tmp_path, f"sqlite:///{tmp_path / 'l.sqlite3'}", clock, issuer) as on,
        running_login(
            tmp_path / "off",
            f"sqlite:///{tmp_path / 'off.sqlite3'}",
            clock,
            issuer,
            status_feed=False,
        ) as off,
    ):
        assert [f["url"] for f in _health(on)["status_feed"]] == [
            issuer.url + "/status-lists/events"
        ]
        assert _health(off)["status_feed"] == []
        assert [a["uri"] for a in _health(off)["status_list_ages"]] == [issuer.status_uri]
