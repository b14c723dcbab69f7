"""Settings from the environment (prefix `MOBILEID_`), built by a factory, never at import."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vc.sealing import PLACEHOLDER_SECRET, placeholder_problem

__all__ = ["PLACEHOLDER_SECRET", "Settings", "SettingsError", "get_settings"]


class SettingsError(ValueError):
    """The configuration cannot be used (e.g. a placeholder secret in production)."""


class Settings(BaseSettings):
    """Everything configurable; see `mobileid --help` and the README for the variables."""

    model_config = SettingsConfigDict(env_prefix="MOBILEID_", extra="ignore", frozen=True)

    env: Literal["dev", "prod"] = "dev"
    data_dir: Path = Path("data")
    database_url: str | None = None
    """SQLAlchemy URL; default a SQLite file `mobileid.sqlite3` in `data_dir`."""
    issuer_base_url: str = "http://127.0.0.1:8000"
    """The Credential Issuer Identifier: it appears in `iss`, `vct`, offers and metadata."""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    """Keys the HMACs that protect pre-authorized codes and tx_codes at rest, and seals the
    signing keys in the database: every process of one deployment needs the same value."""
    signing_alg: Literal["EdDSA", "ES256"] = "EdDSA"
    credential_lifetime_days: int = Field(default=3 * 365, ge=1, le=10 * 366)
    offer_lifetime_hours: int = Field(default=72, ge=1, le=24 * 30)
    access_token_lifetime_s: int = Field(default=300, ge=30, le=3600)
    dpop_required: bool = False
    """Issue access tokens only bound to the wallet's key by DPoP (RFC 9449; HAIP asks it)."""
    c_nonce_lifetime_s: int = Field(default=300, ge=30, le=3600)
    tx_code_max_attempts: int = Field(default=5, ge=1, le=20)
    status_list_size: int = Field(default=2**20, ge=2**4, le=2**24)
    status_list_ttl_s: int = Field(default=300, ge=1, le=7 * 86400)
    """`ttl` of status list tokens and the `max-age` they are served with."""
    status_list_token_lifetime_s: int = Field(default=86400, ge=60, le=30 * 86400)
    """`exp` - `iat` of status list tokens (re-signed when half has passed)."""
    status_feed_poll_s: float = Field(default=0.2, gt=0, le=60)
    """How often each issuer process looks for publications to announce on the change feed
    (part of a revocation's time to reach online gates)."""
    status_feed_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    """A comment line on idle feed connections, so subscribers and proxies see them alive."""
    api_token_lifetime_days: int = Field(default=90, ge=1, le=3650)
    """How long a new HR API token works (`mobileid admin create-token --days` overrides)."""
    throttle_max_failures: int = Field(default=10, ge=1, le=10_000)
    """Failed HR API tokens one client address may present per window before it gets 429."""
    throttle_window_s: int = Field(default=60, ge=1, le=86400)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    outbox_poll_s: float = Field(default=1.0, gt=0, le=3600)
    outbox_console: bool = True
    """Development sender: also show each SMS on the console (it always writes dev-sms.log)."""
    sms_gateway_url: str | None = None
    """The HTTP SMS gateway (JSON POST `{to, text, id}`, bearer token); required outside dev.
    Unset in dev: SMS are only shown (console, `<data_dir>/dev-sms.log`), never sent."""
    sms_gateway_token: SecretStr | None = None
    sms_gateway_timeout_s: float = Field(default=10.0, gt=0, le=120)
    docs: bool = True

    @field_validator("issuer_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("issuer_base_url must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        problem = placeholder_problem("MOBILEID_SECRET_KEY", self.secret_key.get_secret_value())
        if self.env != "dev" and problem:
            raise SettingsError(problem)
        if self.env != "dev" and not self.issuer_base_url.startswith("https://"):
            raise SettingsError("MOBILEID_ISSUER_BASE_URL must be https outside dev")
        self._check_sms_gateway()
        return self

    def _check_sms_gateway(self) -> None:
        url = self.sms_gateway_url
        if url is None:
            if self.env != "dev":
                raise SettingsError(
                    "MOBILEID_SMS_GATEWAY_URL is required outside dev "
                    "(the development SMS sender sends nothing)"
                )
            return
        if not url.startswith("https://" if self.env != "dev" else ("https://", "http://")):
            raise SettingsError("MOBILEID_SMS_GATEWAY_URL must be https outside dev")
        if self.sms_gateway_token is None:
            raise SettingsError("MOBILEID_SMS_GATEWAY_TOKEN is required with a gateway URL")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mobileid.sqlite3').resolve()}"

    @property
    def dev_sms_log_path(self) -> Path:
        """Where the development sender shows SMS (0600); never written outside dev."""
        return self.data_dir / "dev-sms.log"

    @property
    def legacy_outbox_log_path(self) -> Path:
        """Where releases before migration 0006 logged every SMS, links and codes included."""
        return self.data_dir / "outbox.log"

    @property
    def keys_dir(self) -> Path:
        """Where releases before migration 0004 kept the signing keys as plaintext files; they
        are moved into the database (sealed) at the first start and the files removed."""
        return self.data_dir / "issuer_keys"


def get_settings(**overrides: object) -> Settings:
    """Read the environment (and explicit overrides) into a `Settings`."""
    return Settings(**overrides)  # type: ignore[arg-type]
