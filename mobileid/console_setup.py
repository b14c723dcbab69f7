"""Settings of a console, shared by every app that mounts one (issuer now; gate and login
service next): the login service it signs people in with, its client registration there, the idle
timeout, and the session key kept in the data directory.

`ConsoleFields` is a settings mixin: a settings class that inherits it reads the fields under its
own prefix (`MOBILEID_CONSOLE_LOGIN_URL` for the issuer's `Settings`, `MOBILEID_GATE_CONSOLE_...`
for a gate that adopts it). `console_config` turns them into what `console.web.Console` takes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from console.signin_config import SignInConfig
from vc.private_files import UnsafePermissions, ensure_private_dir, refuse_if_open

__all__ = [
    "SESSION_KEY_FILE",
    "ConsoleConfig",
    "ConsoleFields",
    "console_config",
    "is_loopback_http",
    "read_secret_file",
    "session_key",
]

SESSION_KEY_FILE = "console-session.key"
_SESSION_KEY_BYTES = 32
_MAX_SECRET_CHARS = 4096


class ConsoleFields(BaseModel):
    """The console's settings; inherit it in a settings class (its prefix applies)."""

    console_login_url: str | None = Field(default=None, examples=["https://login.mois.go.kr"])
    """The login service's issuer URL the console signs people in with; unset: no console."""
    console_client_id: str | None = Field(default=None, examples=["mid_console"])
    """The console's client id at that login service (`mobileid login add-client`)."""
    console_client_secret_file: Path | None = Field(
        default=None, examples=["/etc/mobileid/console-client-secret"]
    )
    """A file (mode 0600) holding the console's client secret."""
    console_idle_timeout_s: int = Field(default=900, ge=60, le=86400)
    """A console session unused this long is signed out."""

    @field_validator("console_login_url")
    @classmethod
    def _login_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("the console's login URL must be an http(s) URL")
        return value.rstrip("/")


@dataclass(frozen=True)
class ConsoleConfig:
    """What `Console` needs from the settings."""

    signin: SignInConfig
    session_secret: bytes
    secure_cookies: bool
    idle_timeout_s: int


def is_loopback_http(url: str) -> bool:
    """An http URL on this machine (development): the only place cookies may lack `Secure`."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def read_secret_file(path: Path, what: str) -> str:
    """A secret from a private file (0600, ours); `ValueError` naming `what` otherwise."""
    try:
        refuse_if_open(path)
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{what}: cannot read {path} ({exc.strerror})") from None
    except UnsafePermissions as exc:
        raise ValueError(f"{what}: {exc.detail}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{what}: {path} is not text") from None
    if not text or len(text) > _MAX_SECRET_CHARS:
        raise ValueError(f"{what}: {path} is empty or too long")
    return text


def session_key(data_dir: Path) -> bytes:
    """The key that signs console session cookies: `<data_dir>/console-session.key` (0600),
    made on first start; every worker of the app reads the same file. Losing it signs
    everyone out, nothing more."""
    ensure_private_dir(data_dir)
    path = data_dir / SESSION_KEY_FILE
    if not path.exists():
        tmp = data_dir / f".{SESSION_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(_SESSION_KEY_BYTES))
            with contextlib.suppress(FileExistsError):  # of two workers starting at once,
                os.link(tmp, path)  # one key wins (a link appears whole, or not at all)
        finally:
            tmp.unlink(missing_ok=True)
    key = bytes.fromhex(read_secret_file(path, "console session key"))
    if len(key) < _SESSION_KEY_BYTES:
        raise ValueError(f"console session key: {path} holds fewer than 32 bytes")
    return key


def console_config(fields: ConsoleFields, *, base_url: str, data_dir: Path) -> ConsoleConfig | None:
    """The console's configuration, or None when no login URL is set (no console).
    `ValueError` for an incomplete or unreadable configuration."""
    if fields.console_login_url is None:
        return None
    if not fields.console_client_id:
        raise ValueError("a console needs its client id at the login service (CONSOLE_CLIENT_ID)")
    secret = None
    if fields.console_client_secret_file is not None:
        secret = read_secret_file(fields.console_client_secret_file, "console client secret")
    return ConsoleConfig(
        signin=SignInConfig(
            login_url=fields.console_login_url,
            client_id=fields.console_client_id,
            client_secret=secret,
            base_url=base_url,
        ),
        session_secret=session_key(data_dir),
        secure_cookies=not is_loopback_http(base_url),
        idle_timeout_s=fields.console_idle_timeout_s,
    )
