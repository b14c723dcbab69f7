"""HTTP face of the OpenID Connect bridge: discovery, JWKS, authorize (the login page), the
browser's return, token, userinfo and end_session (RP-initiated logout).

Thin: parse, one service call in one unit of work, shape. Browser-facing errors are HTML pages
or redirects to the client (RFC 6749 §4.1.2.1), answered here; back-channel errors (token,
userinfo) are `ProtocolError`s left to the service's error mapping (`mobileid.login_app`).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from verifier.login.backchannel import LogoutSender
from verifier.login.claims import CLAIM_LABELS
from verifier.login.logout import request_logout
from verifier.login.pages import error_page, login_page, logout_page, waiting_page
from verifier.login.provider import (
    OidcContext,
    RedirectError,
    continue_login,
    discovery,
    exchange_code,
    start_authorization,
    userinfo,
)
from verifier.oid4vp.api import (
    CLIENT_SECRET,
    SESSION_HANDLE,
    LoginRuntime,
    read_body,
)
from verifier.oid4vp.errors import ErrorCode, ProtocolError
from verifier.oid4vp.outcomes import session_view
from verifier.oid4vp.sessions import CROSS_DEVICE
from verifier.web import Respond

__all__ = ["oidc_router"]

_FORM_BYTES = 8 * 1024
_COOKIE = "mobileid_login_"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE = {
    **_NO_STORE,
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""Browser pages: never cached, never framed (the QR must not be overlaid), no referrer."""


def _form(body: bytes) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body, each parameter at most once (RFC 6749 §3.2)."""
    try:
        text = body.decode("ascii")
        fields = parse_qs(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=16
        )
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(ErrorCode.invalid_request, "malformed form body") from None
    if any(len(v) != 1 for v in fields.values()):
        raise ProtocolError(ErrorCode.invalid_request, "a parameter appears more than once")
    return {k: v[0] for k, v in fields.items()}


async def _browser_params(request: Request) -> dict[str, str]:
    """A browser's request parameters: the query of a GET, the form of a POST; each at most once."""
    if request.method == "POST":
        return _form(await read_body(request, _FORM_BYTES))
    params = dict(request.query_params)
    if len(request.query_params.multi_items()) != len(params):
        raise ProtocolError(ErrorCode.invalid_request, "repeated parameter")
    return params


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """`client_secret_basic` or `client_secret_post` (RFC 6749 §2.3.1), or a public client."""
    header = request.headers.get("authorization")
    if header is None:
        return form.get("client_id"), form.get("client_secret")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or "client_secret" in form:
        raise ProtocolError(ErrorCode.invalid_client, "use one client authentication method")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ProtocolError(ErrorCode.invalid_client, "malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise ProtocolError(ErrorCode.invalid_client, "malformed Basic credentials")
    client_id = unquote(client_id.replace("+", " "))
    if form.get("client_id") not in (None, client_id):
        raise ProtocolError(ErrorCode.invalid_client, "client_id differs from the credentials")
    return client_id, unquote(secret.replace("+", " "))


_LOGIN_FAILED = ("로그인할 수 없습니다", "Login not possible")
_LOGOUT_FAILED = ("로그아웃할 수 없습니다", "Logout not possible")


def _html_error(exc: ProtocolError, title: tuple[str, str] = _LOGIN_FAILED) -> HTMLResponse:
    page = error_page(*title, f"{exc.code}: {exc.detail}")
    return HTMLResponse(page, status_code=exc.status, headers={**_PAGE, **exc.headers()})


def oidc_router(
    rt: LoginRuntime, ctx: OidcContext, respond: Respond, logouts: LogoutSender
) -> APIRouter:
    """The OpenID Connect provider's routes, answering JSON through `respond`; logout tokens owed
    after an end_session go out through `logouts`."""
    router = APIRouter(tags=["OpenID Connect"])
    issuer = ctx.config.issuer
    secure_cookie = issuer.startswith("https://")

    @router.get("/.well-known/openid-configuration")
    async def configuration() -> Response:
        return respond(discovery(ctx.config), headers={"Cache-Control": "max-age=300"})

    @router.get("/jwks.json")
    async def jwks() -> Response:
        return respond(ctx.keys.jwks(), headers={"Cache-Control": "max-age=300"})

    async def authorize(request: Request) -> Response:
        """The authorization request, as a query or a form POST (OIDC Core §3.1.2.1)."""
        try:
            params = await _browser_params(request)
        except ProtocolError as exc:
            return _html_error(exc)
        return await _authorize(params)

    router.add_api_route("/authorize", authorize, methods=["GET", "POST"])

    async def _authorize(params: dict[str, str]) -> Response:
        try:
            client, new = await rt.call(
                lambda db: start_authorization(db, ctx, params, now=rt.clock(), flow=CROSS_DEVICE)
            )
        except RedirectError as exc:
            return RedirectResponse(exc.location(issuer), status_code=303)
        except ProtocolError as exc:
            return _html_error(exc)
        page = login_page(
            client_name=client.name,
            session_id=new.id,
            cross_device_link=new.cross_device_link,
            same_device_link=new.same_device_link,
            qr_url=f"{issuer}/oid4vp/qr/{new.id}.svg",
            status_url=f"{issuer}/login/status/{new.id}",
            continue_url=ctx.continue_uri(new.id),
            claim_labels=[CLAIM_LABELS[c] for c in client.allowed_claims],
        )
        response = HTMLResponse(page, headers=_PAGE)
        response.set_cookie(
            _COOKIE + new.id,
            new.handle,
            max_age=int(new.expires_at - rt.clock()) + 60,
            path="/login/",
            httponly=True,
            secure=secure_cookie,
            samesite="lax",
        )
        return response

    def _handle(request: Request, session_id: str) -> str:
        handle = request.cookies.get(_COOKIE + session_id)
        if not handle:
            raise ProtocolError(ErrorCode.access_denied, "this browser did not start the login")
        return handle

    @router.get("/login/status/{session_id}")
    async def status(request: Request, session_id: str) -> Response:
        handle = _handle(request, session_id)
        view = await rt.checked(
            SESSION_HANDLE, request, lambda db: session_view(db, session_id, handle, now=rt.clock())
        )
        return respond({"status": view.status})

    @router.get("/login/continue/{session_id}")
    async def resume(request: Request, session_id: str) -> Response:
        """Where the browser comes back: polling saw an answer, or the wallet redirected here."""
        try:
            handle = _handle(request, session_id)
            code = request.query_params.get("response_code")
            location = await rt.checked(
                SESSION_HANDLE,
                request,
                lambda db: continue_login(
                    db,
                    ctx,
                    session_id,
                    handle,
                    now=rt.clock(),
                    response_code=code,
                ),
            )
        except RedirectError as exc:
            response: Response = RedirectResponse(exc.location(issuer), status_code=303)
        except ProtocolError as exc:
            return _html_error(exc)
        else:
            if location is None:
                return HTMLResponse(waiting_page(str(request.url)), headers=_PAGE)
            response = RedirectResponse(location, status_code=303)
        response.delete_cookie(_COOKIE + session_id, path="/login/")
        return response

    @router.post("/token")
    async def token(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise ProtocolError(ErrorCode.invalid_request, "the body must be a form")
        form = _form(await read_body(request, _FORM_BYTES))
        client_id, secret = _client_credentials(request, form)
        answer = await rt.checked(
            CLIENT_SECRET,
            request,
            lambda db: exchange_code(
                db, ctx, form, client_id=client_id, client_secret=secret, now=rt.clock()
            ),
        )
        return respond(answer, headers=_NO_STORE)

    async def _userinfo(request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ProtocolError(ErrorCode.invalid_token, "a Bearer access token is required")
        token = value.strip()
        claims = await rt.call(lambda db: userinfo(db, token, now=rt.clock()))
        return respond(claims, headers=_NO_STORE)

    router.add_api_route("/userinfo", _userinfo, methods=["GET", "POST"])

    async def end_session(request: Request) -> Response:
        """RP-initiated logout (RP-Initiated Logout 1.0 §2: GET and POST)."""
        try:
            params = await _browser_params(request)
            outcome = await rt.call(lambda db: request_logout(db, ctx, params, now=rt.clock()))
        except ProtocolError as exc:
            return _html_error(exc, _LOGOUT_FAILED)
        logouts.send(outcome.notices)
        if outcome.signed_out and outcome.redirect_uri is not None:
            return RedirectResponse(outcome.redirect_uri, status_code=303, headers=_NO_STORE)
        page = logout_page(
            signed_out=outcome.signed_out,
            client_name=outcome.client_name,
            continue_url=outcome.redirect_uri,
        )
        return HTMLResponse(page, headers=_PAGE)

    router.add_api_route("/end_session", end_session, methods=["GET", "POST"])
    return router
