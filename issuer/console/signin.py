"""Signing in to the issuer's console without a mobile ID (`issuer.console_auth` holds the
rules): a one-time code by SMS to the phone on the HR record, for employees applying for their
first mobile ID (the session then holds the `employee` role only), and the single-use link
`mobileid admin login-link` prints, for the first administrators.

Why a code by SMS rather than a hand-over link from the HR system: the HR systems cannot sign
links for us yet, while the phone on the HR record is already what the issuer trusts for the
offer's SMS, so the code adds no new trust. A link opened shows a button first and is redeemed
by the POST, so a link preview (a messenger fetching the URL) does not spend it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.viewer import EMPLOYEE
from console.web import check_csrf, console_of
from issuer.console.roles import employee_name
from issuer.console_auth import redeem_login_link, redeem_signin_code, send_signin_code
from issuer.context import IssuerContext, issuer_context
from issuer.errors import IssuerCode, IssuerError

__all__ = ["signin_router"]

signin_router = APIRouter(prefix="/console", include_in_schema=False)
Ctx = Annotated[IssuerContext, Depends(issuer_context)]
_MAX_FIELD = 40
_MESSAGES = {
    IssuerCode.signin_code_invalid: "인증번호가 맞지 않거나 만료되었습니다 / The code is wrong or "
    "expired",
    IssuerCode.login_link_invalid: "알 수 없는 로그인 링크입니다 / This sign-in link is unknown",
    IssuerCode.login_link_expired: "로그인 링크가 만료되었습니다 / This sign-in link expired",
    IssuerCode.login_link_used: "이미 사용한 로그인 링크입니다 / This sign-in link was used",
    IssuerCode.too_many_attempts: "시도가 너무 많습니다. 잠시 뒤 다시 시도하세요 / Too many "
    "attempts; try again later",
    IssuerCode.employee_not_active: "재직 중인 직원이 아닙니다 / Not an employee in active service",
}


def _refusal(exc: IssuerError) -> tuple[int, str, str]:
    """Status, code and message of a refused code or link (shown on the form's page)."""
    status = 429 if exc.code == IssuerCode.too_many_attempts else 400
    message = _MESSAGES.get(exc.code, "로그인하지 못했습니다 / Sign-in failed")
    return status, str(exc.code), message


def _source(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@signin_router.get("/signin/code", response_class=HTMLResponse)
def code_page(request: Request) -> HTMLResponse:
    """Step 1: the employee number."""
    return console_of(request).render(request, "issuer/signin_code.html", {"step": "number"})


@signin_router.post("/signin/code", dependencies=[Depends(check_csrf)])
def send_code(
    request: Request, ctx: Ctx, employee_number: Annotated[str, Form(max_length=_MAX_FIELD)]
) -> HTMLResponse:
    """Step 2: a code is on its way if the number is right (the same answer either way)."""
    console = console_of(request)
    number = employee_number.strip()
    try:
        with ctx.unit_of_work() as session:
            send_signin_code(
                session,
                number,
                ctx.clock(),
                config=ctx.config,
                throttle=ctx.throttle,
                source=_source(request),
            )
    except IssuerError as exc:  # too many requests from this address
        status, error, message = _refusal(exc)
        context = {"step": "number", "error": error, "message": message}
        return console.render(request, "issuer/signin_code.html", context, status=status)
    ctx.wake_outbox()
    return console.render(
        request, "issuer/signin_code.html", {"step": "code", "employee_number": number}
    )


@signin_router.post("/signin/code/verify", dependencies=[Depends(check_csrf)])
def verify_code(
    request: Request,
    ctx: Ctx,
    employee_number: Annotated[str, Form(max_length=_MAX_FIELD)],
    code: Annotated[str, Form(max_length=_MAX_FIELD)],
) -> Response:
    """Step 3: the code signs the employee in, as `employee` only."""
    console = console_of(request)
    number = employee_number.strip()
    try:
        with ctx.unit_of_work() as session:
            number = redeem_signin_code(
                session,
                number,
                code.strip(),
                ctx.clock(),
                config=ctx.config,
                throttle=ctx.throttle,
                source=_source(request),
            )
            name = employee_name(session, number) or number
    except IssuerError as exc:
        status, error, message = _refusal(exc)
        context = {"step": "code", "employee_number": number, "error": error, "message": message}
        return console.render(request, "issuer/signin_code.html", context, status=status)
    console.sign_in(request, number, name, amr=["sms"], only=[EMPLOYEE])
    return RedirectResponse("/console/me", 303)


_Token = Annotated[str, Path(max_length=200)]


@signin_router.get("/link/{token}", response_class=HTMLResponse)
def link_page(request: Request, token: _Token) -> HTMLResponse:
    """A sign-in link: a button to use it (nothing is spent by opening it)."""
    return console_of(request).render(request, "issuer/signin_link.html", {"token": token})


@signin_router.post("/link/{token}", dependencies=[Depends(check_csrf)])
def use_link(request: Request, ctx: Ctx, token: _Token) -> Response:
    """The link signs its employee in, with every role they hold."""
    console = console_of(request)
    try:
        with ctx.unit_of_work() as session:
            number = redeem_login_link(
                session, token, ctx.clock(), throttle=ctx.throttle, source=_source(request)
            )
            name = employee_name(session, number) or number
    except IssuerError as exc:
        status, error, message = _refusal(exc)
        context = {"token": token, "error": error, "message": message}
        return console.render(request, "issuer/signin_link.html", context, status=status)
    console.sign_in(request, number, name, amr=["link"])
    return RedirectResponse("/console", 303)
