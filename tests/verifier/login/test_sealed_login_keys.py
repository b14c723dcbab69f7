"""The login service's ID token keys and pairwise secret, sealed in the database under
MOBILEID_LOGIN_SECRET_KEY (issue "Secrets at rest", points 2 and 3), written as the attacks: a
process of the same login service given another secret, a database an earlier release left in
plaintext, a placeholder secret in production.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError
from sqlalchemy import insert, select
from typer.testing import CliRunner

from mobileid.cli import app as cli
from mobileid.db import create_db_engine
from mobileid.login_app import open_login_service
from mobileid.settings import LoginSettings
from vc.base64url import b64url_decode
from vc.sealing import is_sealed
from verifier.login.keys import LoginKeyError
from verifier.login.models import oidc_keys
from verifier.migrate import upgrade_verifier_database

SECRET = "login-secret-" + "c" * 32
OTHER_SECRET = "other-login-secret-" + "d" * 32


def _settings(tmp_path: Path, database_url: str, **overrides: Any) -> LoginSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path / "login",
        "client_id_prefix": "redirect_uri",  # no verifier certificate needed here
        "secret_key": SECRET,
    }
    return LoginSettings(**{**values, **overrides})


def _started(settings: LoginSettings) -> dict[str, Any]:
    """Start the service as `login serve` does; its JWKS and pairwise secret; then stop it."""
    service = open_login_service(settings)
    try:
        return {"jwks": service.oidc.keys.jwks(), "pairwise": service.oidc.keys.pairwise_secret}
    finally:
        service.close()
        service.engine.dispose()


def _rows(database_url: str) -> dict[str, str]:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(oidc_keys.c.name, oidc_keys.c.material)).all())
    finally:
        engine.dispose()


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def test_login_process_with_another_secret_refuses_to_start(
    database_url: str, tmp_path: Path
) -> None:
    """A second `login serve` on the same database with another secret neither signs nor makes
    keys of its own: it stops with one line that names the fix."""
    first = _started(_settings(tmp_path, database_url))
    stored = _rows(database_url)
    other = _settings(tmp_path, database_url, secret_key=OTHER_SECRET, data_dir=tmp_path / "b")
    with pytest.raises(LoginKeyError, match="sealed with another MOBILEID_LOGIN_SECRET_KEY"):
        open_login_service(other)

    env = {
        "MOBILEID_LOGIN_DATABASE_URL": database_url,
        "MOBILEID_LOGIN_DATA_DIR": str(tmp_path / "b"),
        "MOBILEID_LOGIN_CLIENT_ID_PREFIX": "redirect_uri",
        "MOBILEID_LOGIN_SECRET_KEY": OTHER_SECRET,
        "COLUMNS": "300",
    }
    result = CliRunner().invoke(cli, ["login", "purge"], env=env)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        "the login keys in the database were sealed with another MOBILEID_LOGIN_SECRET_KEY: "
        "give every process of this login service the same secret"
    ) in " ".join(result.output.split())
    assert _rows(database_url) == stored
    assert _started(_settings(tmp_path, database_url)) == first  # the right secret still opens


def test_plaintext_login_keys_of_an_earlier_release_are_sealed_at_start(
    database_url: str, tmp_path: Path
) -> None:
    """The rows an earlier release wrote in plaintext are sealed in place at the first start and
    keep signing: relying systems see the same JWKS, pairwise subjects stay the same."""
    rs256 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    es256 = ec.generate_private_key(ec.SECP256R1())
    pairwise = os.urandom(32).hex()
    engine = create_db_engine(database_url)
    upgrade_verifier_database(engine, "login")
    with engine.begin() as conn:
        for name, material in (
            ("RS256", _pem(rs256)),
            ("ES256", _pem(es256)),
            ("pairwise", pairwise),
        ):
            conn.execute(insert(oidc_keys).values(name=name, material=material, created_at=0.0))
    engine.dispose()

    started = _started(_settings(tmp_path, database_url))
    rows = _rows(database_url)
    assert set(rows) == {"RS256", "ES256", "pairwise"}
    assert all(is_sealed(v) for v in rows.values())
    assert not any("BEGIN" in v or pairwise in v for v in rows.values())
    assert started["pairwise"] == bytes.fromhex(pairwise)
    by_alg = {k["alg"]: k for k in started["jwks"]["keys"]}
    modulus = int.from_bytes(b64url_decode(by_alg["RS256"]["n"]), "big")
    assert modulus == rs256.public_key().public_numbers().n
    assert b64url_decode(by_alg["ES256"]["x"]) == es256.public_key().public_numbers().x.to_bytes(
        32, "big"
    )
    assert _started(_settings(tmp_path, database_url)) == started  # sealed once, opened again
    assert _rows(database_url) == rows


def test_login_refuses_a_placeholder_secret_outside_dev(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOBILEID_ENV", "prod")
    with pytest.raises(ValidationError, match="MOBILEID_LOGIN_SECRET_KEY is a placeholder"):
        LoginSettings(data_dir=tmp_path)
    with pytest.raises(ValidationError, match="MOBILEID_LOGIN_SECRET_KEY is a placeholder"):
        LoginSettings(data_dir=tmp_path, secret_key="short")
    assert LoginSettings(data_dir=tmp_path, secret_key=SECRET).env == "prod"
    result = CliRunner().invoke(
        cli, ["login", "clients"], env={"MOBILEID_LOGIN_DATA_DIR": str(tmp_path / "login")}
    )
    assert result.exit_code == 2 and "MOBILEID_LOGIN_SECRET_KEY is a placeholder" in result.output
    monkeypatch.setenv("MOBILEID_ENV", "dev")
    assert LoginSettings(data_dir=tmp_path).secret_key.get_secret_value()  # dev: the placeholder
