"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.6): every check of the logout
token with its own refusal, a replayed `jti`, an unknown `sid`; over HTTP, the endpoint closes
the work session at that moment and signs the browser out."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey, KeySet
from rw_kit import (
    CLIENT_ID,
    EMPLOYEE,
    LOGIN,
    SID,
    LoginKeysServed,
    System,
    approve_today,
    csrf,
    records,
    sign_in,
)

from remote_work.backchannel import accept_logout, verify_logout_token
from remote_work.errors import RemoteWorkError
from remote_work.work import record_signin

CASES = [
    pytest.param({"typ": "JWT"}, "typ", id="wrong_typ"),
    pytest.param({"iss": "http://evil.test"}, "iss", id="wrong_iss"),
    pytest.param({"aud": "other-client"}, "aud", id="wrong_aud"),
    pytest.param({"iat": None}, "iat", id="no_iat"),
    pytest.param({"iat": "now"}, "iat", id="iat_not_a_number"),
    pytest.param({"iat_offset": 3600}, "iat", id="iat_in_the_future"),
    pytest.param({"iat_offset": -3600}, "iat", id="iat_too_old"),
    pytest.param({"exp_offset": -120}, "expired", id="expired"),
    pytest.param({"jti": None}, "jti", id="no_jti"),
    pytest.param({"events": None}, "events", id="no_events"),
    pytest.param({"events": {"http://other/event": {}}}, "events", id="other_event"),
    pytest.param(
        {"events": {"http://schemas.openid.net/event/backchannel-logout": 1}},
        "events",
        id="event_not_an_object",
    ),
    pytest.param({"sid": None, "sub": None}, "neither", id="no_sid_no_sub"),
    pytest.param({"nonce": "n"}, "nonce", id="nonce"),
]


def _token(login: LoginKeysServed, now: float, **changes: object) -> str:
    iat_offset = changes.pop("iat_offset", 0)
    exp_offset = changes.pop("exp_offset", None)
    if iat_offset:
        changes["iat"] = int(now) + int(iat_offset)  # type: ignore[call-overload]
    if exp_offset is not None:
        changes.setdefault("iat", int(now) - 100)
        changes["exp"] = int(now) + int(exp_offset)  # type: ignore[call-overload]
    changes.setdefault("sid", SID)
    return login.logout_token(now, **changes)


def _verify(token: str, keys: KeySet, now: float) -> object:
    return verify_logout_token(token, keys, issuer=LOGIN, client_id=CLIENT_ID, now=now)


def test_a_good_token_is_accepted() -> None:
    login = LoginKeysServed()
    keys = KeySet([login.key])
    claims = _verify(_token(login, 1_800_000_000), keys, 1_800_000_000)
    assert claims.sid == SID and claims.sub == EMPLOYEE  # type: ignore[attr-defined]


@pytest.mark.parametrize(("changes", "detail"), CASES)
def test_each_check_refuses_a_bad_token(changes: dict[str, object], detail: str) -> None:
    login = LoginKeysServed()
    now = 1_800_000_000
    with pytest.raises(RemoteWorkError) as caught:
        _verify(_token(login, now, **changes), KeySet([login.key]), now)
    assert caught.value.code == "invalid_logout_token"
    assert detail in caught.value.detail


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "a" * 9000, "eyJhbGciOiJub25lIn0.eyJ9.", "x.y.z.w.v"],
)
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(RemoteWorkError) as caught:
        _verify(token, KeySet([LoginKeysServed().key]), 1_800_000_000)
    assert caught.value.code == "invalid_logout_token"


def test_a_token_signed_by_another_key_is_refused() -> None:
    login = LoginKeysServed()
    stranger = LoginKeysServed(key=ECKey.generate_key("P-256", {"kid": "k1"}))
    with pytest.raises(RemoteWorkError) as caught:
        _verify(_token(stranger, 1_800_000_000), KeySet([login.key]), 1_800_000_000)
    assert caught.value.detail.startswith("signature")


def test_replays_and_unknown_sids_are_refused(system: System) -> None:
    now = system.clock()
    keys = KeySet([system.login.key])
    claims = _verify(_token(system.login, now), keys, now)
    with system.db() as db, pytest.raises(RemoteWorkError) as caught:
        accept_logout(db, claims, now=now)  # type: ignore[arg-type]
    assert caught.value.code == "unknown_sid"
    with system.db() as db:
        record_signin(
            db, employee_number=EMPLOYEE, name="홍", department=None, amr=[], sid=SID, now=now
        )
    with system.db() as db:
        assert accept_logout(db, claims, now=now) == 0  # type: ignore[arg-type]
    with system.db() as db, pytest.raises(RemoteWorkError) as caught:
        accept_logout(db, claims, now=now)  # type: ignore[arg-type]
    assert caught.value.code == "logout_token_replayed"


def test_the_endpoint_closes_the_session_and_signs_the_browser_out(system: System) -> None:
    approve_today(system)
    with system.browser() as browser:
        sid = sign_in(browser, EMPLOYEE)
        home = browser.get("/work")
        assert 'data-state="open"' in home.text and "mobile_id pin" in home.text
        system.clock.advance(1200)  # within the idle timeout
        token = _token(system.login, system.clock(), sid=sid)
        answer = browser.post("/backchannel-logout", data={"logout_token": token})
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        [record] = records(system)
        assert record.how == "backchannel_logout" and record.seconds(0) == 1200

        again = browser.post("/backchannel-logout", data={"logout_token": token})
        assert again.status_code == 400 and again.json()["error"] == "logout_token_replayed"
        for body in ({"logout_token": "x"}, {}):
            refused = browser.post("/backchannel-logout", data=body)
            assert refused.status_code == 400
            assert refused.json()["error"] == "invalid_logout_token"

        after = browser.get("/work")  # the browser's session ended with the login
        assert after.status_code == 401 and "session_ended" in after.text
        assert browser.get("/work").status_code == 303  # and now it is simply signed out
    assert system.login.fetches == 1


def test_a_new_login_key_is_fetched_at_most_every_30_seconds(system: System) -> None:
    approve_today(system)
    with system.browser() as browser:
        for sid in ("s1", "s2"):
            sign_in(browser, EMPLOYEE, sid=sid)

        def logout(sid: str) -> int:
            token = _token(system.login, system.clock(), sid=sid)
            return browser.post("/backchannel-logout", data={"logout_token": token}).status_code

        assert logout("s1") == 200
        system.login.key = ECKey.generate_key("P-256", {"kid": "k2"})  # the service rotated
        assert logout("s2") == 400  # fetched again only after 30 s
        system.clock.advance(31)
        assert logout("s2") == 200
    assert system.login.fetches == 2


def test_signout_ends_the_work_session(system: System) -> None:
    approve_today(system)
    with system.browser() as browser:
        sign_in(browser, EMPLOYEE)
        system.clock.advance(60)
        token = csrf(browser, "/work")
        answer = browser.post("/work/signout", data={"csrf_token": token})
        assert answer.status_code == 303
    [record] = records(system)
    assert record.how == "signout" and record.seconds(0) == 60
