"""Status of presented credentials from Token Status Lists (draft-ietf-oauth-status-list §8).

Tokens are fetched only from the origins their issuer is trusted for, size- and time-limited,
checked (`typ`, signature by that issuer's key, `sub` == the referenced URI, `iat`, `exp`) and
kept decoded, so a lookup is a dict access and a shift. A decision never fetches: it reads the
list held, and a list not held, or due, is asked of the cache owner's refresher
(`verifier.refresh`). That revalidates a list with its ETag exactly when its `ttl` (or `exp`)
says, the issuer's call and not the gate's; failures are retried at most every
`retry_interval_s`, and the old list is kept meanwhile: how stale is acceptable is the policy's
call, not the cache's. Fetching and verifying run outside the lock; only the swap holds it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx

from vc.errors import VCError
from vc.status_list import (
    STATUS_LIST_MEDIA_TYPE,
    VerifiedStatusList,
    verify_status_list_token,
)
from verifier.fetch import FetchError, fetch, origin_of
from verifier.trust import TrustError, TrustStore

__all__ = ["CachedStatusList", "StatusCache", "StatusLookup"]

log = logging.getLogger(__name__)
MAX_STATUS_TOKEN_BYTES = 2 * 1024 * 1024
DEFAULT_TTL_S = 300
MIN_REFRESH_S = 1.0
"""A list is asked for at most once a second, whatever its token says: `ttl` is a whole number of
seconds (>= 1), so this bounds only a token already past its `exp` (an issuer that keeps serving
it would otherwise be asked again on every refresher round)."""
MAX_WANTED = 1024
"""Lists asked for between two refresher rounds; beyond, decisions wait for the next round."""


@dataclass(frozen=True, slots=True)
class CachedStatusList:
    """One verified list: the token as received, its ETag and when its origin last vouched."""

    issuer: str
    uri: str
    token: str
    verified: VerifiedStatusList
    etag: str | None
    confirmed_at: float
    refresh_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "uri": self.uri,
            "token": self.token,
            "etag": self.etag,
            "fetched_at": self.confirmed_at,
        }


class StatusLookup(NamedTuple):
    """`value` is None when no list is held at all; `fresh` applies the staleness limit."""

    value: int | None
    confirmed_at: float | None
    fresh: bool


class StatusCache:
    """Verified, decoded status lists by URI; shared by every decision of a verifier process.

    Its refresher is its trust store's: `lookup` sets `trust.needs_refresh` when it asks for a
    list, and `refresh` is the refresher's round.
    """

    def __init__(
        self,
        trust: TrustStore,
        *,
        client: httpx.Client | None,
        algorithms: Collection[str],
        default_ttl_s: float = DEFAULT_TTL_S,
        retry_interval_s: float = 30.0,
        max_bytes: int = MAX_STATUS_TOKEN_BYTES,
    ) -> None:
        self._trust = trust
        self._client = client
        self._algorithms = frozenset(algorithms)
        self._default_ttl = default_ttl_s
        self._retry = retry_interval_s
        self._max_bytes = max_bytes
        self._entries: dict[str, CachedStatusList] = {}
        self._next_attempt: dict[str, float] = {}
        self._wanted: dict[str, str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[CachedStatusList]:
        return list(self._entries.values())

    def uris(self) -> set[str]:
        return set(self._entries)

    # --- the decision path --------------------------------------------------------------------

    def lookup(
        self, issuer: str, uri: str, idx: int, *, now: float, max_age: float
    ) -> StatusLookup:
        """The status at `idx` in the list held; never fetches.

        A list not held (`value=None`), or held but due for revalidation, is asked of the
        refresher. Raises `VCError` (index out of range) and `TrustError` (URI not on a
        trusted origin of `issuer`).
        """
        entry = self._entries.get(uri)
        if entry is None or entry.issuer != issuer:
            self._check_origin(issuer, uri)
            self._want(issuer, uri)
            return StatusLookup(None, None, False)
        if now >= entry.refresh_at:
            self._want(issuer, uri)
        value = entry.verified.status(idx)
        exp = entry.verified.exp
        fresh = now - entry.confirmed_at <= max_age and (exp is None or now < exp)
        return StatusLookup(value, entry.confirmed_at, fresh)

    def _want(self, issuer: str, uri: str) -> None:
        with self._lock:
            if len(self._wanted) < MAX_WANTED:
                self._wanted.setdefault(uri, issuer)
        self._trust.needs_refresh.set()

    # --- fetching (the refresher, a sync, a bundle) -------------------------------------------

    def _check_origin(self, issuer: str, uri: str) -> None:
        trusted = self._trust.issuers.get(issuer)
        if trusted is None or origin_of(uri) not in trusted.allowed_status_origins:
            raise TrustError(
                "untrusted_status_origin",
                "status list URI is not on a trusted origin of its issuer",
            )

    def _install(
        self,
        issuer: str,
        uri: str,
        token: str,
        *,
        etag: str | None,
        confirmed_at: float,
        now: float,
    ) -> CachedStatusList:
        verified = verify_status_list_token(
            token, self._trust.resolver_for(issuer), uri=uri, algorithms=self._algorithms, now=now
        )
        refresh_at = self._refresh_at(verified, confirmed_at)
        entry = CachedStatusList(issuer, uri, token, verified, etag, confirmed_at, refresh_at)
        with self._lock:
            current = self._entries.get(uri)
            if current is None or (
                current.confirmed_at <= confirmed_at and current.verified.iat <= verified.iat
            ):  # never back to an older token, whoever serves it
                self._entries[uri] = entry
        return entry

    def _confirm(self, entry: CachedStatusList, now: float) -> CachedStatusList:
        """Its origin answered 304: the list held is vouched for again as of `now`."""
        confirmed = dataclasses.replace(
            entry, confirmed_at=now, refresh_at=self._refresh_at(entry.verified, now)
        )
        with self._lock:
            if self._entries.get(entry.uri) is entry:
                self._entries[entry.uri] = confirmed
        return confirmed

    def _refresh_at(self, verified: VerifiedStatusList, confirmed_at: float) -> float:
        """`ttl` after its origin last vouched for it (a default when absent), no later than
        `exp` (Token Status List §5.1), no sooner than `MIN_REFRESH_S`."""
        due = confirmed_at + (verified.ttl or self._default_ttl)
        if verified.exp is not None:
            due = min(due, verified.exp)
        return max(due, confirmed_at + MIN_REFRESH_S)

    def load_token(
        self, issuer: str, uri: str, token: str, *, etag: str | None, fetched_at: float, now: float
    ) -> CachedStatusList:
        """Install a token from a bundle; it is checked exactly as if fetched. Raises on failure."""
        self._check_origin(issuer, uri)
        return self._install(
            issuer, uri, token, etag=etag, confirmed_at=min(fetched_at, now), now=now
        )

    def revalidate(
        self, issuer: str, uri: str, *, now: float, force: bool = False
    ) -> CachedStatusList | None:
        """Fetch (or revalidate with the ETag) now, unless offline, not due yet or a recent
        attempt failed (`force`: neither the `ttl` nor the retry interval hold it back).
        Returns the list held afterwards; raises `TrustError` for a URI off the origins."""
        self._check_origin(issuer, uri)
        with self._lock:
            self._wanted.pop(uri, None)
            entry = self._entries.get(uri)
            if entry is not None and entry.issuer != issuer:
                entry = None
            if self._client is None or (
                not force
                and (
                    (entry is not None and now < entry.refresh_at)
                    or now < self._next_attempt.get(uri, float("-inf"))
                )
            ):
                return entry
        try:
            fetched = fetch(
                self._client,
                uri,
                max_bytes=self._max_bytes,
                accept=STATUS_LIST_MEDIA_TYPE,
                etag=entry.etag if entry is not None else None,
                allow_insecure_loopback=self._trust.allow_insecure_loopback,
            )
            if fetched.status_code == 304 and entry is not None:
                fresh = self._confirm(entry, now)
            else:
                token = fetched.body.decode("ascii").strip()
                fresh = self._install(
                    issuer, uri, token, etag=fetched.etag, confirmed_at=now, now=now
                )
        except (FetchError, VCError, UnicodeDecodeError) as exc:
            log.warning("status list refresh failed for %s: %s", uri, exc)
            with self._lock:  # failures only: after a success the token's ttl alone decides
                self._next_attempt[uri] = now + self._retry
            return entry
        with self._lock:
            self._next_attempt.pop(uri, None)
        return fresh

    def refresh(self, *, now: float, listed: Iterable[tuple[str, str]] = ()) -> int:
        """The refresher's round: the lists decisions asked for, those held that are due, and
        the `listed` (issuer, URI) pairs not held yet, each unless its last attempt failed
        within the retry interval; returns how many were attempted."""
        with self._lock:
            wanted = [(issuer, uri) for uri, issuer in self._wanted.items()]
            due = [(e.issuer, e.uri) for e in self._entries.values() if now >= e.refresh_at]
            new = [(issuer, uri) for issuer, uri in listed if uri not in self._entries]
            waiting = {uri for uri, at in self._next_attempt.items() if now < at}
        count = 0
        for issuer, uri in dict.fromkeys(wanted + due + new):
            if uri in waiting:
                continue
            try:
                self.revalidate(issuer, uri, now=now, force=True)
            except TrustError as exc:
                log.warning("not fetching %s: %s", uri, exc)
                continue
            count += 1
        return count

    def issuer_of(self, uri: str) -> str | None:
        """The issuer a list is held under, else the trusted issuer whose status origins hold
        `uri`; None for any other (or a URI that does not parse)."""
        entry = self._entries.get(uri)
        if entry is not None:
            return entry.issuer
        try:
            origin = origin_of(uri)
        except ValueError:
            return None
        for trusted in self._trust.issuers.values():
            if origin in trusted.allowed_status_origins:
                return trusted.issuer
        return None

    def refresh_list(
        self, uri: str, *, now: float, iat: int | None = None
    ) -> CachedStatusList | None:
        """A change feed says `uri` changed: fetch, verify and swap in its token now.

        Nothing is fetched for a list of no trusted issuer, nor when the token held is newer
        than the announced `iat` (a replayed announcement); the feed is never trusted beyond
        that: only a token that verifies replaces the one held.
        """
        issuer = self.issuer_of(uri)
        if issuer is None:
            return None
        entry = self._entries.get(uri)
        if entry is not None and iat is not None and iat < entry.verified.iat:
            return entry
        return self.revalidate(issuer, uri, now=now, force=True)
