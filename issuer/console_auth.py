"""Signing in to the issuer's console without a mobile ID: single-use links and one-time codes.

- A **login link** is how the first administrators sign in, before anyone holds a mobile ID: an
  operator on the issuer host runs `mobileid admin login-link --employee N` and hands the printed
  URL to that person. It is good once, for 15 minutes by default; only its SHA-256 is stored.
- A **sign-in code** is how an employee without a mobile ID (applying for the first one) signs
  in: six digits by SMS to the phone on their HR record, good once for 5 minutes and void after
  5 wrong tries; stored as a keyed hash (a 6-digit code's plain hash is guessed at once from a
  copy of the database). We send codes rather than take a signed hand-over from the HR system:
  HR already gives us the phone, and a hand-over needs every HR system to sign links for us.
  Asking for a code answers the same whether or not the employee exists, is in service or has a
  phone on record (and counts against the asking address, so one address cannot send SMS to the
  whole staff), and a code that does not redeem is one answer (`signin_code_invalid`)
  whatever the reason, so neither tells who exists. At most one code per employee per minute.

Whoever presents a link or a code is counted by the failure throttle of the HR API's tokens
(`issuer.api_tokens.failed_secret`): a client address with too many failures is refused for a
while before anything is looked up. Each use and each wrong code is audited.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.api_tokens import (
    FailureCounter,
    count_failure,
    failed_secret,
    refuse_if_throttled,
)
from issuer.audit import append_audit
from issuer.config import IssuerConfig
from issuer.errors import ConsoleAuthError, HrError, IssuerCode, IssuerError
from issuer.grants import ADMIN_ROLE, employee_in_service, in_service
from issuer.hashing import keyed_hash, new_numeric_code, new_secret, sha256_hex
from issuer.messages.outbox import REDACTED, enqueue_message, outbox_sealer
from issuer.models import Employee, LoginLink, SigninCode

__all__ = [
    "LOGIN_LINK_FAILURES",
    "LOGIN_LINK_TTL",
    "SIGNIN_CODE_ATTEMPTS",
    "SIGNIN_CODE_FAILURES",
    "SIGNIN_CODE_RESEND",
    "SIGNIN_CODE_SMS",
    "SIGNIN_CODE_TTL",
    "SIGNIN_SEND_REQUESTS",
    "create_login_link",
    "login_link_path",
    "redeem_login_link",
    "redeem_signin_code",
    "send_signin_code",
]

LOGIN_LINK_TTL = timedelta(minutes=15)
SIGNIN_CODE_TTL = timedelta(minutes=5)
SIGNIN_CODE_ATTEMPTS = 5
"""Wrong codes after which a code is void (a new one must be asked for)."""
SIGNIN_CODE_RESEND = timedelta(minutes=1)
"""A code asked for within this of the last one sends nothing (a phone is not an SMS target)."""
SIGNIN_CODE_SMS = "signin_code"
"""The outbox `kind` of a sign-in code's SMS."""
LOGIN_LINK_FAILURES = "login_link"
SIGNIN_CODE_FAILURES = "signin_code"
SIGNIN_SEND_REQUESTS = "signin_send"
"""The names failures (and requests for a code) are counted under by the throttle."""
_CODE_LENGTH = 6
_CODE = re.compile(rf"[0-9]{{{_CODE_LENGTH}}}")
_MAX_TOKEN_CHARS = 200
_MAX_EMPLOYEE_NUMBER_CHARS = 20
_PUBLIC = ("console", "public")
"""Audit actor and role of whoever asks for or tries a code (nobody is signed in yet)."""


def login_link_path(token: str) -> str:
    """Where a login link points on the issuer (the console's page redeems it)."""
    return f"/console/link/{token}"


def _signed_in(
    session: Session, employee_number: str, means: str, now: datetime, **detail: int
) -> str:
    """Audit a sign-in by `means` (the person is the actor from now on); their number."""
    append_audit(
        session,
        actor=f"console:{employee_number}",
        role="employee",
        action=f"console.{means}.redeem",
        subject=f"employee:{employee_number}",
        now=now,
        detail=detail,
    )
    return employee_number


def create_login_link(
    session: Session,
    employee_number: str,
    actor: str,
    now: datetime,
    ttl: timedelta = LOGIN_LINK_TTL,
) -> tuple[str, datetime]:
    """A single-use sign-in link's token for an employee in active service, and its expiry;
    the token is shown once (only its SHA-256 is kept). Audited with `actor`."""
    employee = employee_in_service(session, employee_number, now)
    if not timedelta(0) < ttl <= timedelta(days=1):
        raise ConsoleAuthError(IssuerCode.invalid_request, "a link lives 1 s to 1 day")
    token = new_secret(32)
    link = LoginLink(
        token_hash=sha256_hex(token),
        employee_id=employee.id,
        created_by=actor,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(link)
    session.flush()
    append_audit(
        session,
        actor=actor,
        role=ADMIN_ROLE,
        action="console.login_link.create",
        subject=f"employee:{employee_number}",
        now=now,
        detail={"link": link.id, "expires": link.expires_at.isoformat(timespec="seconds")},
    )
    return token, link.expires_at


def redeem_login_link(
    session: Session, token: str, now: datetime, *, throttle: FailureCounter, source: str
) -> str:
    """Use a login link once; the employee number it signs in. Unknown, expired and used links
    are refused with their own codes (only the holder of the token learns which) and counted
    as failures of `source` (the client address)."""

    def refused(code: IssuerCode, message: str) -> IssuerError:
        refusal = ConsoleAuthError(code, message)
        return failed_secret(
            session, throttle, LOGIN_LINK_FAILURES, source=source, now=now, refusal=refusal
        )

    refuse_if_throttled(throttle, LOGIN_LINK_FAILURES, source, now)
    row = None
    if 0 < len(token) <= _MAX_TOKEN_CHARS:
        row = session.execute(
            select(LoginLink, Employee)
            .join(Employee, Employee.id == LoginLink.employee_id)
            .where(LoginLink.token_hash == sha256_hex(token))
        ).first()
    if row is None:
        raise refused(IssuerCode.login_link_invalid, "no such sign-in link")
    link, employee = row
    used = session.execute(  # a conditional UPDATE: of two concurrent uses, one signs in
        update(LoginLink)
        .where(LoginLink.id == link.id, LoginLink.used_at.is_(None), LoginLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(link)
        if link.used_at is not None:
            raise refused(IssuerCode.login_link_used, "this sign-in link was used already")
        raise refused(IssuerCode.login_link_expired, "this sign-in link expired")
    if not in_service(employee, now):
        raise HrError(IssuerCode.employee_not_active, "employee is not in active service")
    return _signed_in(session, employee.employee_number, "login_link", now, link=link.id)


def _code_hash(config: IssuerConfig, employee_id: int, code: str) -> str:
    return keyed_hash(config.secret_key, "signin_code", f"{employee_id}\x00{code}")


def _sms(code: str) -> str:
    minutes = int(SIGNIN_CODE_TTL.total_seconds() // 60)
    return (
        f"[모바일 공무원증] 콘솔 로그인 인증번호 / Console sign-in code: {code} "
        f"({minutes}분간 유효 / valid {minutes} min; 타인에게 알리지 마세요 / never share it)"
    )


def _active_code(session: Session, employee_id: int) -> SigninCode | None:
    return session.scalar(
        select(SigninCode)
        .where(SigninCode.employee_id == employee_id, SigninCode.state == "active")
        .with_for_update()
    )


def send_signin_code(
    session: Session,
    employee_number: str,
    now: datetime,
    *,
    config: IssuerConfig,
    throttle: FailureCounter,
    source: str,
) -> None:
    """Queue a sign-in code by SMS to the phone on the employee's HR record, replacing any
    earlier code. Returns nothing and raises nothing for an unknown employee, one out of
    service or without a phone, or a second request within `SIGNIN_CODE_RESEND`: the caller
    answers every request alike ("if the number is right, a code is on its way"). Every
    request counts against `source` as a failed secret does, so one address cannot send SMS
    to the whole staff (`too_many_attempts` over the limit, whoever was asked for). Wake the
    outbox after the commit."""
    refuse_if_throttled(throttle, SIGNIN_SEND_REQUESTS, source, now)
    count_failure(session, throttle, SIGNIN_SEND_REQUESTS, source=source, now=now)
    if not 0 < len(employee_number) <= _MAX_EMPLOYEE_NUMBER_CHARS:
        return
    employee = session.scalar(select(Employee).where(Employee.employee_number == employee_number))
    if employee is None or not in_service(employee, now) or not employee.phone:
        return
    earlier = _active_code(session, employee.id)
    if earlier is not None:
        if earlier.created_at > now - SIGNIN_CODE_RESEND and earlier.expires_at > now:
            return
        earlier.state = "replaced"
    code = new_numeric_code(_CODE_LENGTH)
    try:
        with session.begin_nested():
            session.add(
                SigninCode(
                    employee_id=employee.id,
                    code_hash=_code_hash(config, employee.id, code),
                    state="active",
                    attempts=0,
                    created_at=now,
                    expires_at=now + SIGNIN_CODE_TTL,
                )
            )
    except IntegrityError:  # a concurrent request made one just now: that one is on its way
        return
    enqueue_message(
        session,
        channel="sms",
        recipient=employee.phone,
        kind=SIGNIN_CODE_SMS,
        subject=f"employee:{employee_number}",
        text=_sms(code),
        shown=_sms(REDACTED),
        sealer=outbox_sealer(config.secret_key),
        now=now,
    )
    actor, role = _PUBLIC
    append_audit(
        session,
        actor=actor,
        role=role,
        action="console.signin_code.send",
        subject=f"employee:{employee_number}",
        now=now,
    )


def redeem_signin_code(
    session: Session,
    employee_number: str,
    code: str,
    now: datetime,
    *,
    config: IssuerConfig,
    throttle: FailureCounter,
    source: str,
) -> str:
    """Use the employee's sign-in code once; the employee number it signs in. Anything but the
    right code of a live one (unknown employee, no code, expired, used, void, wrong) is
    `signin_code_invalid` and a failure of `source`; a wrong code counts against the code too,
    and the fifth voids it."""
    refuse_if_throttled(throttle, SIGNIN_CODE_FAILURES, source, now)
    employee = None
    if 0 < len(employee_number) <= _MAX_EMPLOYEE_NUMBER_CHARS:
        employee = session.scalar(
            select(Employee).where(Employee.employee_number == employee_number)
        )
    if employee is not None and not in_service(employee, now):
        employee = None
    row = _active_code(session, employee.id) if employee is not None else None
    if employee is not None and row is not None and row.expires_at > now:
        if _CODE.fullmatch(code) and hmac.compare_digest(
            row.code_hash, _code_hash(config, employee.id, code)
        ):
            row.state, row.used_at = "used", now
            return _signed_in(session, employee_number, "signin_code", now, wrong=row.attempts)
        row.attempts += 1
        if row.attempts >= SIGNIN_CODE_ATTEMPTS:
            row.state = "void"
        actor, role = _PUBLIC
        append_audit(
            session,
            actor=actor,
            role=role,
            action="console.signin_code.wrong",
            subject=f"employee:{employee_number}",
            now=now,
            detail={"attempts": row.attempts, "void": row.state == "void"},
        )
    raise failed_secret(
        session,
        throttle,
        SIGNIN_CODE_FAILURES,
        source=source,
        now=now,
        refusal=ConsoleAuthError(
            IssuerCode.signin_code_invalid,
            "wrong or expired code; after 5 wrong tries ask for a new code",
        ),
    )
