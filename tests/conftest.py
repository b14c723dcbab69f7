"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when
MOBILEID_TEST_POSTGRES_URL is set) and the real app served by uvicorn on 127.0.0.1 (`server_kit`).
Every pytest-xdist worker has its own temporary directory and its own schemas."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_kit import Served
from sqlalchemy import create_engine, text

with warnings.catch_warnings():
    # authlib's httpx client and JOSE modules (the login tests' relying systems, the browser
    # tests' relying party) imported once with their deprecation notices (httpx -> httpx2,
    # authlib.jose -> joserfc) silenced, since tests turn warnings into errors.
    import authlib.deprecate  # its import puts an "always" filter first ...

    warnings.simplefilter("ignore")  # (... so "ignore" goes in front of it, afterwards)
    import authlib.integrations.httpx_client
    import authlib.integrations.starlette_client
    import authlib.jose  # noqa: F401  (deprecated for joserfc; authlib's own OIDC checks use it)

POSTGRES_ENV = "MOBILEID_TEST_POSTGRES_URL"


def pytest_configure(config: pytest.Config) -> None:
    """pytest-xdist hands its workers the controller's terminal size as COLUMNS and LINES; the
    CLI's consoles, made at import, would keep that width for good, and tests that widen the
    terminal for one command (`COLUMNS` in its env) would see their tables cut at 80 columns."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for name in ("COLUMNS", "LINES"):
            os.environ.pop(name, None)


@pytest.fixture(scope="session", autouse=True)
def _no_real_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing the suite runs writes into the real home: the default data directory (and the
    wallet's, under it) is a temporary one unless a test sets its own."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOBILEID_DATA_DIR", str(home / "mobileid"))
        patch.setenv("XDG_DATA_HOME", str(home / "share"))
        yield


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a temp SQLite file, or a fresh PostgreSQL schema (named after
    the xdist worker and a random part, so parallel workers and runs never share one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} not set")
    schema = f"t_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:16]}"
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


@pytest.fixture(scope="session")
def migrated_issuer_sqlite(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """An issuer SQLite database at the newest revision, migrated once per test process: each
    live server on SQLite starts from a copy, as migrating a fresh file is most of its start."""
    from issuer.migrate import upgrade_database
    from mobileid.db import create_db_engine

    path = tmp_path_factory.mktemp("migrated") / "issuer.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    return path.read_bytes()


def _start_from(database_url: str, migrated: bytes) -> None:
    """Put the migrated database where a SQLite URL points (0600, as the service makes it)."""
    if not database_url.startswith("sqlite:///"):
        return
    fd = os.open(
        database_url.removeprefix("sqlite:///"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
    )
    with os.fdopen(fd, "wb") as file:
        file.write(migrated)


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
    server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated_issuer_sqlite: bytes
) -> Iterator[LiveServer]:
    """The real app (issuer) on 127.0.0.1:<free port> in a thread; stopped after the test."""
    from mobileid.app import create_app
    from mobileid.settings import get_settings

    _start_from(server_env["MOBILEID_DATABASE_URL"], migrated_issuer_sqlite)
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
