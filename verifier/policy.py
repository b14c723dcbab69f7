"""Policies: what a gate, desk, library or login accepts and shows, as plain config dataclasses.

A `VerificationPolicy` is what the pipeline needs (shared with the login verifier); a
`GatePolicy` adds the terminal: where it stands, its KB-JWT audience, whom it trusts, where its
central service is and how long records are kept. Purposes and their claim sets come from
`schemas.employee_id`; the photo travels only over online flows, so no QR purpose requires it.
`parse_gate_policy` checks a policy file's content (the assembly reads the file and the
environment, `mobileid.settings.load_gate_policy`); a policy it cannot use is a `PolicyError`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from schemas.employee_id import PURPOSES, Purpose
from vc.base64url import b64url_encode
from verifier.errors import VerifierError
from verifier.trust import TrustedIssuer

__all__ = [
    "SITES",
    "GatePolicy",
    "PolicyError",
    "StalePolicy",
    "VerificationPolicy",
    "library_member_id",
    "parse_gate_policy",
]

SITES: Mapping[str, str] = {
    "seoul": "정부서울청사 (Government Complex Seoul)",
    "sejong": "정부세종청사 (Government Complex Sejong)",
    "gwacheon": "정부과천청사 (Government Complex Gwacheon)",
    "daejeon": "정부대전청사 (Government Complex Daejeon)",
}
"""The four government complexes; any other building is `building:<id>`."""

ONLINE_ONLY_CLAIMS = frozenset({"photo"})
AGENCY_CLAIM = "active_public_servant_of"
DEFAULT_ALGORITHMS = ("EdDSA", "Ed25519", "ES256")
RETENTION_DAYS = 365
"""How long entry records are kept by default, at a gate and at the central service."""
_MEMBER_ID_CONTEXT = b"mobileid library member id v1\x00"
_MIN_SECRET_BYTES = 16


class PolicyError(VerifierError):
    """The policy cannot be used (`invalid_policy`); the detail says which field and why."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_policy", detail)


class StalePolicy(StrEnum):
    """What to do when the newest status held is older than the allowed staleness."""

    fail_closed = "fail_closed"
    fail_open = "fail_open"


def _default_required(purpose: Purpose) -> frozenset[str]:
    return PURPOSES[purpose] - ONLINE_ONLY_CLAIMS


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    """The rules the pipeline applies after the signatures; shared by gates, desks and logins."""

    purpose: Purpose = Purpose.gate
    required_claims: frozenset[str] = field(default_factory=lambda: _default_required(Purpose.gate))
    displayed_claims: tuple[str, ...] = ()
    allowed_agencies: frozenset[str] = frozenset()
    """Agency codes (행정기관코드) checked against `active_public_servant_of`; empty = any."""
    stale_status: StalePolicy = StalePolicy.fail_closed
    max_status_age_s: float = 3600.0
    kb_window_s: float = 30.0
    clock_skew_s: float = 5.0
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    member_id_secret: bytes | None = None
    """The library's own key for pseudonymous member ids (purpose `library`)."""
    member_id_claim: str = "opaque_id"

    @classmethod
    def for_purpose(cls, purpose: Purpose, **changes: Any) -> VerificationPolicy:
        required = _default_required(purpose)
        base = cls(
            purpose=purpose,
            required_claims=required,
            displayed_claims=tuple(sorted(PURPOSES[purpose])),
        )
        return replace(base, **changes)


_DEFAULT = VerificationPolicy()


@dataclass(frozen=True, slots=True)
class GatePolicy:
    """One terminal: a gate, a desk or a library counter."""

    gate_id: str
    audience: str
    site: str
    verification: VerificationPolicy
    trusted_issuers: tuple[TrustedIssuer, ...]
    central_url: str | None = None
    central_token: str | None = None
    retention_days: int = RETENTION_DAYS
    allow_insecure_loopback: bool = False
    """Allow http:// to 127.0.0.1 (development and tests only)."""
    status_feed: str = "auto"
    """The status-list change feed to follow: `auto` (the central service's relay, else each
    trusted issuer's feed), `off`, or a URL (`verifier.gate.feed`)."""

    @property
    def site_name(self) -> str:
        return SITES.get(self.site, self.site)


def library_member_id(secret: bytes, stable_id: str) -> str:
    """A library's pseudonymous member id: HMAC-SHA256(secret, stable claim), 128 bits.

    Different libraries hold different secrets, so their ids for one person cannot be linked,
    and the id survives a reissued credential because the stable claim does.
    """
    mac = hmac.new(secret, _MEMBER_ID_CONTEXT + stable_id.encode("utf-8"), hashlib.sha256)
    return b64url_encode(mac.digest()[:16])


# --- loading ------------------------------------------------------------------------------


def _strings(data: Mapping[str, Any], name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{name!r} must be a list of strings")
    return value


def _number(data: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise PolicyError(f"{name!r} must be a number in [{low}, {high}]")
    return float(value)


def _secret(data: Mapping[str, Any], environ: Mapping[str, str]) -> bytes | None:
    env_name = data.get("member_id_secret_env")
    literal = data.get("member_id_secret")
    if env_name is not None:
        if not isinstance(env_name, str) or env_name not in environ:
            raise PolicyError(f"member_id_secret_env names an unset variable: {env_name!r}")
        literal = environ[env_name]
    if literal is None:
        return None
    if not isinstance(literal, str) or len(literal.encode()) < _MIN_SECRET_BYTES:
        raise PolicyError("the library member id secret must have at least 16 bytes")
    return literal.encode()


def _verification(data: Mapping[str, Any], environ: Mapping[str, str]) -> VerificationPolicy:
    try:
        purpose = Purpose(data.get("purpose", "gate"))
        stale = StalePolicy(data.get("stale_status", _DEFAULT.stale_status))
    except ValueError as exc:
        raise PolicyError(f"unknown purpose or stale_status: {exc}") from None
    known = {c for claims in PURPOSES.values() for c in claims} | {"employee_number", "agency_code"}
    required = _strings(data, "required_claims")
    displayed = _strings(data, "displayed_claims")
    for name in (required or []) + (displayed or []):
        if name not in known and name != "member_id":
            raise PolicyError(f"unknown claim {name!r}")
    algorithms = _strings(data, "algorithms") or list(DEFAULT_ALGORITHMS)
    if not set(algorithms) <= set(DEFAULT_ALGORITHMS):
        raise PolicyError(f"algorithms must be among {DEFAULT_ALGORITHMS}")
    secret = _secret(data, environ)
    if purpose is Purpose.library and secret is None:
        raise PolicyError("a library policy needs member_id_secret_env (or member_id_secret)")
    changes: dict[str, Any] = {
        "allowed_agencies": frozenset(_strings(data, "allowed_agencies") or ()),
        "stale_status": stale,
        "max_status_age_s": _number(
            data, "max_status_age_s", _DEFAULT.max_status_age_s, 0, 30 * 86400
        ),
        "kb_window_s": _number(data, "kb_window_s", _DEFAULT.kb_window_s, 1, 600),
        "clock_skew_s": _number(data, "clock_skew_s", _DEFAULT.clock_skew_s, 0, 300),
        "algorithms": tuple(algorithms),
        "member_id_secret": secret,
        "member_id_claim": str(data.get("member_id_claim", _DEFAULT.member_id_claim)),
    }
    if required is not None:
        changes["required_claims"] = frozenset(required)
    if displayed is not None:
        changes["displayed_claims"] = tuple(displayed)
    return VerificationPolicy.for_purpose(purpose, **changes)


def parse_gate_policy(
    data: Any, *, gate_id: str | None = None, environ: Mapping[str, str] | None = None
) -> GatePolicy:
    """Build a `GatePolicy` from parsed JSON/YAML (the file is read by the assembly,
    `mobileid.settings.load_gate_policy`); `gate_id` (from the command line) wins. Secrets the
    policy names by variable come from `environ` (none given: no variable is set)."""
    if not isinstance(data, dict):
        raise PolicyError("a policy is a JSON/YAML object")
    environ = environ or {}
    gate_id = gate_id or data.get("gate_id")
    if not isinstance(gate_id, str) or not gate_id or len(gate_id) > 64:
        raise PolicyError("'gate_id' is required (1-64 characters)")
    site = data.get("site", "")
    if not isinstance(site, str) or not (site in SITES or site.startswith("building:")):
        raise PolicyError(f"'site' must be one of {sorted(SITES)} or 'building:<id>'")
    audience = data.get("audience") or f"gate:{site}:{gate_id}"
    if not isinstance(audience, str):
        raise PolicyError("'audience' must be a string")
    issuers = data.get("trusted_issuers")
    if not isinstance(issuers, list) or not issuers:
        raise PolicyError("'trusted_issuers' must list at least one issuer")
    try:
        trusted = tuple(TrustedIssuer.from_json(i) for i in issuers if isinstance(i, dict))
    except ValueError as exc:
        raise PolicyError(str(exc)) from None
    if len(trusted) != len(issuers):
        raise PolicyError("each trusted issuer is an object with 'issuer'")
    central = data.get("central_url")
    if central is not None and not isinstance(central, str):
        raise PolicyError("'central_url' must be a URL")
    token = data.get("central_token_env")
    central_token = environ.get(token) if isinstance(token, str) else data.get("central_token")
    retention = int(_number(data, "retention_days", RETENTION_DAYS, 1, 10 * 366))
    feed = data.get("status_feed", "auto")
    if not isinstance(feed, str) or not (
        feed in ("auto", "off") or feed.startswith(("https://", "http://"))
    ):
        raise PolicyError("'status_feed' must be 'auto', 'off' or a URL")
    if "replay_store" in data:  # an older policy's shared file: refused, not silently dropped
        raise PolicyError(
            "'replay_store' is no longer read: a gate keeps the presentations it accepted in "
            "its own database, and its audience (by default gate:<site>:<gate id>) keeps them "
            "from being good at another gate; remove the line"
        )
    return GatePolicy(
        gate_id=gate_id,
        audience=audience,
        site=site,
        verification=_verification(data, environ),
        trusted_issuers=trusted,
        central_url=central.rstrip("/") if central else None,
        central_token=central_token if isinstance(central_token, str) else None,
        retention_days=retention,
        allow_insecure_loopback=bool(data.get("allow_insecure_loopback", False)),
        status_feed=feed,
    )
