"""Settings from the environment (prefix `MOBILEID_`), built by a factory, never at import,
and the configuration files the gate commands read (a gate's policy, the central verifier
service's trust list), turned into the verifier's plain config dataclasses."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Collection, Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from mobileid.console_setup import ConsoleFields
from mobileid.throttle import MAX_FAILURES, WINDOW_S
from vc.sealing import PLACEHOLDER_SECRET, placeholder_problem
from verifier.login.config import ClientIdPrefix, LoginConfig, ResponseMode
from verifier.policy import StalePolicy
from verifier.trust import TrustedIssuer

if TYPE_CHECKING:  # the verifier is imported by the commands that load its files, not by all
    from verifier.central import CentralConfig
    from verifier.policy import GatePolicy

__all__ = [
    "PLACEHOLDER_SECRET",
    "GateSettings",
    "LoginSettings",
    "Settings",
    "SettingsError",
    "SourceError",
    "data_root_origin",
    "default_data_root",
    "explain_settings_error",
    "get_settings",
    "load_central_config",
    "load_gate_policy",
    "setting_example",
    "setting_variable",
]

DATA_DIR_ENV = "MOBILEID_DATA_DIR"
LOOPBACK = "127.0.0.1"
_DATABASE_EXAMPLE = "postgresql+psycopg://mobileid@db.example.go.kr/mobileid"


def default_data_root() -> Path:
    """Where every part keeps its files unless told otherwise: `$MOBILEID_DATA_DIR`, else the
    user's data directory, `${XDG_DATA_HOME:-~/.local/share}/mobileid` on Linux and BSD (the
    application folder click picks on macOS and Windows). Never the current directory, so a
    command run from anywhere finds the same database and keys."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "mobileid"
    import click

    return Path(click.get_app_dir("mobileid"))


def data_root_origin() -> str:
    """Why `default_data_root()` is where it is, for `--verbose` and "not found" messages."""
    if os.environ.get(DATA_DIR_ENV):
        return f"from {DATA_DIR_ENV}"
    return f"default; {DATA_DIR_ENV} unset"


class SettingsError(ValueError):
    """The configuration cannot be used (e.g. a placeholder secret in production)."""


class Settings(ConsoleFields, BaseSettings):
    """Everything configurable; see `mobileid --help` and the README for the variables (the
    issuer's console: `ConsoleFields`, `MOBILEID_CONSOLE_*`)."""

    model_config = SettingsConfigDict(env_prefix="MOBILEID_", extra="ignore", frozen=True)

    env: Literal["dev", "prod"] = "dev"
    data_dir: Path = Field(default_factory=default_data_root)
    """`MOBILEID_DATA_DIR`; default: see `default_data_root`."""
    database_url: str | None = Field(default=None, examples=[_DATABASE_EXAMPLE])
    """SQLAlchemy URL; default a SQLite file `mobileid.sqlite3` in `data_dir`."""
    issuer_base_url: str = Field(
        default="http://127.0.0.1:8000", examples=["https://id.mois.go.kr"]
    )
    """The Credential Issuer Identifier: it appears in `iss`, `vct`, offers and metadata."""
    host: str = LOOPBACK
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
    throttle_max_failures: int = Field(default=MAX_FAILURES, ge=1, le=10_000)
    """Failed HR API tokens one client address may present per window before it gets 429."""
    throttle_window_s: int = Field(default=WINDOW_S, ge=1, le=86400)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    console_hr_upload_max_bytes: int = Field(
        default=16 * 1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024
    )
    """Largest HR export the console takes for a dry run (a national file goes through
    `mobileid hr import`)."""
    console_hr_upload_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    """How long an uploaded HR export waits for "apply" after its dry run (then deleted)."""
    outbox_poll_s: float = Field(default=1.0, gt=0, le=3600)
    outbox_console: bool = True
    """Development sender: also show each SMS on the console (it always writes dev-sms.log)."""
    sms_gateway_url: str | None = Field(default=None, examples=["https://sms.example.go.kr/send"])
    """The HTTP SMS gateway (JSON POST `{to, text, id}`, bearer token); required outside dev.
    Unset in dev: SMS are only shown (console, `<data_dir>/dev-sms.log`), never sent."""
    sms_gateway_token: SecretStr | None = None
    sms_gateway_timeout_s: float = Field(default=10.0, gt=0, le=120)
    docs: bool = True
    ops_login_url: str | None = Field(default=None, examples=["https://login.mois.go.kr"])
    """The login service whose `/health` the operators' overview (`/console/ops`) shows."""
    ops_central_url: str | None = Field(default=None, examples=["https://central.mois.go.kr"])
    """The central verifier: its `/health`, and through it the gates online and offline."""
    ops_gate_urls: list[str] = Field(
        default_factory=list, examples=['["https://gate-1f.mois.go.kr:8100"]']
    )
    """Gates whose own `/health` the overview asks (a JSON list of base URLs)."""
    ops_timeout_s: float = Field(default=2.0, gt=0, le=30)
    ops_gate_offline_after_s: float = Field(default=60.0, ge=15, le=86400)
    """A gate the central verifier has not heard from this long is shown offline (gates send
    records or a heartbeat every 10 s)."""

    @field_validator("ops_login_url", "ops_central_url")
    @classmethod
    def _ops_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("ops_gate_urls")
    @classmethod
    def _ops_gate_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            cls._ops_url(url)
        return [url.rstrip("/") for url in value]

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


_LOGIN = LoginConfig
"""The login service's defaults are its config's (each written once, there)."""


class LoginSettings(BaseSettings):
    """The login service (`mobileid login ...`): prefix `MOBILEID_LOGIN_`; `MOBILEID_ENV` is the
    deployment's, shared with the issuer: outside `dev` a placeholder secret is refused. The
    trusted issuers are a JSON list of issuer URLs or objects as in gate policies
    (`MOBILEID_LOGIN_TRUSTED_ISSUERS='["https://id.example.go.kr"]'`)."""

    model_config = SettingsConfigDict(
        env_prefix="MOBILEID_LOGIN_", extra="ignore", frozen=True, populate_by_name=True
    )

    env: Literal["dev", "prod"] = Field(default="dev", validation_alias="MOBILEID_ENV")
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    """Seals the ID token keys and the pairwise secret in the database; every process of one
    login service needs the same value (`MOBILEID_LOGIN_SECRET_KEY`)."""
    base_url: str = Field(default="http://localhost:8300", examples=["https://login.mois.go.kr"])
    database_url: str | None = Field(default=None, examples=[_DATABASE_EXAMPLE])
    """SQLAlchemy URL; default `login.sqlite3` in `data_dir`. Share it between processes."""
    data_dir: Path = Field(default_factory=lambda: default_data_root() / "login")
    """`MOBILEID_LOGIN_DATA_DIR`; default `login` in the deployment's data directory."""
    cert_dir: Path | None = Field(default=None, examples=["/srv/mobileid/login/cert"])
    """Verifier certificate (`mobileid verifier init-cert`); default `<data_dir>/cert`."""
    trusted_issuers: Annotated[list[str | dict[str, Any]], NoDecode] = Field(
        default_factory=list, examples=['["https://id.mois.go.kr"]']
    )
    """The issuers whose credentials log people in; none: every wallet is refused."""
    allow_insecure_loopback: bool = Field(default=_LOGIN.allow_insecure_loopback, examples=["true"])
    """Development only: also trust issuers at http loopback URLs (127.0.0.1, localhost), for
    their metadata and status lists; otherwise every trusted issuer must be https."""
    client_id_prefix: ClientIdPrefix = _LOGIN.client_id_prefix
    response_mode: ResponseMode = _LOGIN.response_mode
    session_ttl_s: float = Field(default=_LOGIN.session_ttl_s, ge=10, le=3600)
    code_ttl_s: float = Field(default=_LOGIN.code_ttl_s, ge=10, le=600)
    token_ttl_s: float = Field(default=_LOGIN.token_ttl_s, ge=60, le=86400)
    retention_days: int = Field(default=_LOGIN.retention_days, ge=1, le=3650)
    stale_status: StalePolicy = _LOGIN.stale_status
    max_status_age_s: float = Field(default=_LOGIN.max_status_age_s, ge=1)
    status_feed: bool = Field(default=_LOGIN.status_feed, examples=["false"])
    """Follow each trusted issuer's change feed (`/status-lists/events`); off: status lists
    change at their `ttl` only."""
    purge_every_s: float = Field(default=_LOGIN.purge_every_s, gt=0)
    sid_lifetime_s: float = Field(default=_LOGIN.sid_lifetime_s, ge=60, le=31 * 86400)
    """How long after a login its session (`sid`) is tracked: a revocation or logout within
    this time sends the client a back-channel logout token."""
    api_token: SecretStr | None = None
    """Bearer token desks and terminals use for `POST /oid4vp/sessions`; unset: API mode off."""
    throttle_max_failures: int = Field(default=MAX_FAILURES, ge=1, le=10_000)
    """Failed secrets (session handles, client secrets, the API token: each counted apart) one
    client address may present per window before it gets 429 `too_many_attempts`."""
    throttle_window_s: int = Field(default=WINDOW_S, ge=1, le=86400)
    console_client_id: str | None = Field(default=None, examples=["login-console"])
    """The login administrators' console (`/admin`) signs in through this service as this
    registered client (redirect URI `<base_url>/admin/callback`, `sub` the employee number);
    unset: no console."""
    console_client_secret_file: Path | None = Field(
        default=None, examples=["/etc/mobileid/login-console-secret"]
    )
    """A 0600 file holding that client's secret; unset: it is a public client (PKCE only)."""
    console_issuer_url: str | None = Field(default=None, examples=["https://id.mois.go.kr"])
    """The issuer the console asks for a person's roles (`/console/api/grants/...`)."""
    console_grant_token_file: Path | None = Field(
        default=None, examples=["/etc/mobileid/login-grant-reader-token"]
    )
    """A 0600 file holding an issuer API token of role `grant_reader`."""
    console_idle_timeout_s: int = Field(default=900, ge=60, le=86400)
    host: str = "127.0.0.1"
    port: int = Field(default=8300, ge=0, le=65535)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _issuers_json(cls, value: Any) -> Any:
        """The environment gives a JSON list; decoded here so a bad one is an ordinary error."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("not JSON") from None

    @field_validator("trusted_issuers")
    @classmethod
    def _issuers(cls, value: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        for entry in value:
            _trusted_issuer(entry)
        return [v.rstrip("/") if isinstance(v, str) else v for v in value]

    @model_validator(mode="after")
    def _refuse_placeholder(self) -> LoginSettings:
        problem = placeholder_problem(
            "MOBILEID_LOGIN_SECRET_KEY", self.secret_key.get_secret_value()
        )
        if self.env != "dev" and problem:
            raise SettingsError(problem)
        return self

    @model_validator(mode="after")
    def _console_complete(self) -> LoginSettings:
        if self.console_client_id and not (
            self.console_issuer_url and self.console_grant_token_file
        ):
            raise SettingsError(
                "MOBILEID_LOGIN_CONSOLE_CLIENT_ID needs MOBILEID_LOGIN_CONSOLE_ISSUER_URL and "
                "MOBILEID_LOGIN_CONSOLE_GRANT_TOKEN_FILE (where the console learns roles)"
            )
        return self

    def config(self) -> LoginConfig:
        """What the login service itself is configured with (the secrets stay here)."""
        return LoginConfig(
            self.base_url,
            trusted_issuers=tuple(_trusted_issuer(e) for e in self.trusted_issuers),
            allow_insecure_loopback=self.allow_insecure_loopback,
            client_id_prefix=self.client_id_prefix,
            response_mode=self.response_mode,
            session_ttl_s=self.session_ttl_s,
            code_ttl_s=self.code_ttl_s,
            token_ttl_s=self.token_ttl_s,
            retention_days=self.retention_days,
            stale_status=self.stale_status,
            max_status_age_s=self.max_status_age_s,
            status_feed=self.status_feed,
            purge_every_s=self.purge_every_s,
            sid_lifetime_s=self.sid_lifetime_s,
            api_token=self.api_token.get_secret_value() if self.api_token else None,
        )

    @property
    def data_dir_origin(self) -> str:
        """Why `data_dir` is where it is (`--verbose`, "not found" messages)."""
        if "data_dir" in self.model_fields_set:
            return "from MOBILEID_LOGIN_DATA_DIR"
        return f"login in the data directory, {data_root_origin()}"

    @property
    def certificate_dir(self) -> Path:
        return self.cert_dir or self.data_dir / "cert"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'login.sqlite3').resolve()}"


def _trusted_issuer(entry: str | dict[str, Any]) -> TrustedIssuer:
    return TrustedIssuer.from_json({"issuer": entry} if isinstance(entry, str) else entry)


class GateSettings(ConsoleFields, BaseSettings):
    """`mobileid gate ...`: where gate terminals and the central verifier service listen and keep
    their files (prefix `MOBILEID_GATE_`; the data directory is the deployment's
    `MOBILEID_DATA_DIR`). The command-line options override these; what a gate accepts is its
    policy file, what the central service trusts its config file (below). The gate's console
    (`/display`, `/records`): `ConsoleFields` and the fields below, `MOBILEID_GATE_CONSOLE_*`."""

    model_config = SettingsConfigDict(
        env_prefix="MOBILEID_GATE_", extra="ignore", frozen=True, populate_by_name=True
    )

    data_dir: Path = Field(default_factory=default_data_root, validation_alias=DATA_DIR_ENV)
    host: str = LOOPBACK
    port: int = Field(default=8100, ge=0, le=65535)
    """Where the scanner posts (`mobileid gate run`)."""
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "warning"
    """uvicorn's, for gates and the central service alike."""
    central_host: str = LOOPBACK
    central_port: int = Field(default=8200, ge=0, le=65535)
    central_database_url: str | None = Field(default=None, examples=[_DATABASE_EXAMPLE])
    """SQLAlchemy URL of the central service; default `central-verifier.sqlite3` in `data_dir`."""
    console_grants_token_file: Path | None = None
    """A 0600 file holding an issuer API token of role `grant_reader` (reads who may use it)."""
    console_issuer_url: str | None = Field(default=None, examples=["https://mobileid.mois.go.kr"])
    """The issuer asked for grants (`GET /console/api/grants/{employee_number}`)."""
    console_base_url: str | None = Field(default=None, examples=["https://gate-06.example.go.kr"])
    """The gate's URL as guards' browsers reach it; default `http://<host>:<port>`."""

    @model_validator(mode="after")
    def _console_complete(self) -> GateSettings:
        if self.console_login_url is None:
            return self
        missing = [
            name
            for name in ("console_client_id", "console_grants_token_file", "console_issuer_url")
            if getattr(self, name) is None
        ]
        if missing:
            names = ", ".join(setting_variable(GateSettings, n) for n in missing)
            raise SettingsError(f"MOBILEID_GATE_CONSOLE_LOGIN_URL also needs {names}")
        return self

    def gate_dir(self, gate_id: str) -> Path:
        """A gate's own directory: its SQLite store (records, bundle) and its record journal."""
        return self.data_dir / f"gate-{gate_id}"

    @property
    def resolved_central_database_url(self) -> str:
        if self.central_database_url:
            return self.central_database_url
        return f"sqlite:///{(self.data_dir / 'central-verifier.sqlite3').resolve()}"


def setting_variable(model: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from."""
    alias = model.model_fields[field].validation_alias
    if isinstance(alias, str):
        return alias
    return f"{model.model_config.get('env_prefix', '')}{field}".upper()


def setting_example(model: type[BaseSettings], field: str) -> str | None:
    """A value the field takes, shell-quoted: its documented example, else its default."""
    info = model.model_fields[field]
    value = info.examples[0] if info.examples else info.get_default(call_default_factory=True)
    if value is None or isinstance(value, SecretStr | list | dict):
        return None
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, Enum):
        value = value.value
    return shlex.quote(str(value))


def explain_settings_error(
    model: type[BaseSettings],
    exc: ValidationError | SourceError,
    *,
    options: Collection[str] = (),
) -> str:
    """One line for people: each bad variable (or the command-line option among `options` that
    set it), what is wrong with it and an example value; never the value given (a secret?)."""
    if isinstance(exc, SourceError):
        return f"invalid settings: {exc}"
    by_key = {
        (info.validation_alias if isinstance(info.validation_alias, str) else name): name
        for name, info in model.model_fields.items()
    }
    named: dict[str, str] = {}  # one problem per variable: a union reports one per member
    general: list[str] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        field = by_key.get(str(error["loc"][0])) if error["loc"] else None
        if field is None:
            general.append(message)
            continue
        name = (
            f"--{field.replace('_', '-')}" if field in options else setting_variable(model, field)
        )
        example = setting_example(model, field)
        named.setdefault(name, f"{name}: {message}" + (f" (example: {example})" if example else ""))
    if len(named) == 1 and not general:
        return "invalid setting " + next(iter(named.values()))
    return "invalid settings: " + "; ".join([*named.values(), *general])


def _read_config_file(path: Path, what: str) -> Any:
    """A JSON file, or YAML for `.yaml`/`.yml`; `SettingsError` naming `what` if unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read {what} file {path}: {exc.strerror}") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SettingsError(f"{what} file is not YAML: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{what} file is not JSON: {exc}") from None


def load_gate_policy(
    path: Path, *, gate_id: str | None = None, environ: Mapping[str, str] | None = None
) -> GatePolicy:
    """A gate's policy file (`verifier.policy.parse_gate_policy` says what it holds); secrets
    it names by variable (`central_token_env`, `member_id_secret_env`) come from `environ`
    (default: this process's environment). Raises `SettingsError` for a file that cannot be
    read, `PolicyError` for its content."""
    from verifier.policy import parse_gate_policy

    data = _read_config_file(path, "policy")
    return parse_gate_policy(
        data, gate_id=gate_id, environ=os.environ if environ is None else environ
    )


def load_central_config(path: Path, *, environ: Mapping[str, str] | None = None) -> CentralConfig:
    """The central service's file: `trusted_issuers` (as in gate policies), the gates' token
    (`gate_token_env`, the variable holding it, or `gate_token`), `retention_days`,
    `allow_insecure_loopback`; what it leaves out keeps `CentralConfig`'s default."""
    from verifier.central import CentralConfig
    from verifier.trust import TrustedIssuer

    data = _read_config_file(path, "central config")
    environ = os.environ if environ is None else environ
    if not isinstance(data, dict) or not isinstance(data.get("trusted_issuers"), list):
        raise SettingsError("central config needs 'trusted_issuers'")
    token_env = data.get("gate_token_env")
    token = environ.get(token_env) if isinstance(token_env, str) else data.get("gate_token")
    optional: dict[str, Any] = {}
    if "retention_days" in data:
        days = data["retention_days"]
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise SettingsError("'retention_days' must be a whole number of days")
        optional["retention_days"] = days
    if "allow_insecure_loopback" in data:
        optional["allow_insecure_loopback"] = data["allow_insecure_loopback"] is True
    try:
        issuers = tuple(TrustedIssuer.from_json(i) for i in data["trusted_issuers"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise SettingsError(f"unusable trusted issuer: {exc}") from None
    return CentralConfig(
        trusted_issuers=issuers,
        gate_token=token if isinstance(token, str) and token else None,
        **optional,
    )
