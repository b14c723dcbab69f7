"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when
MOBILEID_TEST_POSTGRES_URL is set) and the real app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import Served
from sqlalchemy import create_engine, text

POSTGRES_ENV = "MOBILEID_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a temp SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} not set")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class FakeClock:
    """Real time plus an offset that tests can advance (expiry tests)."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def timestamp(self) -> int:
        return int(self().timestamp())


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    clock: FakeClock
    app: Any
    client: httpx.Client

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@pytest.fixture
def server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "MOBILEID_DATA_DIR": str(tmp_path / "data"),
        "MOBILEID_DATABASE_URL": database_url,
        "MOBILEID_OUTBOX_POLL_S": "0.05",
        "MOBILEID_OUTBOX_CONSOLE": "false",
    }


@pytest.fixture
def live_server(
    server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """The real app (issuer) on 127.0.0.1:<free port> in a thread; stopped after the test."""
    from mobileid.app import create_app
    from mobileid.settings import get_settings

    served = Served(None)
    env = dict(server_env, MOBILEID_ISSUER_BASE_URL=served.url, MOBILEID_PORT=str(served.port))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clock = FakeClock()
    try:
        served.app = create_app(get_settings(), clock=clock)
    except BaseException:
        served.close()
        raise
    served.start()
    client = httpx.Client(base_url=served.url, timeout=30)
    try:
        yield LiveServer(served.url, Path(env["MOBILEID_DATA_DIR"]), env, clock, served.app, client)
    finally:
        client.close()
        served.stop()
