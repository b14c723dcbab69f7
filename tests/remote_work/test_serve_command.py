"""`mobileid remote-work serve`: refuses to start without its registration at the login service,
starts with it (its own SQLite database migrated, in a private data directory)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from mobileid.cli import app as cli

started: list[Any] = []


def _served(app: Any, **options: Any) -> None:
    """Stands in for `uvicorn.run`: the app was built; close its database."""
    started.append(options)
    app.state.remote_work.unit_of_work.args[0].dispose()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(uvicorn, "run", _served)
    started.clear()
    return {"MOBILEID_DATA_DIR": str(tmp_path / "data")}


def test_serve_needs_the_login_service_and_a_client_id(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["remote-work", "serve"], env=env)
    assert result.exit_code == 2
    assert "MOBILEID_REMOTE_WORK_LOGIN_URL" in result.output and not started


def test_bad_json_settings_are_named(env: dict[str, str]) -> None:
    env |= {"MOBILEID_REMOTE_WORK_DEPARTMENT_HEADS": "{not json"}
    result = CliRunner().invoke(cli, ["remote-work", "serve"], env=env)
    assert result.exit_code == 2 and "MOBILEID_REMOTE_WORK_DEPARTMENT_HEADS" in result.output


def test_serve_starts_on_its_own_database(env: dict[str, str], tmp_path: Path) -> None:
    env |= {
        "MOBILEID_REMOTE_WORK_LOGIN_URL": "http://127.0.0.1:9",
        "MOBILEID_REMOTE_WORK_CLIENT_ID": "remote-work",
        "MOBILEID_REMOTE_WORK_CENTRES": '{"sejong-1": "세종"}',
    }
    result = CliRunner().invoke(cli, ["remote-work", "serve", "--port", "9400"], env=env)
    assert result.exit_code == 0, result.output
    assert started == [
        {"host": "127.0.0.1", "port": 9400, "log_level": "warning", "access_log": False}
    ]
    data = tmp_path / "data" / "remote-work"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    database = data / "remote-work.sqlite3"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    engine = create_engine(f"sqlite:///{database}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"rw_plans", "rw_work_sessions", "rw_audit", "alembic_version_remote_work"} <= tables
