"""HR API tokens as an attacker meets them: they expire (and are listed and revoked by operators),
a token cannot find out who exists outside its scope, and guessing tokens is throttled per source
across the workers of one database.

Sources are told apart by `X-Forwarded-For` as a reverse proxy on the same host would send it
(uvicorn honours it from 127.0.0.1 only, its default `FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from issuer_kit import bearer, seed
from lifecycle_kit import Office, run_issuer
from sqlalchemy import column as col
from sqlalchemy import create_engine, insert, select, table
from sqlalchemy.types import DateTime, Integer, String
from typer.testing import CliRunner

from issuer.migrate import upgrade_database
from issuer.models import ApiToken, AuditEntry, SecretFailures
from mobileid.cli import app as cli

ATTACKER, BYSTANDER = "198.51.100.7", "198.51.100.8"


def _cli(server: Any, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=server.env)
    assert result.exit_code == 0, result.output
    return result.output


def _listed(server: Any) -> dict[int, dict[str, Any]]:
    return {t["id"]: t for t in json.loads(_cli(server, "admin", "tokens", "list", "--json"))}


def _me(server: Any, token: str, source: str | None = None) -> httpx.Response:
    headers = bearer(token) | ({"X-Forwarded-For": source} if source else {})
    return server.client.get("/hr/me", headers=headers)


def test_api_tokens_expire(live_server, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seed(live_server, tmp_path)
    made = _cli(
        live_server,
        "admin",
        "create-token",
        "--role",
        "department_head",
        "--department",
        "D100",
        "--days",
        "1",
        "--label",
        "인사랑 연계",
    )
    short = made.strip().splitlines()[-1]
    lasting = _cli(live_server, "admin", "create-token", "--role", "hr_admin").strip()
    lasting = lasting.splitlines()[-1]
    assert _me(live_server, short).status_code == 200
    assert _me(live_server, lasting).status_code == 200

    listed = _listed(live_server)
    short_row = next(t for t in listed.values() if t["label"] == "인사랑 연계")
    lasting_row = max(listed.values(), key=lambda t: t["id"])
    life = {
        t["id"]: datetime.fromisoformat(t["expires_at"]) - datetime.fromisoformat(t["created_at"])
        for t in (short_row, lasting_row)
    }
    assert life == {short_row["id"]: timedelta(days=1), lasting_row["id"]: timedelta(days=90)}
    table_text = _cli(live_server, "admin", "tokens", "list")
    everything = table_text + json.dumps(listed)
    assert short not in everything and lasting not in everything and "token_hash" not in everything
    assert short_row["expires_at"][:10] in table_text
    assert max(len(line) for line in table_text.splitlines()) <= 80

    # a day later the short token is refused exactly like a token that never existed
    live_server.clock.advance(86400 + 1)
    caplog.set_level(logging.WARNING, logger="issuer.api_tokens")
    expired, unknown = _me(live_server, short), _me(live_server, "mid_" + "x" * 43)
    assert expired.status_code == unknown.status_code == 401
    assert expired.json() == unknown.json() and expired.json()["error"] == "unauthorized"
    assert expired.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    assert f"expired HR API token #{short_row['id']}" in caplog.text
    assert _me(live_server, lasting).status_code == 200

    # revoked by an operator: refused at once, the same way, and audited
    assert "revoked" in _cli(live_server, "admin", "tokens", "revoke", str(lasting_row["id"]))
    revoked = _me(live_server, lasting)
    assert (revoked.status_code, revoked.json()) == (401, unknown.json())
    assert _listed(live_server)[lasting_row["id"]]["state"] == "revoked"
    with live_server.runtime.unit_of_work() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke")).all()
    assert [(a.actor, a.subject) for a in audit] == [("cli", f"token:{lasting_row['id']}")]
    missing = CliRunner().invoke(cli, ["admin", "tokens", "revoke", "9999"], env=live_server.env)
    assert missing.exit_code == 1 and "not_found" in missing.output


def test_tokens_made_before_expiry_existed_expire_after_the_default_lifetime(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        upgrade_database(engine, "0004")
        created = datetime(2026, 1, 2, 3, 4, 5)
        old_tokens = table(
            "issuer_api_tokens",
            col("id", Integer),
            col("token_hash", String),
            col("role", String),
            col("label", String),
            col("created_at", DateTime),
        )
        with engine.begin() as conn:
            conn.execute(
                insert(old_tokens).values(
                    id=7, token_hash="0" * 64, role="hr_admin", label="", created_at=created
                )
            )
        upgrade_database(engine)
        with engine.connect() as conn:
            expires = conn.execute(select(ApiToken.__table__.c.expires_at)).scalar_one()
        assert expires.replace(tzinfo=None) == created + timedelta(days=90)
    finally:
        engine.dispose()


def test_not_found_does_not_reveal_who_exists(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    tokens = office.tokens
    d100 = office.issue("E1001")  # a credential of department D100
    pending = office.client.post(
        "/hr/applications", json={"phone": "010-1234-5678"}, headers=bearer(tokens.e1002)
    ).json()["id"]  # an application of D100
    client = office.client

    def post(path: str, **body: Any) -> Callable[[str], httpx.Response]:
        return lambda token: client.post(path, json=body, headers=bearer(token))

    def get(path: str) -> Callable[[str], httpx.Response]:
        return lambda token: client.get(path, headers=bearer(token))

    nobody, no_app, no_cred = "X0000", "f" * 32, "e" * 32
    # (who asks, what exists outside their scope, the same for something made up)
    probes = [
        (tokens.e1001, get("/hr/employees/E1002"), get(f"/hr/employees/{nobody}")),
        (tokens.head_d200, get("/hr/employees/E1001"), get(f"/hr/employees/{nobody}")),
        (
            tokens.head_d200,
            get("/hr/employees/E1001/credentials"),
            get(f"/hr/employees/{nobody}/credentials"),
        ),
        (tokens.head_d200, get(f"/hr/applications/{pending}"), get(f"/hr/applications/{no_app}")),
        *(
            (
                tokens.head_d200,
                post(f"/hr/applications/{pending}/{verb}", comment="x"),
                post(f"/hr/applications/{no_app}/{verb}", comment="x"),
            )
            for verb in ("approve", "reject")
        ),
        *(
            (
                tokens.head_d200,
                post(f"/hr/credentials/{d100.credential_id}/{verb}", reason=reason),
                post(f"/hr/credentials/{no_cred}/{verb}", reason=reason),
            )
            for verb, reason in (
                ("revoke", "phone_lost"),
                ("suspend", "investigation"),
                ("reinstate", "investigation_closed"),
            )
        ),
        (
            tokens.officer,  # E1002 is not dispatched to the officer's agency
            post("/hr/applications", employee_number="E1002", phone="010-1234-5678"),
            post("/hr/applications", employee_number=nobody, phone="010-1234-5678"),
        ),
    ]
    for n, (token, existing, made_up) in enumerate(probes):
        real, fake = existing(token), made_up(token)
        assert (n, real.status_code, real.json()) == (n, fake.status_code, fake.json())
        assert real.status_code == 404, (n, real.text)
    # and nothing was done to what exists
    assert office.state_of(d100) == "active"
    r = client.get(f"/hr/applications/{pending}", headers=bearer(tokens.head_d100))
    assert r.json()["state"] == "pending"


def test_brute_force_is_throttled(live_server, tmp_path: Path, monkeypatch) -> None:
    tokens = seed(live_server, tmp_path)
    settings = live_server.runtime.settings
    limit, window = settings.throttle_max_failures, settings.throttle_window_s
    unknown = _me(live_server, "mid_guess", ATTACKER)
    with run_issuer(live_server.env, 0) as second:  # another worker on the same database
        servers = (live_server, second)
        # guesses spread over both workers count together
        answers = [unknown] + [
            _me(servers[n % 2], f"mid_guess{n:04d}", ATTACKER) for n in range(1, limit)
        ]
        assert {(r.status_code, r.json()["error"]) for r in answers} == {(401, "unauthorized")}
        for server in servers:
            throttled = _me(server, "mid_guess-more", ATTACKER)
            assert throttled.status_code == 429, throttled.text
            assert throttled.json()["error"] == "too_many_attempts"
            assert 1 <= int(throttled.headers["retry-after"]) <= window

        # another source is not affected, and its success resets nobody's count
        assert _me(second, tokens.admin, BYSTANDER).status_code == 200
        assert _me(live_server, "mid_wrong", BYSTANDER).status_code == 401
        assert _me(live_server, tokens.admin).status_code == 200  # the proxy host itself
        # while throttled, even the right token is refused before it is looked up
        assert _me(live_server, tokens.admin, ATTACKER).status_code == 429

        for server in servers:
            server.clock.advance(window + 1)
        assert _me(second, tokens.admin, ATTACKER).status_code == 200
        assert _me(live_server, "mid_later", BYSTANDER).status_code == 401  # purges closed ones
        with live_server.runtime.unit_of_work() as s:
            rows = s.execute(select(SecretFailures.source, SecretFailures.failures)).all()
        assert [tuple(r) for r in rows] == [(BYSTANDER, 1)]

    # a worker that trusts no proxy: an attacker's made-up X-Forwarded-For changes nothing,
    # every guess counts against the address it really comes from
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "192.0.2.1")
    with run_issuer(live_server.env, 0) as direct:
        guesses = [_me(direct, "mid_guess", f"203.0.113.{n}") for n in range(limit)]
        assert {r.status_code for r in guesses} == {401}
        assert _me(direct, tokens.admin, "203.0.113.250").status_code == 429
