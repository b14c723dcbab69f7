"""The ASGI application: mounts the parties' routers on one FastAPI app.

`create_app(settings)` does the start-up work (migrations, keys) when called, never at import.
The issuer's errors are mapped to HTTP in `mobileid.http_errors`, on the edge every service
shares (`mobileid.edge`: body cap, NUL refusal, error handlers).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI

from issuer.console import install_issuer_console, issuer_console
from issuer.console.hr_upload import HR_UPLOAD_PATH
from issuer.console.ops import OpsConfig
from issuer.console_api import console_api_router
from issuer.context import IssuerContext
from issuer.hr.api import hr_router
from issuer.hr.uploads import UploadStore
from issuer.lifecycle.api import lifecycle_router
from issuer.messages.outbox import MessageSender
from issuer.models import SecretFailures, metadata
from issuer.oid4vci.api import oid4vci_router
from issuer.status.api import status_router
from issuer.status.feed import StatusFeed
from issuer.status.feed_api import status_feed_router
from mobileid import __version__
from mobileid.console_setup import console_config
from mobileid.docs_ui import install_docs
from mobileid.edge import install_edge
from mobileid.http_errors import ISSUER_ERRORS
from mobileid.outbox_worker import OutboxWorker
from mobileid.runtime import IssuerRuntime, open_issuer_runtime, utc_now
from mobileid.settings import Settings, SettingsError, get_settings
from mobileid.throttle import FailureThrottle

__all__ = ["create_app", "ops_config"]

log = logging.getLogger(__name__)


def ops_config(settings: Settings) -> OpsConfig:
    """What the operators' overview (`issuer.console.ops`, `/console/ops`) asks, from the
    `MOBILEID_OPS_*` settings; mounted with the issuer's console (`ops_router(ops_config(s))`)."""
    return OpsConfig(
        login_url=settings.ops_login_url,
        central_url=settings.ops_central_url,
        gate_urls=tuple(settings.ops_gate_urls),
        timeout_s=settings.ops_timeout_s,
        gate_offline_after_s=settings.ops_gate_offline_after_s,
    )


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    sender: MessageSender | None = None,
    run_outbox: bool = True,
) -> FastAPI:
    """Build the app: issuer (OpenID4VCI + HR API), and its console at `/console` when a login
    service is configured (`MOBILEID_CONSOLE_LOGIN_URL`)."""
    settings = settings or get_settings()
    try:  # before anything is opened: a console set up wrong stops the start
        console_settings = console_config(
            settings, base_url=settings.issuer_base_url, data_dir=settings.data_dir
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    runtime: IssuerRuntime = open_issuer_runtime(settings, clock=clock, sender=sender)
    worker = OutboxWorker(runtime, settings.outbox_poll_s)
    feed = StatusFeed(
        runtime.unit_of_work,
        poll_s=settings.status_feed_poll_s,
        heartbeat_s=settings.status_feed_heartbeat_s,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.keys.follow()  # rotations by other processes (`issuer.keys.store`)
        if run_outbox:
            worker.start()
        try:
            yield
        finally:
            await feed.close()
            worker.stop()
            runtime.close()

    app = FastAPI(
        title="mobileid: 모바일 공무원증 (Mobile Civil Servant ID)",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # `install_docs` below: Swagger UI served by the app, no CDN
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.runtime = runtime
    app.state.status_feed = feed
    app.state.issuer = IssuerContext(
        config=runtime.config,
        keys=runtime.keys,
        status=runtime.status,
        unit_of_work=runtime.unit_of_work,
        clock=clock,
        throttle=FailureThrottle(
            metadata.tables[SecretFailures.__tablename__],
            max_failures=settings.throttle_max_failures,
            window_s=settings.throttle_window_s,
        ),
        wake_outbox=worker.wake,
    )
    with runtime.unit_of_work() as session:  # publish from the committed state (crash recovery)
        report = runtime.status.rebuild(session, keyring=runtime.keyring, now=clock())
    if report.repaired:
        log.warning(
            "%d status list token(s) disagreed with the database and were rebuilt", report.repaired
        )
    app.include_router(oid4vci_router(runtime.config))
    app.include_router(hr_router)
    app.include_router(lifecycle_router)
    app.include_router(status_feed_router)  # before `/status-lists/{list_id}`
    app.include_router(status_router)
    app.include_router(console_api_router)
    if settings.docs:
        install_docs(app)
    app.state.hr_uploads = UploadStore(
        settings.data_dir / "hr-uploads",
        ttl=timedelta(seconds=settings.console_hr_upload_ttl_s),
        max_bytes=settings.console_hr_upload_max_bytes,
    )
    install_edge(
        app,
        ISSUER_ERRORS,
        max_body_bytes=settings.max_body_bytes,
        # the multipart form around the file: its boundaries, headers and other fields
        path_limits={HR_UPLOAD_PATH: settings.console_hr_upload_max_bytes + 64 * 1024},
    )
    if console_settings is not None:  # after the edge: its refusals become the console's pages
        install_issuer_console(
            app,
            issuer_console(
                unit_of_work=runtime.unit_of_work,
                clock=clock,
                signin=console_settings.signin,
                session_secret=console_settings.session_secret,
                secure_cookies=console_settings.secure_cookies,
                idle_timeout_s=console_settings.idle_timeout_s,
            ),
            ops_config(settings),
        )
    log.info("issuer %s ready (kid %s)", runtime.config.base_url, runtime.keyring.active.kid)
    return app
