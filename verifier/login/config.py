"""What a login service is configured with: a plain dataclass, each default written here once.

The assembly reads it from the environment (`mobileid.settings.LoginSettings`, prefix
`MOBILEID_LOGIN_`); tests and benchmarks may build one directly. Secrets that seal the keys are
not part of it: they are handed to `verifier.login.service.build_login_service` on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from verifier.policy import StalePolicy
from verifier.trust import TrustedIssuer

__all__ = ["ClientIdPrefix", "LoginConfig", "ResponseMode"]

ClientIdPrefix = Literal["x509_san_dns", "x509_hash", "redirect_uri"]
ResponseMode = Literal["direct_post", "direct_post.jwt"]


@dataclass(frozen=True)
class LoginConfig:
    base_url: str
    """Where wallets and browsers reach the service: the OIDC `iss` and the OpenID4VP URIs."""
    trusted_issuers: tuple[TrustedIssuer, ...] = ()
    allow_insecure_loopback: bool = False
    """Fetch issuer metadata and status lists over http from 127.0.0.1 (development, tests)."""
    client_id_prefix: ClientIdPrefix = "x509_hash"
    """HAIP's `x509_hash` by default; `x509_san_dns` for wallets of earlier drafts."""
    response_mode: ResponseMode = "direct_post.jwt"
    """HAIP's `direct_post.jwt` by default: wallets encrypt their answer to a fresh key per
    session; plain `direct_post` only for wallets that cannot."""
    session_ttl_s: float = 300.0
    code_ttl_s: float = 60.0
    token_ttl_s: float = 600.0
    retention_days: int = 365
    """How long login records are kept (`mobileid login purge`, and the service itself)."""
    stale_status: StalePolicy = StalePolicy.fail_closed
    max_status_age_s: float = 3600.0
    status_feed: bool = True
    """Follow each trusted issuer's status-list change feed: a new list is held, and a
    revocation refuses the next login, within about a second (otherwise at the list's `ttl`)."""
    sid_lifetime_s: float = 86400.0
    """How long after a login its session (the ID token's `sid`) is tracked for logout: a
    revocation or a logout within this time sends the client a logout token."""
    purge_every_s: float = 60.0
    client_cache_s: float = 5.0
    """How long a process reuses a client registration it read (a disabled client stops
    working everywhere within this time)."""
    api_token: str | None = field(default=None, repr=False)
    """Bearer token desks and terminals use for `POST /oid4vp/sessions`; None: API mode off."""

    @property
    def issuer(self) -> str:
        """The OpenID Provider's issuer identifier (OIDC Discovery §3): the base URL."""
        return self.base_url
