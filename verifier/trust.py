"""Trusted issuers and their keys, learnt from JWT VC Issuer Metadata (SD-JWT VC §5) over HTTP.

A verifier trusts a configured list of issuers. Their keys come from each issuer's
`/.well-known/jwt-vc-issuer` document (with `jwks` by value), fetched over https by the cache
owner's background refresher (`verifier.refresh`), or from a synced bundle. A decision never
fetches: a `kid` we do not hold is `untrusted_issuer` for that decision and asks the refresher
for the issuer's metadata, fetched at most once per `refresh_interval_s` per issuer, so a flood
of made-up key ids cannot turn into a flood of requests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from schemas.employee_id import employee_vct
from vc.errors import Code, SignatureError, VCError
from vc.jws import KeyResolver
from vc.keys import PublicKey
from vc.sd_jwt_vc import jwt_vc_issuer_metadata_url, parse_jwt_vc_issuer_metadata
from verifier.errors import VerifierError
from verifier.fetch import FetchError, fetch, origin_of

__all__ = ["IssuerDocument", "TrustError", "TrustStore", "TrustedIssuer"]

log = logging.getLogger(__name__)
MAX_METADATA_BYTES = 64 * 1024
MAX_AGGREGATION_BYTES = 1024 * 1024
MAX_DISCOVERED_LISTS = 4096
RETRY_AFTER_FAILURE_S = 1.0
"""The first retry of a failed metadata fetch; it doubles with each failure in a row."""


class TrustError(VerifierError):
    """Something outside what this verifier trusts an issuer for; for example a status list
    URI off the issuer's status origins (`untrusted_status_origin`)."""


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """An issuer we accept credentials from, and what we accept from it."""

    issuer: str
    name: str = ""
    vct_values: tuple[str, ...] = ()
    """Accepted `vct`s; empty means the employee ID type of this issuer."""
    status_origins: tuple[str, ...] = ()
    """Origins its status lists may be fetched from; empty means the issuer's own origin."""
    status_lists: tuple[str, ...] = ()
    """Status list URIs to prefetch into offline bundles (others are learnt from scans)."""

    @property
    def accepted_vcts(self) -> frozenset[str]:
        return frozenset(self.vct_values or (employee_vct(self.issuer),))

    @property
    def allowed_status_origins(self) -> frozenset[str]:
        return frozenset(self.status_origins or (origin_of(self.issuer),))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrustedIssuer:
        issuer = data.get("issuer")
        if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")):
            raise ValueError("trusted issuer needs an http(s) 'issuer'")

        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"trusted issuer {name!r} must be a list of strings")
            return tuple(value)

        return cls(
            issuer=issuer,
            name=str(data.get("name", "")),
            vct_values=strings("vct_values"),
            status_origins=tuple(o.rstrip("/").lower() for o in strings("status_origins")),
            status_lists=strings("status_lists"),
        )


@dataclass(frozen=True, slots=True)
class IssuerDocument:
    """The issuer metadata document as fetched, for bundles (`fetched_at` in epoch seconds)."""

    issuer: str
    document: dict[str, Any]
    fetched_at: float


@dataclass(slots=True)
class _IssuerState:
    keys: dict[str, PublicKey] = field(default_factory=dict)
    document: IssuerDocument | None = None
    last_attempt: float = float("-inf")
    failures: int = 0
    """Metadata fetches that failed in a row since the last success."""
    discovered: tuple[str, ...] = ()
    discovered_at: float = float("-inf")


def authorization_server_metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known path goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}"


class TrustStore:
    """Keys of the trusted issuers: O(1) lookup on the verification path, never a fetch there.

    `client` is None on a gate told never to go online (only bundles then). `needs_refresh` is
    set when a decision (here or in the `StatusCache` on this store) met something not held;
    the refresher waits on it. Fetches run outside the lock; only the swap of an issuer's keys
    holds it.
    """

    def __init__(
        self,
        issuers: Iterable[TrustedIssuer],
        *,
        client: httpx.Client | None,
        clock: Callable[[], float],
        refresh_interval_s: float = 60.0,
        allow_insecure_loopback: bool = False,
    ) -> None:
        self.issuers: dict[str, TrustedIssuer] = {i.issuer: i for i in issuers}
        self._client = client
        self._clock = clock
        self._refresh_interval = refresh_interval_s
        self.allow_insecure_loopback = allow_insecure_loopback
        self._state = {name: _IssuerState() for name in self.issuers}
        self._lock = threading.Lock()
        self._wanted: set[str] = set()
        self.needs_refresh = threading.Event()
        self.refresh_round = threading.Lock()
        """Held for a whole refresh round (`verifier.refresh.Refresher.run_once`): two rounds over
        these caches never interleave, so no round checks a status list against keys another
        round is still fetching."""
        self.resolver: KeyResolver = self._resolve

    # --- loading --------------------------------------------------------------------------

    def load_document(self, issuer: str, document: Any, *, fetched_at: float) -> None:
        """Install keys from a metadata document (fetched or from a bundle); raises `VCError`."""
        if issuer not in self.issuers:
            raise SignatureError(Code.untrusted_issuer, "issuer is not on the trust list")
        keys = parse_jwt_vc_issuer_metadata(document, issuer)
        state = self._state[issuer]
        with self._lock:
            state.keys = keys
            state.document = IssuerDocument(issuer, document, fetched_at)

    def refresh(self, issuer: str, *, force: bool = False) -> bool:
        """Fetch the issuer's metadata now, unless rate-limited; True if keys were installed."""
        state = self._state.get(issuer)
        if state is None or self._client is None:
            return False
        now = self._clock()
        with self._lock:
            if not force and now - state.last_attempt < self._next_gap(state):
                return False
            state.last_attempt = now
            self._wanted.discard(issuer)
        url = jwt_vc_issuer_metadata_url(issuer)
        try:
            fetched = fetch(
                self._client,
                url,
                max_bytes=MAX_METADATA_BYTES,
                accept="application/json",
                allow_insecure_loopback=self.allow_insecure_loopback,
            )
            self.load_document(issuer, orjson.loads(fetched.body), fetched_at=now)
        except (FetchError, VCError, orjson.JSONDecodeError) as exc:
            log.warning("issuer metadata refresh failed for %s: %s", issuer, exc)
            state.failures += 1
            return False
        state.failures = 0
        return True

    def _next_gap(self, state: _IssuerState) -> float:
        """Seconds between metadata fetches for one issuer: `refresh_interval_s` after a
        success; after failures, RETRY_AFTER_FAILURE_S doubling up to that interval, so a
        verifier started while its issuer was down has the keys soon after the issuer is up."""
        if state.failures == 0:
            return self._refresh_interval
        backoff = RETRY_AFTER_FAILURE_S * float(2 ** min(state.failures - 1, 16))
        return min(self._refresh_interval, backoff)

    def want(self, issuer: str) -> None:
        """Ask the refresher for `issuer`'s metadata soon (a decision met a key not held)."""
        with self._lock:
            self._wanted.add(issuer)
        self.needs_refresh.set()

    def refresh_wanted(self) -> int:
        """The refresher's round: issuers asked for, or holding no keys yet, are refetched
        (each at most once per `refresh_interval_s`); returns how many got keys."""
        with self._lock:
            due = [name for name, s in self._state.items() if name in self._wanted or not s.keys]
        return sum(self.refresh(name) for name in due)

    def discover_status_lists(self, issuer: str) -> tuple[str, ...]:
        """Every status list the issuer publishes, by Token Status List aggregation.

        The issuer's OAuth metadata (RFC 8414) names `status_list_aggregation_endpoint`, which
        answers `{"status_lists": [uri, ...]}`. Only URIs on the issuer's allowed status origins
        are kept: the endpoint is unsigned, so it may add work but never a place to fetch from.
        Lists are still signature-checked when fetched. On failure the last answer is kept; the
        answer is reused for `refresh_interval_s`.
        """
        trusted, state = self.issuers.get(issuer), self._state.get(issuer)
        if trusted is None or state is None or self._client is None:
            return state.discovered if state else ()
        now = self._clock()
        if now - state.discovered_at < self._refresh_interval:  # many gates, one fetch a minute
            return state.discovered
        state.discovered_at = now
        try:
            metadata = self._fetch_json(authorization_server_metadata_url(issuer))
            if metadata.get("issuer") != issuer:  # RFC 8414 §3.3
                raise FetchError(
                    "fetch_failed", "authorization server metadata names another issuer"
                )
            endpoint = metadata.get("status_list_aggregation_endpoint")
            if endpoint is None:
                return state.discovered
            if not isinstance(endpoint, str) or origin_of(endpoint) not in (
                trusted.allowed_status_origins
            ):
                raise FetchError(
                    "fetch_failed", "aggregation endpoint outside the issuer's status origins"
                )
            uris = self._fetch_json(endpoint, MAX_AGGREGATION_BYTES).get("status_lists")
            if not isinstance(uris, list):
                raise FetchError("fetch_failed", "aggregation response lacks 'status_lists'")
        except (FetchError, orjson.JSONDecodeError) as exc:
            log.warning("status list discovery failed for %s: %s", issuer, exc)
            return state.discovered
        allowed = trusted.allowed_status_origins
        found = [u for u in uris if isinstance(u, str) and origin_of(u) in allowed]
        if len(found) != len(uris):
            log.warning(
                "%s: ignored %d aggregated URI(s) off its status origins",
                issuer,
                len(uris) - len(found),
            )
        state.discovered = tuple(dict.fromkeys(found))[:MAX_DISCOVERED_LISTS]
        return state.discovered

    def published_status_lists(self) -> list[tuple[str, str]]:
        """(issuer, URI) of every list the trust list names or an issuer publishes (discovery
        rate-limited as above): what a verifier should hold before its first decision."""
        return [
            (trusted.issuer, uri)
            for trusted in self.issuers.values()
            for uri in (*trusted.status_lists, *self.discover_status_lists(trusted.issuer))
        ]

    def _fetch_json(self, url: str, max_bytes: int = MAX_METADATA_BYTES) -> dict[str, Any]:
        assert self._client is not None  # callers check
        fetched = fetch(
            self._client,
            url,
            max_bytes=max_bytes,
            accept="application/json",
            allow_insecure_loopback=self.allow_insecure_loopback,
        )
        if fetched.status_code != 200:
            raise FetchError("fetch_failed", f"GET {url[:200]} answered {fetched.status_code}")
        value = orjson.loads(fetched.body)
        if not isinstance(value, dict):
            raise FetchError("fetch_failed", f"GET {url[:200]}: not a JSON object")
        return value

    def documents(self) -> list[IssuerDocument]:
        return [s.document for s in self._state.values() if s.document is not None]

    def keys_of(self, issuer: str) -> Mapping[str, PublicKey]:
        state = self._state.get(issuer)
        return dict(state.keys) if state else {}

    # --- the verification path ------------------------------------------------------------

    def _lookup(self, keys: Mapping[str, PublicKey], kid: Any) -> PublicKey | None:
        if kid is None:
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid) if isinstance(kid, str) else None

    def _resolve(self, header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
        iss = payload.get("iss")
        if not isinstance(iss, str) or iss not in self._state:
            raise SignatureError(Code.untrusted_issuer, "issuer is not on the trust list")
        key = self._lookup(self._state[iss].keys, header.get("kid"))
        if key is None:
            self.want(iss)
            raise SignatureError(Code.untrusted_issuer, "unknown key for this issuer")
        return key

    def resolver_for(self, issuer: str) -> KeyResolver:
        """A resolver for documents the issuer signs without naming itself (status lists)."""

        def resolve(header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
            named = payload.get("iss")
            if named is not None and named != issuer:
                raise SignatureError(Code.untrusted_issuer, "signed by another issuer")
            return self._resolve(header, {"iss": issuer})

        return resolve
