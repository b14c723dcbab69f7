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
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from console.web import Console, SignInConfig
from mobileid.console_setup import is_loopback_http
from mobileid.db import connection_transaction
from mobileid.edge import Refusal, ServiceErrors, install_edge, json_response
from mobileid.settings import GateSettings, SettingsError
from mobileid.throttle import FailureThrottle
from vc.private_files import UnsafePermissions, refuse_if_open, write_private_file
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


SESSION_KEY_FILE = "console-session.key"
"""In the gate's directory: the key signing its console's session cookies, made on first use."""


def gate_console_of(
    service: GateService,
    settings: GateSettings,
    *,
    data_dir: Path,
    base_url: str,
    client_kwargs: dict[str, Any] | None = None,
    transport: Any = None,
) -> Console | None:
    """The gate's console from its settings (None when `MOBILEID_GATE_CONSOLE_LOGIN_URL` is
    unset); `SettingsError` if a secret file is missing or open to others. `client_kwargs` and
    `transport` reach the login and issuer HTTP clients (tests with their own PKI)."""
    if settings.console_login_url is None:
        return None
    assert settings.console_client_id and settings.console_issuer_url  # the settings check
    assert settings.console_grants_token_file is not None
    base_url = (settings.console_base_url or base_url).rstrip("/")
    secret_file = settings.console_client_secret_file
    return gate_console(
        service,
        roles=IssuerGrants(
            settings.console_issuer_url,
            _secret(settings.console_grants_token_file, "MOBILEID_GATE_CONSOLE_GRANTS_TOKEN_FILE"),
            transport=transport,
        ),
        signin=SignInConfig(
            login_url=settings.console_login_url,
            client_id=settings.console_client_id,
            client_secret=(
                _secret(secret_file, "MOBILEID_GATE_CONSOLE_CLIENT_SECRET_FILE")
                if secret_file is not None
                else None
            ),
            base_url=base_url,
            client_kwargs=client_kwargs or {},
        ),
        session_secret=_session_key(data_dir / SESSION_KEY_FILE),
        secure_cookies=not is_loopback_http(base_url),
    )


def _secret(path: Path, variable: str) -> str:
    """A one-line secret from a file only its owner may read."""
    try:
        refuse_if_open(path)
        value = path.read_text(encoding="utf-8").strip()
    except UnsafePermissions as exc:
        raise SettingsError(f"{variable}: {exc.detail}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{variable}: cannot read {path}: {exc}") from None
    if not value:
        raise SettingsError(f"{variable}: {path} is empty")
    return value


def _session_key(path: Path) -> bytes:
    try:
        refuse_if_open(path)
        if path.is_file():
            key = path.read_bytes()
            if len(key) >= 32:
                return key
        key = secrets.token_bytes(32)
        write_private_file(path, key)
        return key
    except UnsafePermissions as exc:
        raise SettingsError(f"console session key: {exc.detail}") from None


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
