"""Brute force against the login service's secrets, written as the attack: guessing an OIDC client
secret at `/token`, a session's handle at `/oid4vp/sessions/<id>/result`, the desks' API token at
`POST /oid4vp/sessions`. After the limit the source is refused (429, `Retry-After`) even with the
right secret; other sources are not; two workers on one database share the count.

Sources are told apart by `X-Forwarded-For` as a reverse proxy on the same host would send it
(uvicorn honours it from 127.0.0.1 only, its default `FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from login_kit import API_TOKEN, Login, login_world, running_login
from oidc_kit import RP_REDIRECT, add_client
from sqlalchemy import select

from verifier.oid4vp.models import secret_failures

ATTACKER, BYSTANDER = "198.51.100.7", "198.51.100.8"


@dataclass
class Target:
    """One guarded secret: how to present a guess, the right value, and the answers."""

    present: Callable[[Login, str, str], httpx.Response]
    right: str
    accepted: int  # the status when the secret is right
    refused: tuple[int, str]  # status and error code when it is wrong


def _api_token(login: Login) -> Target:
    def present(at: Login, secret: str, source: str) -> httpx.Response:
        return at.http.post(
            f"{at.url}/oid4vp/sessions",
            json={"claims": ["name"]},
            headers={"Authorization": f"Bearer {secret}", "X-Forwarded-For": source},
        )

    return Target(present, API_TOKEN, 201, (401, "invalid_token"))


def _session_handle(login: Login) -> Target:
    session = login.session()

    def present(at: Login, secret: str, source: str) -> httpx.Response:
        return at.http.post(
            f"{at.url}/oid4vp/sessions/{session['id']}/result",
            headers={"Authorization": f"Bearer {secret}", "X-Forwarded-For": source},
        )

    return Target(present, session["handle"], 202, (404, "not_found"))


def _client_secret(login: Login) -> Target:
    new = add_client(login)
    assert new.secret is not None

    def present(at: Login, secret: str, source: str) -> httpx.Response:
        return at.http.post(
            f"{at.url}/token",
            data={
                "grant_type": "authorization_code",
                "code": "no-such-code",
                "redirect_uri": RP_REDIRECT,
                "code_verifier": "v" * 43,
            },
            auth=(new.client.client_id, secret),
            headers={"X-Forwarded-For": source},
        )

    # the right secret gets as far as the code, which is unknown: invalid_grant
    return Target(present, new.secret, 400, (401, "invalid_client"))


TARGETS = {
    "api_token": _api_token,
    "client_secret": _client_secret,
    "session_handle": _session_handle,
}


@contextlib.contextmanager
def two_workers(tmp_path: Path, database_url: str) -> Iterator[tuple[Login, Login]]:
    """Two login services (as two `login serve` processes) on one database and one clock."""
    with (
        login_world(tmp_path, database_url) as first,
        running_login(tmp_path / "second", database_url, first.clock, first.issuer) as second,
    ):
        yield first, second


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_brute_force_is_throttled(tmp_path: Path, database_url: str, kind: str) -> None:
    with two_workers(tmp_path, database_url) as (first, second):
        target = TARGETS[kind](first)
        limit = first.settings.throttle_max_failures
        window = first.settings.throttle_window_s

        # the attacker spreads its guesses over both workers: they count together
        answers = [
            target.present((first, second)[n % 2], f"guess-{n:04d}", ATTACKER) for n in range(limit)
        ]
        assert {(r.status_code, r.json()["error"]) for r in answers} == {target.refused}
        assert len({r.text for r in answers}) == 1

        for worker in (first, second):
            throttled = target.present(worker, "guess-more", ATTACKER)
            assert throttled.status_code == 429, throttled.text
            assert throttled.json()["error"] == "too_many_attempts"
            assert 1 <= int(throttled.headers["retry-after"]) <= window

        # another source is not affected, and its success resets nobody's count
        assert target.present(second, target.right, BYSTANDER).status_code == target.accepted
        wrong = target.present(first, "guess-bystander", BYSTANDER)
        assert (wrong.status_code, wrong.json()["error"]) == target.refused
        # while throttled, even the right secret is refused before it is looked at
        assert target.present(first, target.right, ATTACKER).status_code == 429

        first.clock.advance(window + 1)  # the window passes
        assert target.present(second, target.right, ATTACKER).status_code == target.accepted
        target.present(first, "guess-later", BYSTANDER)  # a failure purges closed windows
        with first.db() as db:
            rows = db.execute(select(secret_failures.c.source, secret_failures.c.failures)).all()
        assert [tuple(r) for r in rows] == [(BYSTANDER, 1)]
