"""The login service's runtime: its parts wired from a `LoginConfig`, the purge pass, and
ending login sessions whose credential's status changed (`end_revoked_sessions`).

`build_login_service` migrates the tables (`verifier.migrate`, branch `login`), opens or creates
the ID token keys, and wires trust store, status cache, pipeline, the OpenID4VP context and the
OpenID Connect provider. Any number of processes may share one database; each holds only caches
(issuer keys, status lists, client registrations). Served by `mobileid.login_app`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import httpx
from sqlalchemy import Connection, Engine

from vc.errors import VCError
from verifier.login.config import LoginConfig
from verifier.login.keys import load_or_create_keys, login_key_sealer
from verifier.login.logout import end_sessions_on_status
from verifier.login.provider import OidcContext, purge_oidc
from verifier.login.sessions import LogoutNotice, expire_sessions
from verifier.migrate import upgrade_verifier_database
from verifier.oid4vp.api import FailureCounter, LoginRuntime
from verifier.oid4vp.outcomes import purge_expired
from verifier.oid4vp.sessions import VpConfig, VpContext
from verifier.oid4vp.verify import LoginVerifier, login_policy
from verifier.status import StatusCache
from verifier.trust import TrustError, TrustStore
from verifier.x509 import VerifierCertificate

__all__ = ["LoginService", "build_login_service", "end_revoked_sessions", "purge_all"]


@dataclass
class LoginService:
    config: LoginConfig
    engine: Engine
    runtime: LoginRuntime
    """What the OpenID4VP routes use (unit of work, clock, throttle, the OpenID4VP context)."""
    oidc: OidcContext
    client: httpx.Client | None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def build_login_service(
    config: LoginConfig,
    *,
    secret: bytes,
    engine: Engine,
    unit_of_work: Callable[[], AbstractContextManager[Connection]],
    certificate: VerifierCertificate | None,
    client: httpx.Client | None,
    throttle: FailureCounter,
    clock: Callable[[], float] = time.time,
) -> LoginService:
    """Create the tables and keys if missing, then wire trust, status, pipeline and contexts.
    `secret` seals the keys; raises `LoginKeyError` when the stored ones do not open with it."""
    upgrade_verifier_database(engine, "login")
    keys = load_or_create_keys(engine, login_key_sealer(secret))
    policy = login_policy(
        stale_status=config.stale_status, max_status_age_s=config.max_status_age_s
    )
    trust = TrustStore(
        list(config.trusted_issuers),
        client=client,
        clock=clock,
        allow_insecure_loopback=config.allow_insecure_loopback,
    )
    status = StatusCache(trust, client=client, algorithms=policy.algorithms)
    vp = VpContext(
        VpConfig(
            config.base_url,
            default_prefix=config.client_id_prefix,
            response_mode=config.response_mode,
            session_ttl_s=config.session_ttl_s,
        ),
        certificate,
        LoginVerifier(policy, trust=trust, status=status),
    )
    runtime = LoginRuntime(vp, unit_of_work, clock, api_token=config.api_token, throttle=throttle)
    return LoginService(config, engine, runtime, OidcContext(config, keys, vp), client)


def purge_all(service: LoginService) -> dict[str, int]:
    """One purge pass: expired sessions (recorded as `session_expired`), codes, tokens, records,
    login sessions past `sid_lifetime_s` and the retention."""
    rt = service.runtime
    now = rt.clock()
    config = service.config
    with rt.unit_of_work() as db:
        sessions = purge_expired(db, now=now)
        counts = purge_oidc(db, now=now, retention_days=config.retention_days)
        counts |= expire_sessions(
            db, now=now, lifetime_s=config.sid_lifetime_s, retention_days=config.retention_days
        )
    return {"sessions": sessions, **counts}


def end_revoked_sessions(service: LoginService, uri: str | None) -> list[LogoutNotice]:
    """End, in one unit of work, the login sessions whose credential the status list `uri`
    (every list held when None) now says is revoked or suspended; the logout tokens owed."""
    rt = service.runtime
    cache = rt.vp.verifier.status
    now = rt.clock()

    def status_of(issuer: str, list_uri: str, idx: int) -> int | None:
        try:
            return cache.lookup(issuer, list_uri, idx, now=now, max_age=float("inf")).value
        except (VCError, TrustError):  # an index out of range, a list no longer trusted
            return None

    return rt.run(lambda db: end_sessions_on_status(db, service.oidc, status_of, uri=uri, now=now))
