"""Private keys are never plaintext in a database (issue "Secrets at rest", point 2).

Written as the attack: someone with a copy of the database (a backup, a replica, read access to
the tables) but not the deployment secrets reads every row of the key tables, and on SQLite the
database file and its write-ahead log byte for byte, looking for key material. The issuer and
the login service share one database here, as a small deployment on one PostgreSQL might.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine
from typer.testing import CliRunner

from mobileid.cli import app as cli
from mobileid.db import create_db_engine
from mobileid.login_app import open_login_service
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import LoginSettings, get_settings
from vc.sealing import is_sealed

ISSUER_SECRET = "issuer-secret-" + "e" * 32
LOGIN_SECRET = "login-secret-" + "f" * 32
SEALED_COLUMNS = {"issuer_signing_keys": "sealed_private_jwk", "verifier_oidc_keys": "material"}
JWK_PRIVATE_MEMBER = re.compile(r'"(d|p|q|dp|dq|qi)"\s*:')


def _rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.exec_driver_sql(f"SELECT * FROM {table}").mappings()]


def _cli(env: dict[str, str], *args: str) -> None:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output


def test_private_keys_never_plaintext_in_database(database_url: str, tmp_path: Path) -> None:
    env = {
        "MOBILEID_DATA_DIR": str(tmp_path / "data"),
        "MOBILEID_DATABASE_URL": database_url,
        "MOBILEID_SECRET_KEY": ISSUER_SECRET,
        "MOBILEID_OUTBOX_CONSOLE": "false",
    }
    settings = get_settings(
        data_dir=tmp_path / "data", database_url=database_url, secret_key=ISSUER_SECRET
    )
    open_issuer_runtime(settings).close()  # first start: the first key
    _cli(env, "issuer", "rotate-key")
    _cli(env, "issuer", "rotate-key", "--alg", "ES256", "--activate-after", "600")
    first = open_issuer_runtime(settings)
    kids = [k.kid for k in first.keyring.keys]
    first.close()
    _cli(
        env, "issuer", "rotate-key", "--compromised", kids[1]
    )  # the signing key: a fourth replaces it
    issuer = open_issuer_runtime(settings)
    material = [k.key.to_jwk(private=True)["d"] for k in issuer.keyring.keys]
    issuer.close()
    assert len(material) == 4

    login = open_login_service(
        LoginSettings(
            database_url=database_url,
            data_dir=tmp_path / "login",
            client_id_prefix="redirect_uri",
            secret_key=LOGIN_SECRET,
        )
    )
    keys = login.oidc.keys
    material.append(keys.pairwise_secret.hex())
    for signing in keys.signing.values():
        der = signing.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pem_body = signing.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        material += [pem_body.splitlines()[1], der.hex()]
    login.close()
    login.engine.dispose()

    engine = create_db_engine(database_url)
    try:
        for table, sealed_column in SEALED_COLUMNS.items():
            rows = _rows(engine, table)
            assert rows, table
            for row in rows:
                assert is_sealed(row[sealed_column]), (table, sealed_column)
                for value in map(str, row.values()):
                    assert "-----BEGIN" not in value and not JWK_PRIVATE_MEMBER.search(value)
                    assert not any(secret in value for secret in material), table
    finally:
        engine.dispose()
    if database_url.startswith("sqlite"):
        database = Path(database_url.removeprefix("sqlite:///"))
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                raw = path.read_bytes()
                assert b"-----BEGIN" not in raw
                assert not any(secret.encode() in raw for secret in material), path.name
