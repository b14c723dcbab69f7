"""The remote-work system's ASGI app (`mobileid remote-work serve`): the `remote_work` party's
pages (`/work/...`, signed in through the login service with the console kit) and its
back-channel logout endpoint, on its own database (`MOBILEID_REMOTE_WORK_DATABASE_URL`, SQLite in
`<data dir>/remote-work` by default), with idle work sessions closed every minute.

`open_remote_work` is the assembly (settings -> engine, migrations, console, login keys);
`create_remote_work_app` serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from console.web import Console, SignInConfig
from mobileid.console_setup import is_loopback_http, read_secret_file, session_key
from mobileid.db import connection_transaction, create_db_engine
from mobileid.edge import Refusal, ServiceErrors, install_edge, json_response
from mobileid.periodic import every
from mobileid.settings import RemoteWorkSettings
from remote_work.api import MAX_LOGOUT_BODY_BYTES, backchannel_router
from remote_work.context import RemoteWork
from remote_work.errors import RemoteWorkError
from remote_work.login_keys import LoginKeys
from remote_work.migrate import upgrade_remote_work_database
from remote_work.pages import HOME_PATH, NAV, TEMPLATES, remote_work_router
from remote_work.web import on_signin
from remote_work.work import close_idle_sessions

__all__ = [
    "CALLBACK_PATH",
    "REMOTE_WORK_ERRORS",
    "OpenRemoteWork",
    "create_remote_work_app",
    "open_remote_work",
]

CALLBACK_PATH = f"{HOME_PATH}/callback"
IDLE_SWEEP_S = 60.0


def _refusal(exc: Exception) -> Refusal:
    assert isinstance(exc, RemoteWorkError)
    return Refusal(exc.code, exc.detail, exc.status)


REMOTE_WORK_ERRORS = ServiceErrors(party_error=RemoteWorkError, refusal=_refusal)


@dataclass(frozen=True)
class OpenRemoteWork:
    """The wired system: its context, console and engine (closed by `close`)."""

    remote_work: RemoteWork
    console: Console
    engine: Engine

    def close(self) -> None:
        self.engine.dispose()


def _heads(settings: RemoteWorkSettings) -> Mapping[str, frozenset[str]]:
    return {d: frozenset(numbers) for d, numbers in settings.department_heads.items()}


def open_remote_work(
    settings: RemoteWorkSettings,
    *,
    clock: Callable[[], float] = time.time,
    login_client_kwargs: Mapping[str, Any] | None = None,
) -> OpenRemoteWork:
    """Wire the system from settings; `ValueError` naming what is missing or unreadable.
    `login_client_kwargs` go to the HTTP clients that talk to the login service (a test PKI's
    `verify`, a `transport`)."""
    if not settings.login_url or not settings.client_id:
        raise ValueError(
            "the remote-work system needs MOBILEID_REMOTE_WORK_LOGIN_URL and "
            "MOBILEID_REMOTE_WORK_CLIENT_ID (its registration at the login service)"
        )
    secret = (
        read_secret_file(settings.client_secret_file, "remote-work client secret")
        if settings.client_secret_file
        else None
    )
    kwargs = dict(login_client_kwargs or {})
    session_secret = session_key(settings.data_dir)  # also makes the data directory, 0700
    engine = create_db_engine(settings.db_url)
    try:
        upgrade_remote_work_database(engine)
    except BaseException:
        engine.dispose()
        raise
    remote_work = RemoteWork(
        unit_of_work=partial(connection_transaction, engine),
        clock=clock,
        heads=_heads(settings),
        centres=dict(settings.centres),
        idle_timeout_s=settings.idle_timeout_s,
        login_issuer=settings.login_url,
        client_id=settings.client_id,
        login_keys=LoginKeys(
            settings.login_url,
            transport=kwargs.get("transport"),
            verify=kwargs.get("verify", True),
            clock=clock,
        ),
    )
    console = Console(
        title="원격근무 / Remote work",
        templates=TEMPLATES,
        roles=remote_work.roles,
        signin=SignInConfig(
            login_url=settings.login_url,
            client_id=settings.client_id,
            client_secret=secret,
            base_url=settings.base_url,
            client_kwargs=kwargs,
        ),
        session_secret=session_secret,
        secure_cookies=not is_loopback_http(settings.base_url),
        idle_timeout_s=settings.idle_timeout_s,
        home=HOME_PATH,
        nav=NAV,
        clock=clock,
        session_cookie="remote_work_session",
        on_signin=on_signin,
    )
    return OpenRemoteWork(remote_work, console, engine)


def create_remote_work_app(opened: OpenRemoteWork, *, sweep: bool = True) -> FastAPI:
    """The app; `sweep` closes idle work sessions every `IDLE_SWEEP_S` (pages also close them
    as they are asked for)."""
    rw = opened.remote_work

    def close_idle() -> int:
        with rw.unit_of_work() as db:
            return close_idle_sessions(db, idle_timeout_s=rw.idle_timeout_s, now=rw.clock())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = (
            asyncio.create_task(every(IDLE_SWEEP_S, close_idle, what="idle work sessions"))
            if sweep
            else None
        )
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await rw.login_keys.aclose()

    app = FastAPI(
        title="mobileid remote work (원격근무)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.remote_work = rw
    app.include_router(backchannel_router(rw))
    app.include_router(remote_work_router(opened.console))  # before the console's signout

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse(HOME_PATH, 303)

    @app.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok", "login": rw.login_issuer})

    install_edge(app, REMOTE_WORK_ERRORS, max_body_bytes=MAX_LOGOUT_BODY_BYTES)
    opened.console.install(app)
    return app
