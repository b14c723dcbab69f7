"""Where a console signs people in: plain data, importable by settings code without the web
stack (`console.web` pulls in FastAPI, Jinja2 and Authlib; every CLI command reads settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["SignInConfig"]


@dataclass(frozen=True)
class SignInConfig:
    """The login service this console signs people in with, and the console's registration
    there (a confidential client whose `sub` is the employee number)."""

    login_url: str
    """The login service's issuer URL (its discovery document is under it)."""
    client_id: str
    client_secret: str | None
    base_url: str
    """This app's public URL; the redirect URI is `<base_url><home>/callback`."""
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Passed to Authlib's httpx client (e.g. `transport`, `verify` for a test PKI)."""

    @property
    def login_origin(self) -> str:
        parts = urlsplit(self.login_url)
        return f"{parts.scheme}://{parts.netloc}"
