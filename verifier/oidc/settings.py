"""Settings of the login service (`mobileid login serve`): environment, prefix `MOBILEID_LOGIN_`.

Built by `get_login_settings()`, never at import. The trusted issuers are a JSON list of issuer
URLs (`MOBILEID_LOGIN_TRUSTED_ISSUERS='["https://id.example.go.kr"]'`). `MOBILEID_ENV` is the
deployment's, shared with the issuer: outside `dev` a placeholder secret is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vc.sealing import PLACEHOLDER_SECRET, placeholder_problem
from verifier.trust import TrustedIssuer

__all__ = ["LoginSettings", "get_login_settings"]


class LoginSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOBILEID_LOGIN_", extra="ignore", frozen=True, populate_by_name=True
    )

    env: Literal["dev", "prod"] = Field(default="dev", validation_alias="MOBILEID_ENV")
    """`MOBILEID_ENV`, as for the issuer: outside `dev` placeholder secrets are refused."""
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    """Seals the ID token keys and the pairwise secret in the database; every process of one
    login service needs the same value (`MOBILEID_LOGIN_SECRET_KEY`)."""

    base_url: str = "http://localhost:8300"
    """Where wallets and browsers reach this service; the OIDC `iss` and the OpenID4VP URIs."""
    database_url: str | None = None
    """SQLAlchemy URL; default `login.sqlite3` in `data_dir`. Share it between processes."""
    data_dir: Path = Path("data/login")
    cert_dir: Path | None = None
    """Verifier certificate (`mobileid verifier init-cert`); default `<data_dir>/cert`."""
    trusted_issuers: list[str | dict[str, Any]] = Field(default_factory=list)
    """Issuer URLs, or objects as in gate policies (`issuer`, `vct_values`, `status_origins`)."""
    allow_insecure_loopback: bool = False
    """Fetch issuer metadata and status lists over http from 127.0.0.1 (development, tests)."""
    client_id_prefix: Literal["x509_san_dns", "x509_hash", "redirect_uri"] = "x509_hash"
    """HAIP's `x509_hash` by default; `x509_san_dns` for wallets of earlier drafts."""
    response_mode: Literal["direct_post", "direct_post.jwt"] = "direct_post.jwt"
    """HAIP's `direct_post.jwt` by default: wallets encrypt their answer to a fresh key per
    session; plain `direct_post` only for wallets that cannot."""
    session_ttl_s: float = Field(default=300.0, ge=10, le=3600)
    code_ttl_s: float = Field(default=60.0, ge=10, le=600)
    token_ttl_s: float = Field(default=600.0, ge=60, le=86400)
    retention_days: int = Field(default=365, ge=1, le=3650)
    """How long login records are kept (`mobileid login purge`, and the service itself daily)."""
    stale_status: Literal["fail_closed", "fail_open"] = "fail_closed"
    max_status_age_s: float = Field(default=3600.0, ge=1)
    purge_every_s: float = Field(default=60.0, gt=0)
    api_token: SecretStr | None = None
    """Bearer token desks and terminals use for `POST /oid4vp/sessions`; unset: API mode off."""
    throttle_max_failures: int = Field(default=10, ge=1, le=10_000)
    """Failed secrets (session handles, client secrets, the API token: each counted apart) one
    client address may present per window before it gets 429 `too_many_attempts`."""
    throttle_window_s: int = Field(default=60, ge=1, le=86400)
    host: str = "127.0.0.1"
    port: int = Field(default=8300, ge=0, le=65535)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("trusted_issuers")
    @classmethod
    def _issuers(cls, value: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        for entry in value:
            TrustedIssuer.from_json({"issuer": entry} if isinstance(entry, str) else entry)
        return [v.rstrip("/") if isinstance(v, str) else v for v in value]

    @model_validator(mode="after")
    def _refuse_placeholder(self) -> LoginSettings:
        problem = placeholder_problem(
            "MOBILEID_LOGIN_SECRET_KEY", self.secret_key.get_secret_value()
        )
        if self.env != "dev" and problem:
            raise ValueError(problem)
        return self

    def issuers(self) -> list[TrustedIssuer]:
        return [
            TrustedIssuer.from_json({"issuer": e} if isinstance(e, str) else e)
            for e in self.trusted_issuers
        ]

    @property
    def certificate_dir(self) -> Path:
        return self.cert_dir or self.data_dir / "cert"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'login.sqlite3').resolve()}"


def get_login_settings(**overrides: Any) -> LoginSettings:
    return LoginSettings(**overrides)
