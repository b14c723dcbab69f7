"""Back-channel logout, `sid` and RP-initiated logout over real HTTP: the wallet simulator logs in
to registered clients through the bridge; a status change at the issuer, or a logout at the
login service, sends each client with a `backchannel_logout_uri` a logout token (checked with
joserfc); a client without one, or one that is down, holds up nobody."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gate_kit import wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from login_kit import Login, login_world, make_wallet
from logout_kit import checked_logout_token, id_token_claims, listening, log_in
from oidc_kit import RP_REDIRECT, add_client
from sqlalchemy import select

from vc.status_list import SUSPENDED
from verifier.login.clients import ClientError
from verifier.login.models import oidc_logouts, oidc_sessions

AFTER_LOGOUT = "http://127.0.0.1:9/logged-out"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Any:
    with login_world(tmp_path, database_url, purge_every_s=0.3) as login:
        yield login


def _sessions(login: Login) -> dict[str, Any]:
    with login.db() as db:
        return {row.client_id: row for row in db.execute(select(oidc_sessions))}


def _logouts(login: Login) -> dict[str, Any]:
    with login.db() as db:
        return {row.client_id: row for row in db.execute(select(oidc_logouts))}


def test_discovery_announces_logout(world: Login) -> None:
    config = world.http.get(world.url + "/.well-known/openid-configuration").json()
    assert config["end_session_endpoint"] == world.url + "/end_session"
    assert config["backchannel_logout_supported"] is True
    assert config["backchannel_logout_session_supported"] is True
    assert "sid" in config["claims_supported"]


def test_suspension_logs_out_every_client_and_a_failing_one_blocks_nobody(
    world: Login, tmp_path: Path
) -> None:
    wallet, idx = make_wallet(tmp_path / "phone", world.issuer, number="E8001")
    with listening() as good, listening(answer=500) as down:
        a = add_client(world, name="A", backchannel_logout_uri=good.url)
        c = add_client(world, name="C", backchannel_logout_uri=down.url, id_token_alg="ES256")
        quiet = add_client(world, name="no back-channel")
        sid_a = id_token_claims(world, log_in(world, a, wallet)["id_token"])["sid"]
        log_in(world, c, wallet)
        log_in(world, quiet, wallet)
        assert {s.ended_at for s in _sessions(world).values()} == {None}

        world.issuer.set_status(idx, SUSPENDED)
        world.status_changed()  # past the list's ttl: the sweep, not the feed, sees it
        (token,) = wait_until(good.tokens, "the logout token at client A")
        claims = checked_logout_token(world, token, a.client.client_id)
        assert claims["sid"] == sid_a
        assert claims["sub"] == _sessions(world)[a.client.client_id].sub
        wait_until(
            lambda: _logouts(world)[c.client.client_id].state == "failed", "C's retries to end"
        )
        assert len(down.tokens()) == 4  # the first attempt and three retries, same token
        assert len(set(down.tokens())) == 1
        checked_logout_token(world, down.tokens()[0], c.client.client_id)
        assert len(good.tokens()) == 1
    sessions = _sessions(world)
    assert {s.end_reason for s in sessions.values()} == {"suspended"}
    logouts = _logouts(world)
    assert set(logouts) == {a.client.client_id, c.client.client_id}  # none for the quiet one
    assert (logouts[a.client.client_id].state, logouts[a.client.client_id].attempts) == (
        "delivered",
        1,
    )
    assert logouts[c.client.client_id].last_error == "HTTP 500"


def test_end_session_with_a_hint_logs_the_person_out_everywhere(
    world: Login, tmp_path: Path
) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, number="E8002")
    other, _ = make_wallet(tmp_path / "other", world.issuer, number="E8003")
    with listening() as rp_a, listening() as rp_b:
        a = add_client(
            world, backchannel_logout_uri=rp_a.url, post_logout_redirect_uris=[AFTER_LOGOUT]
        )
        b = add_client(world, name="B", backchannel_logout_uri=rp_b.url)
        hint = log_in(world, a, wallet)["id_token"]
        log_in(world, b, wallet)
        log_in(world, b, other)  # another person's session stays
        answer = world.http.get(
            world.url + "/end_session",
            params={
                "id_token_hint": hint,
                "post_logout_redirect_uri": AFTER_LOGOUT,
                "state": "st-1",
            },
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == AFTER_LOGOUT + "?state=st-1"
        (token_a,) = wait_until(rp_a.tokens, "A's logout token")
        (token_b,) = wait_until(rp_b.tokens, "B's logout token")
    assert (
        checked_logout_token(world, token_a, a.client.client_id)["sid"]
        == (id_token_claims(world, hint)["sid"])
    )
    checked_logout_token(world, token_b, b.client.client_id)
    with world.db() as db:
        rows = db.execute(select(oidc_sessions)).all()
    ended = {(r.employee_number, r.end_reason) for r in rows}
    assert ended == {("E8002", "logout"), ("E8003", None)}


def test_end_session_without_a_valid_hint(world: Login, tmp_path: Path) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, number="E8004")
    a = add_client(world, post_logout_redirect_uris=[AFTER_LOGOUT])
    b = add_client(world, name="B")
    hint = log_in(world, a, wallet)["id_token"]
    end = world.url + "/end_session"

    page = world.http.get(end)
    assert page.status_code == 200
    assert "로그아웃" in page.text and "Log out" in page.text
    assert "id='continue'" not in page.text
    page = world.http.get(
        end,
        params={
            "client_id": a.client.client_id,
            "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "s",
        },
    )
    assert page.status_code == 200 and f"href='{AFTER_LOGOUT}?state=s'" in page.text

    head, payload, signature = hint.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    refused = [
        {"id_token_hint": forged},
        {"id_token_hint": "not-a-jwt"},
        {"id_token_hint": hint, "client_id": b.client.client_id},
        {"id_token_hint": hint, "post_logout_redirect_uri": RP_REDIRECT},
        {"post_logout_redirect_uri": AFTER_LOGOUT},
        {"client_id": "nobody", "post_logout_redirect_uri": AFTER_LOGOUT},
        {"client_id": b.client.client_id, "post_logout_redirect_uri": AFTER_LOGOUT},
    ]
    for params in refused:
        answer = world.http.get(end, params=params)
        assert answer.status_code == 400, params
        assert "로그아웃할 수 없습니다" in answer.text and "Traceback" not in answer.text
    repeated = world.http.get(end + "?state=a&state=b")
    assert repeated.status_code == 400
    assert _sessions(world)[a.client.client_id].ended_at is None  # nothing was ended

    # the same request as a form POST, without a back-channel: logged out, no delivery
    posted = world.http.post(
        end, data={"id_token_hint": hint, "post_logout_redirect_uri": AFTER_LOGOUT}
    )
    assert posted.status_code == 303 and posted.headers["location"] == AFTER_LOGOUT
    assert _sessions(world)[a.client.client_id].end_reason == "logout"
    assert _logouts(world) == {}
    again = world.http.get(end, params={"id_token_hint": hint})  # an expired or used hint
    assert again.status_code == 200 and "You are logged out" in again.text


def test_logout_metadata_is_checked_at_registration(world: Login) -> None:
    bad: list[dict[str, Any]] = [
        {"backchannel_logout_uri": "ftp://rp.example/logout"},
        {"backchannel_logout_uri": "https://rp.example/logout#frag"},
        {"backchannel_logout_session_required": True},
        {"post_logout_redirect_uris": ["http://rp.example/after"]},
    ]
    for values in bad:
        with pytest.raises(ClientError):
            add_client(world, **values)
    new = add_client(
        world,
        backchannel_logout_uri="https://rp.example/logout?x=1",
        backchannel_logout_session_required=True,
        post_logout_redirect_uris=["https://rp.example/after"],
    )
    assert new.client.to_json()["backchannel_logout_uri"] == "https://rp.example/logout?x=1"
    assert new.client.post_logout_redirect_uris == ("https://rp.example/after",)


class _Issuer:
    def __init__(self, url: str) -> None:
        self.url = url


@pytest.mark.slow
def test_revocation_at_the_issuer_reaches_the_client_through_the_feed(
    live_server: Any, database_url: str, tmp_path: Path
) -> None:
    """The real issuer, its status feed, HR revoking: the client hears within seconds."""
    from gate_kit import Clock
    from issuer_kit import onboard_wallet, revoke_via_hr_api
    from login_kit import PIN, running_login

    from wallet_sim.store import WalletStore

    own_db = f"sqlite:///{tmp_path / 'login.sqlite3'}"
    login_db = own_db if database_url.startswith("sqlite") else database_url
    with (
        running_login(tmp_path, login_db, Clock(), _Issuer(live_server.url)) as login,  # type: ignore[arg-type]
        listening() as rp,
    ):
        onboard_wallet(live_server, tmp_path / "phone", PIN)
        wallet = WalletStore(tmp_path / "phone").unlock(PIN)
        wait_until(
            lambda: login.http.get(login.url + "/health").json()["status_list_ages"],
            "the issuer's list held",
        )
        with_channel = add_client(login, backchannel_logout_uri=rp.url)
        without = add_client(login, name="no back-channel")
        sid = id_token_claims(login, log_in(login, with_channel, wallet)["id_token"])["sid"]
        log_in(login, without, wallet)

        revoke_via_hr_api(live_server, "E1002", comment="back-channel logout test")
        (token,) = wait_until(rp.tokens, "the logout token after the revocation")
        claims = checked_logout_token(login, token, with_channel.client.client_id)
        assert claims["sid"] == sid
        sessions = _sessions(login)
        assert {s.end_reason for s in sessions.values()} == {"revoked"}
        assert set(_logouts(login)) == {with_channel.client.client_id}


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
LOGOUT_PARAMS = ["client_id", "post_logout_redirect_uri", "state"]
JWS_ISH = st.lists(st.text("ABCabc-_0123456789", min_size=1, max_size=30), min_size=3, max_size=3)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    hint=st.one_of(TEXT, JWS_ISH.map(".".join)),
    extra=st.dictionaries(st.sampled_from(LOGOUT_PARAMS), TEXT),
)
def test_garbage_hints_never_break_end_session(
    world: Login, hint: str, extra: dict[str, str]
) -> None:
    answer = world.http.get(world.url + "/end_session", params={"id_token_hint": hint, **extra})
    assert answer.status_code in (200, 400), answer.text[:300]
    assert "Traceback" not in answer.text
