"""One key set per deployment, sealed in the database (issue "Secrets at rest", points 2 and 3).

Written as the attacks and accidents they answer: two issuers with their own data directories on
one database, two of them starting at the same moment, a process given another deployment's
secret, a key directory left by an earlier release (or by another deployment), and a rotation
made by one process while another keeps serving.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import issuer.keys.store
from issuer.errors import KeyStoreError
from issuer.keys.rotation import rotate_signing_key
from issuer.keys.signing import retire_signing_key
from issuer.migrate import upgrade_database
from issuer.models import SigningKeyRecord
from issuer.status.slots import current_status_list
from mobileid.cli import app as cli
from mobileid.db import create_db_engine
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import Settings, get_settings
from vc.jws import decode_unverified
from vc.keys import generate_private_key
from vc.private_files import ensure_private_dir
from vc.sealing import is_sealed

ROOT = Path(__file__).resolve().parents[3]
SECRET = "deployment-secret-" + "a" * 32
OTHER_SECRET = "another-deployment-" + "b" * 32


def _settings(tmp_path: Path, database_url: str, name: str, **overrides: Any) -> Settings:
    return get_settings(
        data_dir=tmp_path / name,
        database_url=database_url,
        secret_key=overrides.pop("secret_key", SECRET),
        outbox_console=False,
        status_list_size=1024,
        **overrides,
    )


def _env(settings: Settings) -> dict[str, str]:
    return {
        "MOBILEID_DATA_DIR": str(settings.data_dir),
        "MOBILEID_DATABASE_URL": settings.resolved_database_url,
        "MOBILEID_SECRET_KEY": settings.secret_key.get_secret_value(),
        "MOBILEID_OUTBOX_CONSOLE": "false",
    }


@pytest.fixture
def runtimes() -> Iterator[Callable[[Settings], IssuerRuntime]]:
    opened: list[IssuerRuntime] = []

    def start(settings: Settings) -> IssuerRuntime:
        runtime = open_issuer_runtime(settings)
        opened.append(runtime)
        return runtime

    yield start
    for runtime in opened:
        runtime.close()


def _stored(runtime: IssuerRuntime) -> list[tuple[int, str]]:
    with runtime.unit_of_work() as s:
        return [tuple(r) for r in s.execute(select(SigningKeyRecord.number, SigningKeyRecord.kid))]


def _write_legacy_key(keys_dir: Path, number: int, **fields: Any) -> str:
    """A key file as releases before migration 0004 wrote them (private JWK in plaintext)."""
    ensure_private_dir(keys_dir.parent)
    ensure_private_dir(keys_dir)
    key = generate_private_key("EdDSA")
    kid = key.public_key.thumbprint()
    doc = {"kid": kid, "alg": "EdDSA", "created_at": int(time.time()) - 86400, **fields}
    doc["jwk"] = key.to_jwk(private=True)
    path = keys_dir / f"key-{number:04d}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    return kid


def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_one_key_set_per_deployment(database_url: str, tmp_path: Path, runtimes) -> None:
    """Two issuers with their own data directories on one database sign with the same key, and
    neither re-signs the status list the other published (it used to flip on every read)."""
    a = runtimes(_settings(tmp_path, database_url, "a"))
    b = runtimes(_settings(tmp_path, database_url, "b"))
    assert a.keyring.active.kid == b.keyring.active.kid
    assert a.keyring.jwks() == b.keyring.jwks()
    assert len(_stored(a)) == 1
    assert not (tmp_path / "a" / "issuer_keys").exists()
    assert not (tmp_path / "b" / "issuer_keys").exists()

    with a.unit_of_work() as s:
        list_id = current_status_list(s, a.config, a.clock()).id
    served = []
    for runtime in (a, b, a, b, b, a):
        with runtime.unit_of_work() as s:
            token = runtime.status.token(s, list_id, keyring=runtime.keyring, now=runtime.clock())
        served.append((token.token, token.etag))
    assert len(set(served)) == 1, "the status list was re-signed between reads"
    assert decode_unverified(served[0][0])[0]["kid"] == a.keyring.active.kid


def test_one_key_set_per_deployment_on_a_concurrent_first_start(
    database_url: str, tmp_path: Path, runtimes, monkeypatch
) -> None:
    """Four issuers start together on an empty database: one key is made, all sign with it.

    On PostgreSQL every start is held until all of them have found the table empty, so all four
    really insert and three must lose and read the winner's key. (SQLite serializes the starts
    by its write lock; there the later ones find the first key.)"""
    starts = 4
    inserts: list[str] = []
    real_insert = issuer.keys.store.insert_signing_key

    def counted_insert(session: Any, sealer: Any, key: Any, number: int) -> None:
        inserts.append(key.kid)
        real_insert(session, sealer, key, number)

    monkeypatch.setattr(issuer.keys.store, "insert_signing_key", counted_insert)
    racing = database_url.startswith("postgresql")
    if racing:
        barrier = threading.Barrier(starts, timeout=30)
        real_load = issuer.keys.store.load_keyring
        waited: set[int] = set()

        def load_then_wait(session: Any, sealer: Any) -> Any:
            ring = real_load(session, sealer)
            if threading.get_ident() not in waited:
                waited.add(threading.get_ident())
                barrier.wait()
            return ring

        monkeypatch.setattr(issuer.keys.store, "load_keyring", load_then_wait)
    settings = [_settings(tmp_path, database_url, f"p{n}") for n in range(starts)]
    engine = create_db_engine(settings[0].resolved_database_url)
    upgrade_database(engine)  # the schema first: these starts race for the key, not the DDL
    engine.dispose()
    results: list[Any] = [None] * starts

    def start(n: int) -> None:
        try:
            results[n] = runtimes(settings[n])
        except BaseException as exc:  # reported below
            results[n] = exc

    threads = [threading.Thread(target=start, args=(n,)) for n in range(starts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, IssuerRuntime) for r in results), results
    kids = {r.keyring.active.kid for r in results}
    assert len(kids) == 1
    assert _stored(results[0]) == [(1, kids.pop())]
    assert len(inserts) == (starts if racing else 1)  # on PostgreSQL three inserts lost


def test_process_with_another_secret_refuses_to_start(
    database_url: str, tmp_path: Path, runtimes
) -> None:
    """A process given another MOBILEID_SECRET_KEY neither makes a key of its own nor signs: it
    stops with one line that names the fix (CLI and `mobileid serve`)."""
    first = runtimes(_settings(tmp_path, database_url, "a"))
    kid = first.keyring.active.kid
    other = _settings(tmp_path, database_url, "b", secret_key=OTHER_SECRET)
    with pytest.raises(KeyStoreError, match="sealed with another MOBILEID_SECRET_KEY"):
        open_issuer_runtime(other)

    result = CliRunner().invoke(cli, ["issuer", "info"], env=_env(other))
    assert result.exit_code == 1 and "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert "key_store_unusable: the signing keys in the database were sealed with another " in (
        message
    )
    assert "give every process of this deployment the same secret" in message

    served = subprocess.run(
        [sys.executable, "-m", "mobileid", "serve", "--port", "0"],
        env={**os.environ, **_env(other)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert served.returncode == 1, (served.stdout, served.stderr)
    assert "sealed with another MOBILEID_SECRET_KEY" in " ".join(served.stderr.split())
    assert "Traceback" not in served.stderr
    assert _stored(first) == [(1, kid)]


def test_legacy_key_directory_is_sealed_into_the_database_and_removed(
    database_url: str, tmp_path: Path, runtimes, caplog
) -> None:
    """An issuer upgraded from the key-file release keeps its keys (and their rotation state);
    the plaintext files are gone after the first start, and the log says so."""
    settings = _settings(tmp_path, database_url, "data")
    until = int(time.time()) + 30 * 86400
    old = _write_legacy_key(settings.keys_dir, 1, publish_until=until)
    new = _write_legacy_key(settings.keys_dir, 2)
    (settings.keys_dir / ".tmp-half-written").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="issuer.keys.store"):
        runtime = runtimes(settings)
    assert [k.kid for k in runtime.keyring.keys] == [old, new]
    assert runtime.keyring.active.kid == new
    assert runtime.keyring.get(old).publish_until == until  # type: ignore[union-attr]
    assert {k["kid"] for k in runtime.keyring.jwks()["keys"]} == {old, new}
    assert not settings.keys_dir.exists()
    assert "removed 3 plaintext key file(s)" in caplog.text
    with runtime.unit_of_work() as s:
        sealed = s.scalars(select(SigningKeyRecord.sealed_private_jwk)).all()
    assert len(sealed) == 2 and all(is_sealed(v) for v in sealed)
    runtime.close()
    assert [k.kid for k in runtimes(settings).keyring.keys] == [old, new]  # and on restart


def test_legacy_key_directory_that_disagrees_with_the_database_refuses_to_start(
    database_url: str, tmp_path: Path, runtimes
) -> None:
    """Keys in a data directory that the database does not have (another deployment's, or this
    issuer's from before it moved) are neither merged nor dropped: the start stops and says how
    to proceed; nothing is changed."""
    first = runtimes(_settings(tmp_path, database_url, "a"))
    before = _stored(first)
    stray = _settings(tmp_path, database_url, "b")
    kid = _write_legacy_key(stray.keys_dir, 1)
    with pytest.raises(KeyStoreError) as refused:
        open_issuer_runtime(stray)
    assert "signing key(s) the database does not have" in refused.value.detail
    assert str(stray.keys_dir) in refused.value.detail and kid[:16] in refused.value.detail
    assert "MOBILEID_DATABASE_URL" in refused.value.detail
    assert (stray.keys_dir / "key-0001.json").exists()
    assert _stored(first) == before


def test_legacy_key_file_others_can_read_refuses_to_start(
    database_url: str, tmp_path: Path, runtimes
) -> None:
    settings = _settings(tmp_path, database_url, "data")
    _write_legacy_key(settings.keys_dir, 1)
    (settings.keys_dir / "key-0001.json").chmod(0o644)
    with pytest.raises(KeyStoreError, match="group or others; chmod 600"):
        open_issuer_runtime(settings)
    (settings.keys_dir / "key-0001.json").chmod(0o600)
    assert len(runtimes(settings).keyring.keys) == 1


def test_rotation_by_one_process_is_followed_by_another_running_one(
    database_url: str, tmp_path: Path, runtimes
) -> None:
    """A server keeps running while another process rotates and then retires a key: within
    about a second it signs with the new key and stops publishing the retired one."""
    server = runtimes(_settings(tmp_path, database_url, "server"))
    server.keys.follow()
    operator = runtimes(_settings(tmp_path, database_url, "operator"))
    first = server.keyring.active.kid
    with operator.unit_of_work() as s:
        rotation = rotate_signing_key(
            s, operator.keys.sealer, alg="ES256", actor="test", now=operator.clock()
        )
    new = rotation.new.kid
    _until(lambda: server.keyring.active.kid == new, "the server kept signing with the old key")
    assert server.keyring.active.alg == "ES256"
    assert {k["kid"] for k in server.keyring.jwks()["keys"]} == {first, new}

    with operator.unit_of_work() as s:
        retire_signing_key(s, first, operator.clock(), "compromised")
    _until(
        lambda: [k["kid"] for k in server.keyring.jwks()["keys"]] == [new],
        "the server kept publishing the retired key",
    )
    with operator.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(SigningKeyRecord)) == 2
    later = server.clock() + timedelta(days=1)
    assert server.keyring.signing_key(later.timestamp()).kid == new
