"""The gate terminal's ASGI app: the scanner's router (`verifier.gate.api`) on the shared edge
(`mobileid.edge`), the gate's background worker for the app's lifetime, and, when asked, the
OpenID4VP desk (`verifier.gate.desk`) with its sessions in the gate's database.

A scan is a decision answered with 200 whatever its bytes; what reaches the gate's error
mapping is a body that is not a scan (too large) or a route that does not exist.

With a console (`gate_console_of`, from the `MOBILEID_GATE_CONSOLE_*` settings) the app also
serves the guard display and the entry records (`verifier.gate.console`): guards sign in with
their mobile ID at the login service and their `gate_operator` grants are asked of the issuer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from console.web import Console
from mobileid.console_setup import console_config, read_secret_file
from mobileid.db import connection_transaction
from mobileid.edge import Refusal, ServiceErrors, install_edge, json_response
from mobileid.settings import GateSettings, SettingsError
from mobileid.throttle import FailureThrottle
from verifier.errors import VerifierError
from verifier.gate.api import SCAN_PATH, gate_router
from verifier.gate.console import gate_console, install_gate_console
from verifier.gate.desk import mount_openid4vp
from verifier.gate.feed import GateFeed
from verifier.gate.service import GateService, GateWorker
from verifier.grants import IssuerGrants
from verifier.oid4vp.models import secret_failures
from verifier.pipeline import MAX_SCAN_BYTES
from verifier.x509 import VerifierCertificate

__all__ = ["GATE_ERRORS", "create_gate_app", "gate_console_of", "mount_desk"]

log = logging.getLogger(__name__)


def _gate_refusal(exc: Exception) -> Refusal:
    assert isinstance(exc, VerifierError)
    return Refusal(exc.code, exc.detail or None)


def _too_large_code(path: str) -> str:
    return "scan_too_large" if path == SCAN_PATH else "request_too_large"


GATE_ERRORS = ServiceErrors(
    party_error=VerifierError, refusal=_gate_refusal, too_large_code=_too_large_code
)


def create_gate_app(
    service: GateService,
    *,
    worker_factory: Callable[[GateService], GateWorker] | None = GateWorker,
    feed: GateFeed | None = None,
    console: Console | None = None,
) -> FastAPI:
    """The ASGI app of one gate; the worker (None: none, as tests drive the gate themselves)
    and the status-list change feed (if it follows one) run for the app's lifetime, and the
    service is closed with it. With a `console`, the guard display and entry records too."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = worker_factory(service) if worker_factory is not None else None
        if worker is not None:
            worker.start()
        if feed is not None:
            await feed.start()
        try:
            yield
        finally:
            if feed is not None:
                await feed.stop()
            if worker is not None:
                worker.stop()
            if console is not None and isinstance(console.roles, IssuerGrants):
                await console.roles.aclose()
            service.close()

    app = FastAPI(
        title=f"mobileid gate {service.policy.gate_id}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.include_router(gate_router(service, json_response, feed))
    install_edge(app, GATE_ERRORS, max_body_bytes=MAX_SCAN_BYTES, binary_paths=(SCAN_PATH,))
    if console is not None:
        install_gate_console(app, service, console)  # after the edge: its errors become pages
    return app


def gate_console_of(
    service: GateService, settings: GateSettings, *, data_dir: Path, base_url: str
) -> Console | None:
    """The gate's console from its settings (None when `MOBILEID_GATE_CONSOLE_LOGIN_URL` is
    unset); `SettingsError` if a secret file is missing or open to others."""
    if settings.console_login_url is None:
        return None
    assert settings.console_issuer_url and settings.console_grants_token_file  # the settings check
    base_url = (settings.console_base_url or base_url).rstrip("/")
    try:
        config = console_config(settings, base_url=base_url, data_dir=data_dir)
        token = read_secret_file(
            settings.console_grants_token_file, "MOBILEID_GATE_CONSOLE_GRANTS_TOKEN_FILE"
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    assert config is not None
    return gate_console(
        service,
        roles=IssuerGrants(settings.console_issuer_url, token),
        signin=config.signin,
        session_secret=config.session_secret,
        secure_cookies=config.secure_cookies,
        idle_timeout_s=config.idle_timeout_s,
    )


def mount_desk(
    app: FastAPI, service: GateService, *, base_url: str, certificate: VerifierCertificate | None
) -> None:
    """Add the OpenID4VP desk to a gate's app: signed requests with a certificate, else unsigned
    by value; failed session handles counted with the login service's default limits."""
    mount_openid4vp(
        app,
        service,
        base_url=base_url,
        certificate=certificate,
        throttle=FailureThrottle(secret_failures),
        unit_of_work=partial(connection_transaction, service.engine),
        respond=json_response,
    )
    log.info("gate %s: OpenID4VP desk at %s/desk", service.policy.gate_id, base_url)
