"""The login service's ASGI app (`mobileid login serve`): the OpenID4VP verifier and the OpenID
Connect bridge (`verifier.login`) on the shared edge (`mobileid.edge`), with its tables in the
database of `MOBILEID_LOGIN_DATABASE_URL` and a background purge of expired sessions, codes,
tokens and old login records. A revocation the status feed announces (or a list that changed at
its `ttl`, swept at each purge interval) ends the login sessions of that credential, and their
clients get back-channel logout tokens (`verifier.login.backchannel.LogoutSender`).

`open_login_service` is the assembly: settings -> engine, unit of work (`mobileid.db`),
verifier certificate, HTTP client, throttle. `create_login_app` serves it, with the caches'
refresher and the trusted issuers' status-list change feeds (`verifier.status_follow`).
`open_login_console` wires the login administrators' console (`verifier.login.console`, `/admin`)
when `MOBILEID_LOGIN_CONSOLE_CLIENT_ID` is set: it signs in through this very service, as a
client registered like any other (redirect URI `<base_url>/admin/callback`, `sub` the employee
number), and learns roles from the issuer (`verifier.grants`).
`LOGIN_ERRORS` is the service's one HTTP error mapping: every `VerifierError` a route lets
through (the token endpoint's and userinfo's OAuth errors, OpenID4VP's `direct_post` and desk
API errors) becomes `{"error", "error_description"}` with its status; the pages a browser sees
(authorize, continue) answer their errors themselves, as redirects to the client or as pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI
from fastapi.responses import Response

from console.web import Console, SignInConfig
from mobileid.console_setup import is_loopback_http, read_secret_file
from mobileid.db import connection_transaction, create_db_engine
from mobileid.edge import Refusal, ServiceErrors, install_edge, json_response
from mobileid.periodic import every
from mobileid.settings import LoginSettings, setting_example, setting_variable
from mobileid.throttle import FailureThrottle
from vc.openid4vp import MAX_DIRECT_POST_BYTES
from vc.private_files import ensure_private_dir
from verifier.errors import VerifierError
from verifier.fetch import LOOPBACK_HOSTS, FetchError, check_fetch_url, new_http_client
from verifier.grants import IssuerGrants
from verifier.login.api import oidc_router
from verifier.login.backchannel import LogoutSender
from verifier.login.console import CONSOLE_HOME, CONSOLE_NAV, TEMPLATES, login_console_router
from verifier.login.service import (
    LoginService,
    build_login_service,
    end_revoked_sessions,
    purge_all,
)
from verifier.oid4vp.api import oid4vp_router
from verifier.oid4vp.errors import ErrorCode, ProtocolError
from verifier.oid4vp.models import secret_failures
from verifier.refresh import Refresher
from verifier.status_follow import StatusFollower, issuer_feed_sources, list_ages
from verifier.x509 import CertificateError, VerifierCertificate, load_verifier_certificate

__all__ = [
    "LOGIN_ERRORS",
    "LoginConsole",
    "create_login_app",
    "open_login_console",
    "open_login_service",
    "trust_warnings",
]

log = logging.getLogger(__name__)


def _challenge(exc: ProtocolError) -> dict[str, str]:
    """The `WWW-Authenticate` of a 401: Basic for a client that failed to authenticate at the
    token endpoint (RFC 6749 §5.2), Bearer for a missing or unknown token (RFC 6750 §3)."""
    if exc.code == ErrorCode.invalid_client:
        return {"WWW-Authenticate": 'Basic realm="mobileid"'}
    if exc.code == ErrorCode.invalid_token:
        return {"WWW-Authenticate": f'Bearer error="{exc.code}", error_description="{exc.detail}"'}
    return {}


def _login_refusal(exc: Exception) -> Refusal:
    if isinstance(exc, ProtocolError):
        return Refusal(exc.code, exc.detail, exc.status, {**exc.headers(), **_challenge(exc)})
    assert isinstance(exc, VerifierError)
    log.error("a %s reached the edge: %s", type(exc).__name__, exc)
    return Refusal(ErrorCode.server_error, "internal error", 500)


LOGIN_ERRORS = ServiceErrors(party_error=VerifierError, refusal=_login_refusal)


def trust_warnings(settings: LoginSettings) -> list[str]:
    """What whoever starts the service must hear about whom it trusts, one line each: nobody
    (every wallet is refused), loopback http issuers (development), and each trusted issuer whose
    URL the fetch policy refuses (its wallets are refused, with only a line in the log)."""
    issuers = setting_variable(LoginSettings, "trusted_issuers")
    loopback = setting_variable(LoginSettings, "allow_insecure_loopback")
    lines = []
    if not settings.trusted_issuers:
        lines.append(
            f"경고 / warning: no trusted issuer: the login service will refuse every wallet; "
            f"set {issuers} (example: {setting_example(LoginSettings, 'trusted_issuers')})"
        )
    if settings.allow_insecure_loopback:
        lines.append(
            f"개발용 / development only: {loopback}=true: issuers at http loopback URLs "
            "(127.0.0.1, localhost) are trusted"
        )
    for issuer in settings.config().trusted_issuers:
        try:
            check_fetch_url(issuer.issuer, allow_insecure_loopback=settings.allow_insecure_loopback)
        except FetchError:
            parts = urlsplit(issuer.issuer)
            why, fix = "is not https", f"give its https URL in {issuers}"
            if parts.username or parts.password or parts.fragment or not parts.hostname:
                why = "is not usable (no host, or a user, password or fragment in it)"
            elif parts.hostname in LOOPBACK_HOSTS:
                fix += f", or in development set {loopback}=true"
            lines.append(
                f"경고 / warning: trusted issuer {issuer.issuer} {why}: the login service will "
                f"refuse its wallets; {fix}"
            )
    return lines


def open_login_service(
    settings: LoginSettings,
    *,
    clock: Callable[[], float] = time.time,
    client: httpx.Client | None = None,
) -> LoginService:
    """Wire the login service from settings; raises `CertificateError` without a certificate
    (unless requests are unsigned `redirect_uri:` ones), `LoginKeyError` when the stored keys
    do not open with MOBILEID_LOGIN_SECRET_KEY."""
    ensure_private_dir(settings.data_dir)
    certificate: VerifierCertificate | None = None
    try:
        certificate = load_verifier_certificate(settings.certificate_dir)
    except CertificateError:
        if settings.client_id_prefix != "redirect_uri":
            raise
    engine = create_db_engine(settings.db_url)
    http = client if client is not None else new_http_client()
    try:
        return build_login_service(
            settings.config(),
            secret=settings.secret_key.get_secret_value().encode("utf-8"),
            engine=engine,
            unit_of_work=partial(connection_transaction, engine),
            certificate=certificate,
            client=http,
            throttle=FailureThrottle(
                secret_failures,
                max_failures=settings.throttle_max_failures,
                window_s=settings.throttle_window_s,
            ),
            clock=clock,
        )
    except BaseException:
        if client is None:
            http.close()
        engine.dispose()
        raise


@dataclass(frozen=True)
class LoginConsole:
    """The login administrators' console and the role source it closes at shutdown."""

    console: Console
    grants: IssuerGrants


def open_login_console(settings: LoginSettings) -> LoginConsole | None:
    """The `/admin` console from settings, or None when `console_client_id` is unset;
    `ValueError` naming what is unusable (an issuer URL the fetch policy refuses, a secret file
    missing, empty or open to others). Its session cookies are signed with a key derived from
    MOBILEID_LOGIN_SECRET_KEY, which every process of one login service shares (they may not
    share a data directory)."""
    if not settings.console_client_id:
        return None
    assert settings.console_issuer_url and settings.console_grant_token_file  # the validator's
    try:
        check_fetch_url(
            settings.console_issuer_url,
            allow_insecure_loopback=settings.allow_insecure_loopback,
        )
    except FetchError as exc:
        raise ValueError(
            f"MOBILEID_LOGIN_CONSOLE_ISSUER_URL cannot be used: {exc.detail}"
        ) from None
    token = read_secret_file(settings.console_grant_token_file, "grant_reader token")
    secret = (
        read_secret_file(settings.console_client_secret_file, "console client secret")
        if settings.console_client_secret_file
        else None
    )
    session_secret = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"mobileid login console v1", info=b"session"
    ).derive(settings.secret_key.get_secret_value().encode("utf-8"))
    grants = IssuerGrants(settings.console_issuer_url, token)
    console = Console(
        title="로그인 관리 / Login administration",
        templates=TEMPLATES,
        roles=grants,
        signin=SignInConfig(
            login_url=settings.base_url,
            client_id=settings.console_client_id,
            client_secret=secret,
            base_url=settings.base_url,
        ),
        session_secret=session_secret,
        secure_cookies=not is_loopback_http(settings.base_url),
        idle_timeout_s=settings.console_idle_timeout_s,
        home=CONSOLE_HOME,
        nav=CONSOLE_NAV,
    )
    return LoginConsole(console, grants)


def create_login_app(
    service: LoginService, *, purge: bool = True, console: LoginConsole | None = None
) -> FastAPI:
    """The app of one login worker; `purge` runs the purge pass every `purge_every_s`; the
    trust and status caches are refreshed in the background while it runs, and each trusted
    issuer's change feed is followed (unless `status_feed` is off). With `console`, the login
    administrators' pages are served at `/admin`."""
    verifier = service.runtime.vp.verifier
    clock = service.runtime.clock
    refresher = Refresher(verifier.trust, verifier.status, clock=clock)
    logouts = LogoutSender(service.runtime.unit_of_work, clock=clock)

    async def end_revoked(uri: str | None) -> None:
        """Sessions of credentials revoked in list `uri` (every list: None) end; their clients
        hear it by back-channel logout."""
        logouts.send(await asyncio.to_thread(end_revoked_sessions, service, uri))

    feed = (
        StatusFollower(
            verifier.status,
            issuer_feed_sources(service.config.trusted_issuers),
            clock=clock,
            allow_insecure_loopback=service.config.allow_insecure_loopback,
            on_refreshed=end_revoked,
        )
        if service.config.status_feed
        else None
    )

    async def sweep() -> None:
        """Lists that changed at their `ttl` (no feed, or a feed that was down) end sessions
        at the next purge interval."""
        while True:
            await asyncio.sleep(service.config.purge_every_s)
            try:
                await end_revoked(None)
            except Exception:  # tried again at the next interval
                log.exception("ending the sessions of revoked credentials failed")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = (
            [
                asyncio.create_task(
                    every(service.config.purge_every_s, partial(purge_all, service), what="purge")
                ),
                asyncio.create_task(sweep()),
            ]
            if purge
            else []
        )
        refresher.start()
        if feed is not None:
            await feed.start()
        try:
            yield
        finally:
            if feed is not None:
                await feed.stop()
            if console is not None:
                await console.grants.aclose()
            refresher.stop()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await logouts.stop()
            service.close()

    app = FastAPI(
        title="mobileid login (OpenID4VP verifier + OpenID Connect bridge)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.service = service
    app.include_router(oid4vp_router(service.runtime, json_response))
    app.include_router(oidc_router(service.runtime, service.oidc, json_response, logouts))

    @app.get("/health")
    async def health() -> Response:
        return json_response(
            {
                "status": "ok",
                "issuer": service.config.issuer,
                "status_feed": feed.health() if feed is not None else [],
                "status_list_ages": list_ages(verifier.status, clock()),
            }
        )

    if console is not None:
        app.include_router(login_console_router(service))
    install_edge(app, LOGIN_ERRORS, max_body_bytes=MAX_DIRECT_POST_BYTES)
    if console is not None:  # after the edge: its refusals on `/admin` become error pages
        console.console.install(app)
    return app
