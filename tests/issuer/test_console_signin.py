"""Signing in to the console without a mobile ID (issue 19), as an attacker meets it: login links
are single-use and short-lived, sign-in codes die after five wrong tries and do not tell who
exists, only digests are stored, and failures are throttled per client address."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from issuer.console_auth import (
    SIGNIN_CODE_SMS,
    create_login_link,
    redeem_login_link,
    redeem_signin_code,
    send_signin_code,
)
from issuer.errors import ConsoleAuthError, HrError, IssuerError
from issuer.messages.outbox import REDACTED, open_text, outbox_sealer
from issuer.models import AuditEntry, LoginLink, OutboxMessage, SecretFailures, SigninCode, metadata
from mobileid.cli import app as cli
from mobileid.log_redaction import redact_offer_references
from mobileid.throttle import FailureThrottle

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SOURCE, OTHER = "198.51.100.7", "198.51.100.8"


@pytest.fixture
def throttle() -> FailureThrottle:
    return FailureThrottle(metadata.tables[SecretFailures.__tablename__], max_failures=10)


def _attempt(rt, call) -> str:
    """`call(session)` in a unit of work, as the console runs it (an error that keeps its changes
    commits them); the result, or the error's code."""
    try:
        with rt.unit_of_work() as s:
            return call(s)
    except IssuerError as exc:
        return f"error:{exc.code}"


def _link(rt, number: str = "E1001", **kw) -> str:
    with rt.unit_of_work() as s:
        token, expires = create_login_link(s, number, "cli", NOW, **kw)
    assert expires == NOW + kw.get("ttl", timedelta(minutes=15))
    return token


def _redeem_link(rt, throttle, token: str, at: datetime = NOW, source: str = SOURCE) -> str:
    return _attempt(rt, lambda s: redeem_login_link(s, token, at, throttle=throttle, source=source))


def test_a_login_link_signs_in_once(staffed_issuer, throttle) -> None:
    token = _link(staffed_issuer)
    with staffed_issuer.unit_of_work() as s:  # only the digest rests
        stored = s.scalar(select(LoginLink.token_hash))
        assert token not in stored and len(stored) == 64
        assert not s.scalar(select(func.count()).where(AuditEntry.detail.contains(token)))
    assert _redeem_link(staffed_issuer, throttle, token, NOW + timedelta(minutes=1)) == "E1001"
    assert _redeem_link(staffed_issuer, throttle, token, NOW + timedelta(minutes=2)) == (
        "error:login_link_used"
    )
    with staffed_issuer.unit_of_work() as s:
        actions = s.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("console.login_link.%"))
        ).all()
        assert actions == ["console.login_link.create", "console.login_link.redeem"]


def test_expired_unknown_and_garbage_links_are_refused(staffed_issuer, throttle) -> None:
    token = _link(staffed_issuer, ttl=timedelta(minutes=5))
    late = NOW + timedelta(minutes=5)
    assert _redeem_link(staffed_issuer, throttle, token, late) == "error:login_link_expired"
    other = "B" if token.endswith("A") else "A"  # a token that differs in its last character
    assert _redeem_link(staffed_issuer, throttle, token[:-1] + other) == "error:login_link_invalid"
    for garbage in ("", "x" * 5000, "../../etc/passwd", "\u00e9\u0000"):
        assert _redeem_link(staffed_issuer, throttle, garbage) == "error:login_link_invalid"
    with staffed_issuer.unit_of_work() as s:  # every failure was counted against the address
        failures = s.scalar(select(SecretFailures.failures).where(SecretFailures.source == SOURCE))
        assert failures == 6


def test_links_only_for_employees_in_service(staffed_issuer, throttle) -> None:
    with staffed_issuer.unit_of_work() as s, pytest.raises(HrError) as unknown:
        create_login_link(s, "E0000", "cli", NOW)
    assert unknown.value.code == "employee_not_found"
    with staffed_issuer.unit_of_work() as s, pytest.raises(HrError) as on_leave:
        create_login_link(s, "E4001", "cli", NOW)
    assert on_leave.value.code == "employee_not_active"
    with staffed_issuer.unit_of_work() as s, pytest.raises(ConsoleAuthError):
        create_login_link(s, "E1001", "cli", NOW, ttl=timedelta(days=2))


def test_guessing_links_is_throttled_per_address(staffed_issuer, throttle) -> None:
    token = _link(staffed_issuer)
    outcomes = [_redeem_link(staffed_issuer, throttle, f"guess{n}") for n in range(11)]
    assert outcomes[:10] == ["error:login_link_invalid"] * 10
    assert outcomes[10] == "error:too_many_attempts"
    # Over the limit, even the right link is refused from that address, and not spent.
    assert _redeem_link(staffed_issuer, throttle, token) == "error:too_many_attempts"
    assert _redeem_link(staffed_issuer, throttle, token, source=OTHER) == "E1001"


def _sent_codes(rt, number: str) -> list[str]:
    sealer = outbox_sealer(rt.config.secret_key)
    with rt.unit_of_work() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.kind == SIGNIN_CODE_SMS, OutboxMessage.subject == f"employee:{number}"
            )
            .order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            assert REDACTED in row.body and not re.search(r"\d{6}", row.body)
            assert row.recipient == "01012345678"
        texts = [open_text(row, sealer) or "" for row in rows]
    return [re.findall(r"\b\d{6}\b", text)[0] for text in texts]


def _send(rt, throttle, number: str, at: datetime = NOW, source: str = SOURCE) -> None:
    with rt.unit_of_work() as s:
        sent = send_signin_code(s, number, at, config=rt.config, throttle=throttle, source=source)
        assert sent is None


def _redeem_code(rt, throttle, number: str, code: str, at: datetime = NOW, source=SOURCE) -> str:
    return _attempt(
        rt,
        lambda s: redeem_signin_code(
            s, number, code, at, config=rt.config, throttle=throttle, source=source
        ),
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_signin_code_signs_in_once(staffed_issuer, throttle) -> None:
    _send(staffed_issuer, throttle, "E1002")
    (code,) = _sent_codes(staffed_issuer, "E1002")
    with staffed_issuer.unit_of_work() as s:  # a keyed digest rests, not the code
        stored = s.scalar(select(SigninCode.code_hash))
        assert code not in stored and len(stored) == 64
    assert _redeem_code(staffed_issuer, throttle, "E1001", code) == "error:signin_code_invalid"
    at = NOW + timedelta(minutes=4)
    assert _redeem_code(staffed_issuer, throttle, "E1002", code, at) == "E1002"
    assert _redeem_code(staffed_issuer, throttle, "E1002", code, at) == "error:signin_code_invalid"


def test_five_wrong_codes_void_it(staffed_issuer, throttle) -> None:
    _send(staffed_issuer, throttle, "E1002")
    (code,) = _sent_codes(staffed_issuer, "E1002")
    for _ in range(5):
        assert _redeem_code(staffed_issuer, throttle, "E1002", _wrong(code)) == (
            "error:signin_code_invalid"
        )
    assert _redeem_code(staffed_issuer, throttle, "E1002", code, source=OTHER) == (
        "error:signin_code_invalid"
    )
    with staffed_issuer.unit_of_work() as s:
        assert (s.scalar(select(SigninCode.state)), s.scalar(select(SigninCode.attempts))) == (
            "void",
            5,
        )
        wrong = s.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "console.signin_code.wrong")
        ).all()
        assert [json.loads(d) for d in wrong][-1] == {"attempts": 5, "void": True}
    # A new code may be asked for (a minute later) and works.
    _send(staffed_issuer, throttle, "E1002", NOW + timedelta(minutes=1))
    codes = _sent_codes(staffed_issuer, "E1002")
    assert len(codes) == 2
    assert _redeem_code(staffed_issuer, throttle, "E1002", codes[1], source=OTHER) == "E1002"


def test_codes_expire_and_a_new_one_replaces_the_old(staffed_issuer, throttle) -> None:
    _send(staffed_issuer, throttle, "E1002")
    # Within a minute of the last: nothing more is sent.
    _send(staffed_issuer, throttle, "E1002", NOW + timedelta(seconds=30))
    (first,) = _sent_codes(staffed_issuer, "E1002")
    late = NOW + timedelta(minutes=5)
    assert (
        _redeem_code(staffed_issuer, throttle, "E1002", first, late) == "error:signin_code_invalid"
    )
    _send(staffed_issuer, throttle, "E1002", NOW + timedelta(minutes=2))
    _send(staffed_issuer, throttle, "E1002", NOW + timedelta(minutes=3, seconds=30))
    _, second, third = _sent_codes(staffed_issuer, "E1002")
    at = NOW + timedelta(minutes=4)
    assert _redeem_code(staffed_issuer, throttle, "E1002", second, at) in (
        "error:signin_code_invalid",
        "E1002",  # the one in a million chance that the two codes are the same
    )
    assert _redeem_code(staffed_issuer, throttle, "E1002", third, at) == "E1002"


def test_asking_for_a_code_does_not_tell_who_exists(staffed_issuer, throttle) -> None:
    for number in ("E0000", "E4001", "", "x" * 300, "E1001'; --"):  # unknown, on leave, garbage
        _send(staffed_issuer, throttle, number)
        assert (
            _redeem_code(staffed_issuer, throttle, number, "123456") == "error:signin_code_invalid"
        )
    _send(staffed_issuer, throttle, "E1001")
    assert _redeem_code(staffed_issuer, throttle, "E1001", "12345a") == "error:signin_code_invalid"
    with staffed_issuer.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert s.scalar(select(func.count()).select_from(SigninCode)) == 1


def test_guessing_codes_is_throttled_per_address(staffed_issuer, throttle) -> None:
    for number in ("E1001", "E1002", "E2001"):
        _send(staffed_issuer, throttle, number)
    codes = {n: _sent_codes(staffed_issuer, n)[0] for n in ("E1001", "E1002", "E2001")}
    outcomes = [
        _redeem_code(staffed_issuer, throttle, number, _wrong(codes[number]))
        for number in ("E1001", "E1002", "E2001")
        for _ in range(4)
    ]
    assert outcomes[:10] == ["error:signin_code_invalid"] * 10
    assert outcomes[10:] == ["error:too_many_attempts"] * 2
    assert (
        _redeem_code(staffed_issuer, throttle, "E2001", codes["E2001"]) == "error:too_many_attempts"
    )
    assert _redeem_code(staffed_issuer, throttle, "E2001", codes["E2001"], source=OTHER) == "E2001"


def test_login_link_command(issuer_env, staffed_issuer, throttle) -> None:
    result = CliRunner().invoke(cli, ["admin", "login-link", "--employee", "E1001"], env=issuer_env)
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    base = staffed_issuer.config.base_url
    assert url.startswith(f"{base}/console/link/") and "expires" in result.output
    assert _redeem_link(staffed_issuer, throttle, url.rsplit("/", 1)[1]) == "E1001"
    result = CliRunner().invoke(cli, ["admin", "login-link", "--employee", "E4001"], env=issuer_env)
    assert result.exit_code == 1 and "employee_not_active" in result.output


def test_logs_never_show_a_login_links_token(issuer_env, staffed_issuer) -> None:
    token = _link(staffed_issuer)
    for line in (
        f'127.0.0.1:5 - "GET /console/link/{token} HTTP/1.1" 303',
        f"next=%2Fconsole%2Flink%2F{token}&x=1",
    ):
        cut = redact_offer_references(line)
        assert token not in cut and "link" in cut and "[redacted]" in cut


def test_one_address_cannot_send_codes_to_the_whole_staff(staffed_issuer, throttle) -> None:
    numbers = [f"E9{n:03d}" for n in range(10)]
    for number in [*numbers[:5], "E0000", "E0001", "E0002", "E0003", "E0004"]:
        _send(staffed_issuer, throttle, number)  # known or not: counted alike
    outcomes = {
        number: _attempt(
            staffed_issuer,
            lambda s, n=number: send_signin_code(
                s, n, NOW, config=staffed_issuer.config, throttle=throttle, source=SOURCE
            ),
        )
        for number in ("E9005", "E0005")
    }
    assert outcomes == {"E9005": "error:too_many_attempts", "E0005": "error:too_many_attempts"}
    _send(staffed_issuer, throttle, "E9006", source=OTHER)
    with staffed_issuer.unit_of_work() as s:
        sent = s.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)).all()
    assert sent == [f"employee:{n}" for n in numbers[:5]] + ["employee:E9006"]
