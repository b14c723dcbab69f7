"""The login service (`mobileid login serve`): one FastAPI app with the OpenID4VP verifier and
the OpenID Connect bridge, on tables of its own (`login_metadata`, migrated at start-up by
`verifier.migrate`, like the gate's). Any number of processes may share one database: sessions,
codes, tokens and keys (sealed with MOBILEID_LOGIN_SECRET_KEY, `verifier.oidc.keys`) all live
there; each process holds only caches (issuer keys, status lists).

`build_login_service` wires the parts; `create_login_app` serves them, maps every error to the
OAuth shape (`{"error", "error_description"}`) and purges expired sessions, codes, tokens and old
login records in the background. `vc.asgi_guard.RequestGuard` stands in front: bodies over the
largest any route takes, and NUL in a path, query or body, are `invalid_request` before a route
runs; each route may cap its body lower (`read_body`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import Connection, Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from vc.asgi_guard import RequestGuard
from vc.openid4vp import MAX_DIRECT_POST_BYTES
from verifier.migrate import upgrade_verifier_database
from verifier.oid4vp.api import FailureCounter, LoginRuntime, json_response, oid4vp_router
from verifier.oid4vp.errors import ErrorCode, ProtocolError
from verifier.oid4vp.outcomes import purge_expired
from verifier.oid4vp.sessions import VpConfig, VpContext
from verifier.oid4vp.verify import LoginVerifier, login_policy
from verifier.oidc.api import oidc_router
from verifier.oidc.keys import load_or_create_keys, login_key_sealer
from verifier.oidc.provider import OidcConfig, OidcContext, purge_oidc
from verifier.oidc.settings import LoginSettings
from verifier.policy import StalePolicy
from verifier.refresh import Refresher
from verifier.status import StatusCache
from verifier.trust import TrustStore
from verifier.x509 import VerifierCertificate

__all__ = [
    "LoginService",
    "build_login_service",
    "create_login_app",
    "purge_all",
    "unit_of_work",
]

log = logging.getLogger("mobileid.verifier.login")


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """One transaction on a Core connection: commit on success, roll back on error, except for
    a refusal whose `keep_changes` is true (a spent nonce and its login record must stay)."""
    with engine.connect() as conn:
        try:
            yield conn
        except BaseException as exc:
            if getattr(exc, "keep_changes", False):
                conn.commit()
            else:
                conn.rollback()
            raise
        else:
            conn.commit()


@dataclass
class LoginService:
    settings: LoginSettings
    engine: Engine
    runtime: LoginRuntime
    oidc: OidcContext
    client: httpx.Client | None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def build_login_service(
    settings: LoginSettings,
    *,
    engine: Engine,
    unit_of_work: Callable[[], AbstractContextManager[Connection]],
    certificate: VerifierCertificate | None,
    client: httpx.Client | None,
    throttle: FailureCounter,
    clock: Callable[[], float] = time.time,
) -> LoginService:
    """Create the tables and keys if missing, then wire trust, status, pipeline and contexts.
    Raises `LoginKeyError` when the stored keys do not open with the configured secret."""
    upgrade_verifier_database(engine, "login")
    sealer = login_key_sealer(settings.secret_key.get_secret_value().encode("utf-8"))
    keys = load_or_create_keys(engine, sealer)
    policy = login_policy(
        stale_status=StalePolicy(settings.stale_status),
        max_status_age_s=settings.max_status_age_s,
    )
    trust = TrustStore(
        settings.issuers(),
        client=client,
        clock=clock,
        allow_insecure_loopback=settings.allow_insecure_loopback,
    )
    status = StatusCache(trust, client=client, algorithms=policy.algorithms)
    vp = VpContext(
        VpConfig(
            settings.base_url,
            default_prefix=settings.client_id_prefix,
            response_mode=settings.response_mode,
            session_ttl_s=settings.session_ttl_s,
        ),
        certificate,
        LoginVerifier(policy, trust=trust, status=status),
    )
    token = settings.api_token.get_secret_value() if settings.api_token else None
    runtime = LoginRuntime(
        vp,
        unit_of_work,
        clock,
        api_token=token,
        inline_db=engine.dialect.name == "sqlite",
        throttle=throttle,
    )
    oidc = OidcContext(
        OidcConfig(
            settings.base_url,
            code_ttl_s=settings.code_ttl_s,
            token_ttl_s=settings.token_ttl_s,
            retention_days=settings.retention_days,
        ),
        keys,
        vp,
    )
    runtime.oidc = oidc
    return LoginService(settings, engine, runtime, oidc, client)


def purge_all(service: LoginService) -> dict[str, int]:
    """One purge pass: expired sessions (recorded as `session_expired`), codes, tokens, records."""
    rt = service.runtime
    now = rt.clock()
    with rt.unit_of_work() as db:
        sessions = purge_expired(db, now=now)
        counts = purge_oidc(db, now=now, retention_days=service.oidc.config.retention_days)
    return {"sessions": sessions, **counts}


def _error(exc: ProtocolError) -> Response:
    return json_response(exc.body(), status=exc.status, headers=exc.headers())


def _edge_refusal(_path: str, status: int, detail: str) -> Response:
    """A request `RequestGuard` refuses (413, or 400 for NUL): `invalid_request` (RFC 6749 §5.2)."""
    return _error(ProtocolError(ErrorCode.invalid_request, detail, status=status))


def create_login_app(service: LoginService, *, purge: bool = True) -> FastAPI:
    verifier = service.runtime.vp.verifier
    refresher = Refresher(verifier.trust, verifier.status, clock=service.runtime.clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_purger(service)) if purge else None
        refresher.start()
        try:
            yield
        finally:
            refresher.stop()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            service.close()

    app = FastAPI(
        title="mobileid login (OpenID4VP verifier + OpenID Connect bridge)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(RequestGuard, max_body_bytes=MAX_DIRECT_POST_BYTES, refuse=_edge_refusal)
    app.state.service = service

    @app.exception_handler(ProtocolError)
    async def protocol_error(_request: Request, exc: ProtocolError) -> Response:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, _exc: RequestValidationError) -> Response:
        return _error(ProtocolError(ErrorCode.invalid_request, "malformed request"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        code = ErrorCode.not_found if exc.status_code == 404 else ErrorCode.invalid_request
        return _error(ProtocolError(code, "no such endpoint or method", status=exc.status_code))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(ProtocolError(ErrorCode.server_error, "internal error"))

    app.include_router(oid4vp_router(service.runtime))
    app.include_router(oidc_router(service.runtime, service.oidc))

    @app.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok", "issuer": service.oidc.config.issuer})

    return app


async def _purger(service: LoginService) -> None:
    every = service.settings.purge_every_s
    while True:
        await asyncio.sleep(every)
        try:
            counts = await asyncio.to_thread(purge_all, service)
        except Exception:  # keep purging later; never take the service down
            log.exception("purge failed")
            continue
        if any(counts.values()):
            log.info("purged %s", counts)
