"""The verification pipeline shared by gates, desks, libraries and logins.

Ordered steps, each its own function with its own reasons (style habit 5): decode the scan ->
verify the presentation with `vc` (issuer trust and signature, disclosures, validity, key binding
with `aud` and the `iat` window) -> single use (replay store) -> credential type -> status ->
policy (claims, agency, staleness). `Pipeline.decide` never raises for anything a scanner or a
wallet can send: every outcome is a `Decision` with one stable reason. `vc` refuses what it
cannot verify with a `VCError`; the steps here check the shapes they read and refuse with
`Denied`, so no other exception is caught: anything else is a bug, not a decision. No step
fetches: trust and status come from caches a background task keeps (`verifier.refresh`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from vc.errors import VCError
from vc.qr_compact import decode_presentation, is_compact_qr
from vc.sd_jwt import VerifiedSdJwt
from vc.sd_jwt_vc import verify_sd_jwt_vc
from vc.status_list import INVALID, SUSPENDED, VALID
from verifier.policy import AGENCY_CLAIM, StalePolicy, VerificationPolicy, library_member_id
from verifier.reasons import Denied, Reason, reason_for_error
from verifier.replay import ReplayStore, replay_key
from verifier.status import StatusCache
from verifier.trust import TrustError, TrustStore

__all__ = [
    "MAX_DETAIL_CHARS",
    "MAX_SCAN_BYTES",
    "Decision",
    "Pipeline",
    "apply_policy",
    "check_credential_type",
    "check_replay",
    "check_status",
    "decode_scan",
    "status_reference",
    "verify_presentation",
]

MAX_SCAN_BYTES = 16 * 1024
"""Far above any QR code (2,953 bytes) and any gate presentation; more is not a scan."""
MAX_DETAIL_CHARS = 200
"""A decision's detail in a scan's answer: enough to name the problem, never an echo of a body."""


@dataclass(slots=True)
class Decision:
    """Allow or deny, why, what the terminal shows, and how long deciding took."""

    allow: bool
    reason: Reason
    displayed_claims: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    stale_status: bool = False
    """Allowed although the status held was too old (fail-open): the terminal says so."""
    issuer: str | None = None
    employee_number: str | None = None
    agency_code: str | None = None
    member_id: str | None = None
    detail: str = ""
    """For logs and operators, never for the person at the gate."""
    status_ref: tuple[str, int] | None = None
    """The allowed credential's status list entry (uri, idx): a login service ends the
    sessions it opened with it when that entry changes."""

    def to_json(self) -> dict[str, Any]:
        """The scanner's answer. A `malformed` one carries its `detail` for the operator: what
        was wrong with the bytes (a format, never a claim value nor a stack trace)."""
        out: dict[str, Any] = {
            "allow": self.allow,
            "reason": str(self.reason),
            "displayed_claims": self.displayed_claims,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }
        if self.stale_status:
            out["stale_status"] = True
        if self.reason is Reason.malformed and self.detail:
            out["detail"] = self.detail[:MAX_DETAIL_CHARS]
        return out


# --- the steps ----------------------------------------------------------------------------


def decode_scan(payload: bytes | str) -> str:
    """A scanner's bytes as a compact presentation: the compact QR format or the plain string."""
    if len(payload) > MAX_SCAN_BYTES:
        raise Denied(Reason.malformed, f"scan too large (over {MAX_SCAN_BYTES} bytes)")
    if isinstance(payload, str):
        text = payload
    elif is_compact_qr(payload):
        return decode_presentation(payload)
    else:
        try:
            text = payload.decode("ascii")
        except UnicodeDecodeError:
            raise Denied(Reason.malformed, _NOT_A_PRESENTATION) from None
    text = text.strip()
    if not text.startswith("eyJ"):
        raise Denied(Reason.malformed, _NOT_A_PRESENTATION)
    return text


_NOT_A_PRESENTATION = "not a QR payload: neither the compact encoding nor SD-JWT text"


def verify_presentation(
    presentation: str,
    *,
    trust: TrustStore,
    policy: VerificationPolicy,
    audience: str,
    nonce: str | None,
    now: float,
) -> VerifiedSdJwt:
    """`vc` verification: trusted issuer key, signature, disclosures, validity, key binding."""
    return verify_sd_jwt_vc(
        presentation,
        issuer_key=trust.resolver,
        algorithms=policy.algorithms,
        key_binding=True,
        audience=audience,
        nonce=nonce,
        now=now,
        leeway=policy.clock_skew_s,
        kb_max_age=policy.kb_window_s,
        max_bytes=MAX_SCAN_BYTES,
    )


def check_replay(
    presentation: str,
    verified: VerifiedSdJwt,
    store: ReplayStore,
    policy: VerificationPolicy,
    now: float,
) -> None:
    """A presentation is accepted once: kept until its `iat` can no longer pass the window."""
    kb_iat = verified.kb_payload["iat"] if verified.kb_payload else now
    keep_until = max(now, kb_iat) + policy.kb_window_s + 2 * policy.clock_skew_s
    key = replay_key(presentation[presentation.rindex("~") + 1 :])
    if not store.first_use(key, now=now, keep_until=keep_until):
        raise Denied(Reason.replayed, "presentation already used")


def check_credential_type(verified: VerifiedSdJwt, accepted: Mapping[str, frozenset[str]]) -> str:
    """The `vct` must be one this issuer is trusted for; returns the issuer.

    `vc` has checked that `vct` is a string, and the trust store that `iss` is a trusted one.
    """
    issuer = verified.claims["iss"]
    if verified.claims["vct"] not in accepted.get(issuer, ()):
        raise Denied(Reason.wrong_credential_type, "vct not accepted for this issuer")
    return str(issuer)


_STATUS_REASONS = {INVALID: Reason.revoked, SUSPENDED: Reason.suspended}


def status_reference(verified: VerifiedSdJwt) -> tuple[str, int] | None:
    """The credential's status list entry (`status.status_list`: uri, idx), if it has one."""
    status = verified.claims.get("status")
    ref = status.get("status_list") if isinstance(status, dict) else None
    if not isinstance(ref, dict):
        return None
    uri, idx = ref.get("uri"), ref.get("idx")
    return (uri, idx) if isinstance(uri, str) and isinstance(idx, int) else None


def check_status(
    verified: VerifiedSdJwt,
    issuer: str,
    cache: StatusCache,
    policy: VerificationPolicy,
    now: float,
) -> bool:
    """Deny revoked, suspended or unknown statuses; returns True when allowed on stale status.

    A list too old, or not held at all (the cache asks for it), denies under fail-closed and
    allows, flagged, under fail-open. A bad status is never excused by staleness. `vc` has
    checked the reference's shape (`idx` a non-negative integer, `uri` a string).
    """
    status = verified.claims.get("status")
    ref = status.get("status_list") if isinstance(status, dict) else None
    if ref is None:
        raise Denied(Reason.invalid_status, "credential has no status reference")
    try:
        found = cache.lookup(
            issuer, ref["uri"], ref["idx"], now=now, max_age=policy.max_status_age_s
        )
    except TrustError as exc:
        raise Denied(Reason.invalid_status, exc.code) from None
    if found.value is not None and found.value != VALID:
        raise Denied(_STATUS_REASONS.get(found.value, Reason.invalid_status), "status not valid")
    if found.fresh:
        return False
    if policy.stale_status is StalePolicy.fail_closed:
        raise Denied(Reason.stale_status, "no status list recent enough")
    return True


class PolicyOutcome(NamedTuple):
    displayed: dict[str, Any]
    employee_number: str | None
    agency_code: str | None
    member_id: str | None


def apply_policy(claims: Mapping[str, Any], policy: VerificationPolicy) -> PolicyOutcome:
    """Required claims, allowed agencies, then what the terminal shows (and the member id)."""
    for name in policy.required_claims:
        if name not in claims:
            raise Denied(Reason.missing_claim, f"{name} not disclosed")
    agency = claims.get(AGENCY_CLAIM)
    if agency is not None and not isinstance(agency, str):
        raise Denied(Reason.malformed, f"{AGENCY_CLAIM} is not a string")
    if policy.allowed_agencies and agency not in policy.allowed_agencies:
        raise Denied(Reason.agency_not_allowed, "agency not allowed here")
    displayed = {name: claims[name] for name in policy.displayed_claims if name in claims}
    member_id = None
    if policy.member_id_secret is not None:
        stable = claims.get(policy.member_id_claim) or claims.get("employee_number")
        if not isinstance(stable, str):
            raise Denied(Reason.missing_claim, f"{policy.member_id_claim} not disclosed")
        member_id = library_member_id(policy.member_id_secret, stable)
        displayed["member_id"] = member_id
    number = claims.get("employee_number")
    code = claims.get("agency_code", agency)
    return PolicyOutcome(
        displayed,
        number if isinstance(number, str) else None,
        code if isinstance(code, str) else None,
        member_id,
    )


# --- the whole ----------------------------------------------------------------------------


class Pipeline:
    """The steps above in order for one audience and policy; no I/O once the caches are warm."""

    def __init__(
        self,
        policy: VerificationPolicy,
        *,
        audience: str,
        trust: TrustStore,
        status: StatusCache,
        replay: ReplayStore | None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.policy = policy
        self.audience = audience
        self.trust = trust
        self.status = status
        self.replay = replay
        self._timer = timer
        self._accepted_vcts = {name: t.accepted_vcts for name, t in trust.issuers.items()}

    def decide(self, payload: bytes | str, *, now: float, nonce: str | None = None) -> Decision:
        """Decide on one scan (or `vp_token` entry, with the session's `nonce`)."""
        start = self._timer()
        issuer = None
        try:
            presentation = decode_scan(payload)
            verified = verify_presentation(
                presentation,
                trust=self.trust,
                policy=self.policy,
                audience=self.audience,
                nonce=nonce,
                now=now,
            )
            if self.replay is not None:
                check_replay(presentation, verified, self.replay, self.policy, now)
            issuer = check_credential_type(verified, self._accepted_vcts)
            stale = check_status(verified, issuer, self.status, self.policy, now)
            outcome = apply_policy(verified.claims, self.policy)
        except Denied as denied:
            return self._deny(denied.reason, denied.detail, start, issuer)
        except VCError as err:
            return self._deny(reason_for_error(err), f"{err.code}: {err.detail}", start, issuer)
        return Decision(
            True,
            Reason.ok,
            outcome.displayed,
            (self._timer() - start) * 1000.0,
            stale,
            issuer,
            outcome.employee_number,
            outcome.agency_code,
            outcome.member_id,
            "allowed on stale status (fail-open)" if stale else "",
            status_reference(verified),
        )

    def _deny(self, reason: Reason, detail: str, start: float, issuer: str | None) -> Decision:
        return Decision(
            False, reason, {}, (self._timer() - start) * 1000.0, issuer=issuer, detail=detail
        )
