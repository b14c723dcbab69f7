"""Keys and personal data are readable by the service account only (0600 files, 0700 dirs),
whatever the umask, and a service refuses to start on a key or data directory others can read.

Written as the attack: another local user lists the data directories and reads whatever the
mode bits let them.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobileid.db import create_db_engine
from vc.private_files import (
    UnsafePermissions,
    ensure_private_dir,
    ensure_private_file,
    permission_problem,
    write_private_file,
)
from verifier.x509 import create_local_pki, load_verifier_certificate

ROOT = Path(__file__).resolve().parents[2]
PIN = "135790"


def _open_to_others(top: Path) -> list[str]:
    """Every path under `top` (and `top`) that group or others can reach, with its mode."""
    found = []
    for path in [top, *top.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(top.parent)} {mode:04o}")
    return found


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mobileid(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process whose umask lets everyone read (022)."""
    return subprocess.run(
        [sys.executable, "-m", "mobileid", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
        check=False,
    )


def test_keys_and_personal_data_are_readable_by_the_service_account_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        "MOBILEID_DATA_DIR": str(data),
        "MOBILEID_LOGIN_DATA_DIR": str(data / "login"),
        "MOBILEID_WALLET_DIR": str(tmp_path / "wallet"),
    }
    steps = [
        ("hr", "import", "examples/employees.csv"),
        ("verifier", "init-cert", "--dns", "login.test"),
        ("login", "add-client", "--name", "t", "--redirect-uri", "https://rp.test/cb"),
        ("gate", "sync", "--policy", "examples/gate-sejong.yaml", "--from-issuers"),
        ("wallet", "init", "--pin", PIN),
    ]
    for step in steps:
        result = _mobileid(env, *step)
        assert result.returncode == 0, (step, result.stdout, result.stderr)
    files = [p for p in [*data.rglob("*"), *(tmp_path / "wallet").rglob("*")] if p.is_file()]
    names = {p.name for p in files}
    assert {"mobileid.sqlite3", "login.sqlite3", "gate.sqlite3", "verifier.key.pem"} <= names, names
    assert _open_to_others(data) == []
    assert _open_to_others(tmp_path / "wallet") == []


def test_files_are_private_whatever_the_umask_in_process(tmp_path: Path, loose_umask) -> None:
    """The same without the command's own umask: each place that creates a file sets its mode."""
    database = tmp_path / "db" / "x.sqlite3"
    engine = create_db_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES ('홍길동')")
    assert {p.name for p in database.parent.iterdir()} >= {"x.sqlite3", "x.sqlite3-wal"}
    create_local_pki(tmp_path / "cert", "gate.test")
    write_private_file(tmp_path / "records.csv", b"2019-031415,allow\n")
    assert _open_to_others(tmp_path / "db") == []
    assert _open_to_others(tmp_path / "cert") == []
    assert permission_problem(tmp_path / "records.csv") is None
    engine.dispose()


@pytest.mark.parametrize(
    ("make_open", "what"),
    [
        (lambda d: d.chmod(0o755), "data directory"),
        (lambda d: (d / "mobileid.sqlite3").chmod(0o644), "database"),
        (lambda d: (d / "mobileid.sqlite3-wal").chmod(0o644), "write-ahead log"),
    ],
    ids=["data_dir_0755", "database_0644", "wal_0644"],
)
def test_service_refuses_to_start_on_data_others_can_read(tmp_path: Path, make_open, what) -> None:
    data = tmp_path / "data"
    env = {"MOBILEID_DATA_DIR": str(data)}
    assert _mobileid(env, "hr", "import", "examples/employees.csv").returncode == 0
    (data / "mobileid.sqlite3-wal").touch(mode=0o600)
    make_open(data)
    result = _mobileid(env, "issuer", "status-lists")
    assert result.returncode == 2, (what, result.stdout, result.stderr)
    assert "unsafe permissions" in result.stderr and "chmod" in result.stderr
    assert "Traceback" not in result.stderr


def test_login_refuses_a_verifier_key_others_can_read(tmp_path: Path) -> None:
    directory = tmp_path / "cert"
    create_local_pki(directory, "login.test")
    load_verifier_certificate(directory)
    (directory / "verifier.key.pem").chmod(0o644)
    with pytest.raises(Exception, match=r"others can read.*chmod 600") as refused:
        load_verifier_certificate(directory)
    assert type(refused.value).__name__ == "CertificateError"
    (directory / "verifier.key.pem").chmod(0o600)
    directory.chmod(0o755)
    with pytest.raises(Exception, match=r"chmod -R go-rwx"):
        load_verifier_certificate(directory)


def test_private_file_helpers_refuse_what_others_can_read(tmp_path: Path) -> None:
    open_dir = tmp_path / "shared"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    with pytest.raises(UnsafePermissions) as refused:
        ensure_private_dir(open_dir)
    assert refused.value.code == "unsafe_file_permissions"
    secret = tmp_path / "secret"
    secret.write_bytes(b"k")
    secret.chmod(0o640)
    with pytest.raises(UnsafePermissions, match="chmod 600"):
        ensure_private_file(secret)
    link = tmp_path / "link"
    link.symlink_to(secret)
    assert "symbolic link" in (permission_problem(link) or "")
    fresh = ensure_private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
