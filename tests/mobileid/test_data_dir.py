"""Where am I: one default data directory whatever the current directory (`$MOBILEID_DATA_DIR`,
else the user's data directory), `--verbose` says which directory and database a command opens
and why, a command that only reads or changes data never creates an empty database, and a
"not found" names the database it looked in."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from mobileid.cli import app as cli
from mobileid.settings import GateSettings, LoginSettings, get_settings

ROOT = Path(__file__).resolve().parents[2]
EMPLOYEES = str(ROOT / "examples/employees.csv")
POLICY = str(ROOT / "examples/gate-sejong.yaml")


def _run(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "300", **env})


def test_the_default_is_the_users_data_directory_not_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOBILEID_DATA_DIR")
    monkeypatch.delenv("MOBILEID_LOGIN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "xdg" / "mobileid"
    assert get_settings().data_dir == GateSettings().data_dir == root
    assert LoginSettings().data_dir == root / "login"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_settings().data_dir == tmp_path / "home" / ".local" / "share" / "mobileid"
    monkeypatch.setenv("MOBILEID_DATA_DIR", str(tmp_path / "mine"))
    assert get_settings().data_dir == GateSettings().data_dir == tmp_path / "mine"
    assert LoginSettings().data_dir == tmp_path / "mine" / "login"


def test_verbose_says_which_data_directory_and_database_and_why(tmp_path: Path) -> None:
    env: dict[str, str | None] = {"MOBILEID_DATA_DIR": None, "XDG_DATA_HOME": str(tmp_path)}
    result = _run(env, "--verbose", "hr", "import", EMPLOYEES)
    root = tmp_path / "mobileid"
    assert result.exit_code == 0, result.output
    assert (
        f"데이터 디렉터리 / data directory: {root} (default; MOBILEID_DATA_DIR unset)"
        in result.stderr
    )
    assert f"database: {root / 'mobileid.sqlite3'} (MOBILEID_DATABASE_URL unset" in result.stderr
    quiet = _run(env, "issuer", "credentials", "2019-031415")
    assert quiet.exit_code == 0 and "data directory" not in quiet.stderr
    login = _run({"MOBILEID_DATA_DIR": str(tmp_path / "d")}, "-v", "login", "clients")
    expected = "(login in the data directory, from MOBILEID_DATA_DIR)"
    assert f"login directory: {tmp_path / 'd' / 'login'} {expected}" in login.stderr


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("issuer", "credentials", "2019-031415"), "mobileid"),
        (("issuer", "revoke", "--employee", "2019-031415", "--reason", "other"), "mobileid"),
        (("issuer", "status-lists"), "mobileid"),
        (("outbox", "list"), "mobileid"),
        (("audit", "list"), "mobileid"),
        (("admin", "tokens", "list"), "mobileid"),
        (("login", "clients"), "login"),
        (("login", "records", "--since", "2026-01-01"), "login"),
        (("login", "disable-client", "x"), "login"),
        (("gate", "records", "--policy", POLICY, "--since", "2026-01-01"), "gate sejong-east-01"),
        (("gate", "purge", "--policy", POLICY), "gate sejong-east-01"),
    ],
    ids=lambda v: "-".join(v[:2]) if isinstance(v, tuple) else None,
)
def test_a_command_that_reads_never_creates_an_empty_database(
    tmp_path: Path, args: tuple[str, ...], what: str
) -> None:
    data = tmp_path / "elsewhere"
    result = _run({"MOBILEID_DATA_DIR": str(data)}, *args)
    assert result.exit_code == 1, result.output
    assert f"no {what} database at {data}" in result.stderr
    assert "mobileid demo" in result.stderr or "gate sync" in result.stderr
    assert not data.exists()


def test_not_found_names_the_database_it_looked_in(tmp_path: Path) -> None:
    env: dict[str, str | None] = {"MOBILEID_DATA_DIR": str(tmp_path / "data")}
    assert _run(env, "hr", "import", EMPLOYEES).exit_code == 0
    missing = _run(env, "issuer", "credentials", "1999-000000")
    assert missing.exit_code == 1
    assert "employee_not_found" in missing.stderr
    assert f"looked in: {tmp_path / 'data' / 'mobileid.sqlite3'}" in missing.stderr
    assert "from MOBILEID_DATA_DIR" in missing.stderr
    add = ("login", "add-client", "--name", "x", "--redirect-uri", "https://rp.test/cb")
    assert _run(env, *add).exit_code == 0
    unknown = _run(env, "login", "disable-client", "nope")
    assert unknown.exit_code == 2
    assert f"no client nope — 찾은 곳 / looked in: {tmp_path / 'data' / 'login'}" in unknown.stderr


def test_an_earlier_releases_database_in_dot_data_is_pointed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mobileid.sqlite3").touch()
    result = _run({"MOBILEID_DATA_DIR": str(tmp_path / "new")}, "outbox", "list")
    assert result.exit_code == 1
    assert f"set MOBILEID_DATA_DIR={tmp_path / 'data'}" in result.stderr
