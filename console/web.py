"""The console on a FastAPI app: sessions, sign-in with the mobile ID, roles, CSRF, pages.

A `Console` installs itself on an app (`Console.install`): the session cookie (Starlette's
`SessionMiddleware`, signed with itsdangerous) with an idle timeout, security headers on its
paths, the shared static assets, the sign-in pages (an OpenID Connect client of our login
service: authorization code + PKCE S256, state and nonce, the ID token checked by Authlib against
the service's discovery document and JWKS) and an error page for every refusal on its paths.

Pages depend on `current_viewer` / `require_role(...)` and, for every POST, `check_csrf`; they
render through `Console.render`. These dependencies are module-level so tests can override them.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware

from console.headers import SecurityHeaders, security_headers
from console.messages import ROLE_LABELS, message_for
from console.sessions import EndedSessions
from console.signin_config import SignInConfig
from console.viewer import Grant, RoleSource, Viewer

with warnings.catch_warnings():
    # Authlib announces, on import, that it prefers `httpx2` to the `httpx` we use everywhere;
    # the notice says nothing to an operator, so it is not shown at every start.
    import authlib.deprecate  # noqa: F401  (its import puts an "always" filter first)

    warnings.simplefilter("ignore")
    from authlib.integrations.starlette_client import OAuth, OAuthError
    from authlib.jose.errors import JoseError
    from joserfc.errors import JoseError as JoseRfcError

__all__ = [
    "Console",
    "ConsoleError",
    "NavItem",
    "SignInConfig",
    "SignInHook",
    "check_csrf",
    "console_of",
    "current_viewer",
    "require_role",
    "safe_next",
]

log = logging.getLogger(__name__)

KIT_TEMPLATES = Path(__file__).parent / "templates"
KIT_STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "console_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_CLIENT = "login"
"""The name of the login service in Authlib's registry (and in its session keys)."""


class ConsoleError(Exception):
    """Raise anywhere in a page: the person gets the error page (status, stable code, message
    "한국어 / English"), never a trace."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


class _SignInRequired(ConsoleError):
    """Not signed in: a GET is sent to the sign-in page, anything else gets 401."""

    def __init__(self, code: str = "signin_required") -> None:
        super().__init__(401, code, message_for(code))


@dataclass(frozen=True)
class NavItem:
    """A link in the console's navigation, shown to a viewer holding any of `roles`."""

    label: str
    href: str
    roles: tuple[str, ...]


SignInHook = Callable[[Request, Mapping[str, Any]], Awaitable[None]]
"""(request, ID token claims) -> None: run once the person is signed in."""


class Console:
    """One app's console: configuration, the template environment and the installed routes."""

    def __init__(
        self,
        *,
        title: str,
        templates: Path | None,
        roles: RoleSource | None,
        signin: SignInConfig | None,
        session_secret: bytes,
        secure_cookies: bool,
        idle_timeout_s: int = 900,
        max_session_s: int = 12 * 3600,
        home: str = "/console",
        nav: Sequence[NavItem] = (),
        paths: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
        session_cookie: str = SESSION_COOKIE,
        on_signin: SignInHook | None = None,
    ) -> None:
        self.title = title
        self.roles: RoleSource = roles or _no_roles
        """None: nobody holds a role (pages tested with `current_viewer` overridden)."""
        self.signin = signin
        """None: no sign-in with the mobile ID here (the app's own ways in, or tests)."""
        self.session_secret = session_secret
        self.secure_cookies = secure_cookies
        self.idle_timeout_s = idle_timeout_s
        self.max_session_s = max_session_s
        """A session ends this long after sign-in however active (bounds a copied cookie)."""
        self.ended = EndedSessions()
        self.home = home.rstrip("/")
        self.nav = tuple(nav)
        self.paths = (self.home, *paths)
        """Path prefixes whose responses carry the security headers and HTML error pages."""
        self.clock = clock
        self.session_cookie = session_cookie
        """Apps on one host share cookies whatever their ports: each console names its own."""
        self.on_signin = on_signin
        """Called after a sign-in with the mobile ID, with the ID token's claims (the app records
        what it needs, e.g. a work session); a `ConsoleError` from it is shown as the error page
        (the person stays signed in: the hook decides what the sign-in allows)."""
        loaders = [FileSystemLoader(templates)] if templates is not None else []
        self.env = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(KIT_TEMPLATES)]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=False,
        )
        self.env.globals["home"] = self.home
        self.env.globals["role_labels"] = ROLE_LABELS
        login_origins = (signin.login_origin,) if signin is not None else ()
        self.headers = security_headers(form_action=login_origins)
        self.oauth = OAuth()
        if signin is not None:
            self.oauth.register(
                _CLIENT,
                client_id=signin.client_id,
                client_secret=signin.client_secret,
                server_metadata_url=f"{signin.login_url.rstrip('/')}"
                "/.well-known/openid-configuration",
                client_kwargs={
                    "scope": "openid",
                    "code_challenge_method": "S256",
                    "timeout": 10,
                    **signin.client_kwargs,
                },
            )

    # -- installation ---------------------------------------------------------------------

    def install(self, app: FastAPI) -> None:
        """Mount the console on `app`. Call it after the app's own error handlers are in place:
        on console pages their JSON refusals become the HTML error page (same status, same code)."""
        app.state.console = self
        app.add_middleware(_RefusalsAsPages, console=self)
        app.add_middleware(SecurityHeaders, headers=self.headers, is_page=self.is_page)
        app.add_middleware(_IdleTimeout, console=self)
        app.add_middleware(
            SessionMiddleware,
            secret_key=self.session_secret.hex(),
            session_cookie=self.session_cookie,
            max_age=self.idle_timeout_s,
            same_site="lax",
            https_only=self.secure_cookies,
        )
        app.mount(f"{self.home}/static", StaticFiles(directory=KIT_STATIC), name="console-static")
        app.include_router(_signin_router(self))
        self._html_errors(app)

    def is_page(self, path: str) -> bool:
        """A console page (not the JSON API under `<home>/api/`)."""
        if path.startswith(f"{self.home}/api/"):
            return False
        return any(path == p or path.startswith(p + "/") for p in self.paths)

    def _html_errors(self, app: FastAPI) -> None:
        async def console_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, ConsoleError)
            return self.error_page(request, exc)

        for key, handler in list(app.exception_handlers.items()):
            app.exception_handlers[key] = self._page_aware(handler)
        app.exception_handlers[ConsoleError] = console_error

    def _page_aware(
        self, handler: Callable[[Request, Exception], Any]
    ) -> Callable[[Request, Exception], Awaitable[Response]]:
        """The app's handler; on a console page its JSON refusal shown as the error page."""

        async def wrapped(request: Request, exc: Exception) -> Response:
            answer = handler(request, exc)
            response: Response = answer if isinstance(answer, Response) else await answer
            if not self.is_page(request.url.path):
                return response
            try:
                code = str(json.loads(bytes(response.body))["error"])
            except (ValueError, KeyError, TypeError):
                code = "server_error" if response.status_code >= 500 else "invalid_request"
            return self.error_page(
                request, ConsoleError(response.status_code, code, message_for(code))
            )

        return wrapped

    # -- sessions ---------------------------------------------------------------------------

    def sign_in(
        self,
        request: Request,
        employee_number: str,
        name: str,
        *,
        amr: Sequence[str],
        sid: str | None = None,
        only: Sequence[str] | None = None,
    ) -> None:
        """Start a fresh session for a person (a new CSRF token; anything before is dropped).
        `only` limits the session to those roles (an SMS code signs in as `employee` only)."""
        request.session.clear()
        request.session["who"] = {
            "n": employee_number,
            "name": name,
            "amr": list(amr),
            "sid": sid,
            "only": list(only) if only is not None else None,
        }
        now = self.clock()
        request.session["id"] = secrets.token_urlsafe(16)
        request.session["at"] = now
        request.session["seen"] = now
        request.session["csrf"] = secrets.token_urlsafe(32)

    def sign_out(self, request: Request) -> None:
        """End the session: this browser's cookie and any copy of it."""
        session_id, at = request.session.get("id"), request.session.get("at")
        if isinstance(session_id, str) and isinstance(at, int | float):
            self.ended.end(session_id, at + self.max_session_s, self.clock())
        request.session.clear()

    def session_alive(self, session: Mapping[str, Any], now: float, *, idle: bool = True) -> bool:
        """A signed-in session not idle too long (unless `idle` is false: a stream being
        watched is use), not past its lifetime, not signed out."""
        seen, at, session_id = session.get("seen"), session.get("at"), session.get("id")
        return (
            isinstance(seen, int | float)
            and isinstance(at, int | float)
            and isinstance(session_id, str)
            and (not idle or now - seen <= self.idle_timeout_s)
            and now - at <= self.max_session_s
            and not self.ended.ended(session_id, now)
        )

    @staticmethod
    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = request.session["csrf"] = secrets.token_urlsafe(32)
        return token

    async def viewer(self, request: Request) -> Viewer:
        """The signed-in person, grants read from the role source (once per request)."""
        cached = getattr(request.state, "viewer", None)
        if isinstance(cached, Viewer):
            return cached
        who = request.session.get("who")
        if not isinstance(who, dict):
            expired = getattr(request.state, "console_expired", False)
            raise _SignInRequired("session_expired" if expired else "signin_required")
        viewer = await self._viewer_of(who)
        request.state.viewer = viewer
        return viewer

    async def still_signed_in(self, request: Request) -> Viewer | None:
        """Asked again while a long-lived response runs (a Server-Sent Events stream): the person
        with their grants read afresh, or None once the session was signed out or outlived its
        lifetime. The stream should then end; the browser's reconnect meets the sign-in check."""
        session = request.session
        who = session.get("who")
        if not isinstance(who, dict) or not self.session_alive(session, self.clock(), idle=False):
            return None
        return await self._viewer_of(who)

    async def _viewer_of(self, who: Mapping[str, Any]) -> Viewer:
        grants: Sequence[Grant] = await self.roles(who["n"])
        if who.get("only") is not None:
            grants = [g for g in grants if g.role in who["only"]]
        return Viewer(who["n"], who["name"], tuple(grants))

    # -- pages ------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        """A page: `context` plus viewer (the request's, unless `context` names one; None when
        nobody is signed in), csrf_token, title, nav, request and path."""
        context = context or {}
        viewer = context.get("viewer", getattr(request.state, "viewer", None))
        values: dict[str, Any] = {
            "request": request,
            "viewer": viewer,
            "csrf_token": self.csrf_token(request),
            "title": self.title,
            "nav": self.nav_for(viewer),
            "path": request.url.path,
        }
        values.update(context)
        html = self.env.get_template(template).render(values)
        return HTMLResponse(html, status_code=status, headers=self.headers)

    def nav_for(self, viewer: Viewer | None) -> list[NavItem]:
        if viewer is None:
            return []
        return [item for item in self.nav if any(viewer.has(role) for role in item.roles)]

    def error_page(self, request: Request, exc: ConsoleError) -> Response:
        if isinstance(exc, _SignInRequired) and request.method in ("GET", "HEAD"):
            query = {"next": safe_next(request.url.path, self.home)}
            if exc.code == "session_expired":
                query["expired"] = "1"
            return RedirectResponse(
                f"{self.home}/signin?{urlencode(query)}", 303, headers=self.headers
            )
        log.info("%s %s -> %s %s", request.method, request.url.path, exc.status, exc.code)
        return self.render(request, "console/error.html", {"error": exc}, status=exc.status)


async def _no_roles(_employee_number: str) -> Sequence[Grant]:
    return ()


def safe_next(target: str | None, home: str) -> str:
    """Where to go after signing in: a path on this app only (never another origin)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    if any(ord(c) < 0x20 for c in target):
        return home
    return target


def console_of(request: Request) -> Console:
    """The console installed on the request's app (404 page if there is none)."""
    console = getattr(request.app.state, "console", None)
    if not isinstance(console, Console):
        raise ConsoleError(404, "not_found", message_for("not_found"))
    return console


async def current_viewer(request: Request) -> Viewer:
    """The signed-in person. Not signed in (or idle too long): a GET is sent to the sign-in page
    (303), anything else gets the 401 page."""
    return await console_of(request).viewer(request)


def require_role(*roles: str) -> Callable[..., Awaitable[Viewer]]:
    """A dependency: the viewer if they hold any of `roles` (any scope), else the 403 page
    (`forbidden_role`). Scope checks are the page's: `viewer.has(role, scope)`."""

    async def dependency(
        request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]
    ) -> Viewer:
        request.state.viewer = viewer  # for the page's header (also when tests override it)
        if not any(viewer.has(role) for role in roles):
            raise ConsoleError(403, "forbidden_role", message_for("forbidden_role"))
        return viewer

    return dependency


async def check_csrf(request: Request) -> AsyncIterator[None]:
    """For every POST: form field `csrf_token` or header `X-CSRF-Token` must equal the session's
    token; else the 403 page (`csrf_failed`). A form read here is closed when the request ends
    (a route without form fields of its own would otherwise leave its uploaded files open)."""
    form = None
    try:
        expected = request.session.get("csrf")
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not isinstance(expected, str) or not sent or not secrets.compare_digest(sent, expected):
            raise ConsoleError(403, "csrf_failed", message_for("csrf_failed"))
        yield
    finally:
        if form is not None:
            await form.close()


def _signin_router(console: Console) -> APIRouter:
    """`GET|POST <home>/signin`, `GET <home>/callback`, `POST <home>/signout`."""
    router = APIRouter(prefix=console.home, include_in_schema=False)

    @router.get("/signin")
    async def signin_page(
        request: Request, next: str | None = None, expired: str | None = None
    ) -> Response:
        return console.render(
            request,
            "console/signin.html",
            {
                "next": safe_next(next, console.home),
                "expired": expired is not None,
                "signed_out": "signed_out" in request.query_params,
                "mobile_id": console.signin is not None,
            },
        )

    @router.post("/signout", dependencies=[Depends(check_csrf)])
    async def signout(request: Request) -> Response:
        console.sign_out(request)
        return RedirectResponse(f"{console.home}/signin?signed_out=1", 303)

    if console.signin is not None:
        _add_mobile_id_signin(router, console, console.signin)
    return router


def _add_mobile_id_signin(router: APIRouter, console: Console, signin: SignInConfig) -> None:
    """`POST <home>/signin` (to the login service) and `GET <home>/callback` (back from it)."""
    client = console.oauth.create_client(_CLIENT)

    @router.post("/signin", dependencies=[Depends(check_csrf)])
    async def signin_start(request: Request, next: str = Form("")) -> Response:
        request.session["next"] = safe_next(next, console.home)
        redirect_uri = f"{signin.base_url.rstrip('/')}{console.home}/callback"
        try:
            response: Response = await client.authorize_redirect(request, redirect_uri)
        except (OAuthError, httpx.HTTPError, ValueError) as exc:
            log.warning("console sign-in could not start: %r", exc)
            raise ConsoleError(502, "login_unavailable", message_for("login_unavailable")) from None
        response.status_code = 303  # a form was posted: the browser follows with a GET
        return response

    @router.get("/callback")
    async def callback(request: Request) -> Response:
        try:
            token = await client.authorize_access_token(request)
        except OAuthError as exc:
            log.info("console sign-in refused: %s", exc.error)
            raise ConsoleError(400, "signin_failed", message_for("signin_failed")) from None
        except (httpx.HTTPError, ValueError, JoseError, JoseRfcError) as exc:  # down; bad token
            log.warning("console sign-in failed: %r", exc)
            raise ConsoleError(400, "signin_failed", message_for("signin_failed")) from None
        claims = token.get("userinfo") or {}
        number = claims.get("sub")
        if not isinstance(number, str) or not number:
            raise ConsoleError(400, "signin_failed", message_for("signin_failed"))
        target = safe_next(request.session.get("next"), console.home)
        amr = claims.get("amr")
        console.sign_in(
            request,
            number,
            str(claims.get("name") or number),
            amr=[str(a) for a in amr] if isinstance(amr, list) else [],
            sid=str(claims["sid"]) if "sid" in claims else None,
        )
        if console.on_signin is not None:
            await console.on_signin(request, claims)
        return RedirectResponse(target, 303)


class _IdleTimeout:
    """Ends a session idle longer than the console's timeout (by the console's clock), past its
    lifetime or signed out elsewhere, and records activity on every request of a signed-in
    person."""

    def __init__(self, app: Any, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "session" in scope:
            session = scope["session"]
            if "who" in session:
                now = self.console.clock()
                if not self.console.session_alive(session, now):
                    session.clear()
                    scope.setdefault("state", {})["console_expired"] = True
                else:
                    session["seen"] = now
        await self.app(scope, receive, send)


class _RefusalsAsPages:
    """On console pages, a JSON refusal answered before the app's handlers run (the edge's
    413 for a body too large, 400 for a NUL byte) becomes the error page: same status, same
    code. Sits inside the session middleware, outside the app's edge."""

    def __init__(self, app: Any, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.console.is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                is_json = headers.get(b"content-type", b"").startswith(b"application/json")
                if message["status"] >= 400 and is_json:
                    start.update(message)
                    return
            elif message["type"] == "http.response.body" and start:
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._page(scope, receive, send, start["status"], b"".join(body))
                return
            await send(message)

        await self.app(scope, receive, capture)

    async def _page(self, scope: Any, receive: Any, send: Any, status: int, body: bytes) -> None:
        try:
            code = str(json.loads(body)["error"])
        except (ValueError, KeyError, TypeError):
            code = "server_error" if status >= 500 else "invalid_request"
        request = Request(scope, receive)
        page = self.console.error_page(request, ConsoleError(status, code, message_for(code)))
        await page(scope, receive, send)
