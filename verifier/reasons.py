"""Decision reasons: the stable codes a gate, desk or login shows, logs and records.

`vc` raises errors with its own codes (`vc.errors.Code`); `reason_for_error` is the one mapping
from those to decision reasons. The HTTP edges map decisions to responses, never the other way.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from vc.errors import Code, VCError
from verifier.errors import VerifierError

__all__ = ["Denied", "Reason", "reason_for_error"]


class Reason(StrEnum):
    """Why a presentation was allowed or denied; part of the public contract (records, CSV)."""

    ok = "ok"
    malformed = "malformed"
    invalid_signature = "invalid_signature"
    untrusted_issuer = "untrusted_issuer"
    wrong_credential_type = "wrong_credential_type"
    expired = "expired"
    not_yet_valid = "not_yet_valid"
    key_binding_missing = "key_binding_missing"
    wrong_audience = "wrong_audience"
    wrong_nonce = "wrong_nonce"
    kb_too_old = "kb_too_old"
    kb_in_future = "kb_in_future"
    replayed = "replayed"
    revoked = "revoked"
    suspended = "suspended"
    invalid_status = "invalid_status"
    stale_status = "stale_status"
    missing_claim = "missing_claim"
    agency_not_allowed = "agency_not_allowed"


class Denied(VerifierError):
    """A pipeline step refused the presentation; `reason` (also the `code`) is what the
    decision says."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.reason = reason
        super().__init__(str(reason), detail)


_BY_CODE: Mapping[str, Reason] = {
    # signature and trust
    Code.invalid_signature: Reason.invalid_signature,
    Code.unsupported_algorithm: Reason.invalid_signature,
    Code.invalid_key: Reason.invalid_signature,
    Code.unsupported_key_type: Reason.invalid_signature,
    Code.untrusted_issuer: Reason.untrusted_issuer,
    # The KB-JWT signs `sd_hash`: a presentation whose disclosures changed after signing fails
    # the holder's signature over it, whatever the holder key itself.
    Code.sd_hash_mismatch: Reason.invalid_signature,
    # validity
    Code.expired: Reason.expired,
    Code.not_yet_valid: Reason.not_yet_valid,
    Code.missing_claim: Reason.malformed,
    Code.invalid_claim: Reason.malformed,
    # key binding
    Code.kb_jwt_missing: Reason.key_binding_missing,
    Code.kb_jwt_unexpected: Reason.malformed,
    Code.holder_key_missing: Reason.key_binding_missing,
    Code.audience_mismatch: Reason.wrong_audience,
    Code.nonce_mismatch: Reason.wrong_nonce,
    Code.kb_too_old: Reason.kb_too_old,
    Code.kb_in_future: Reason.kb_in_future,
    # status
    Code.status_index_out_of_range: Reason.invalid_status,
    Code.invalid_status_list: Reason.invalid_status,
    Code.status_uri_mismatch: Reason.invalid_status,
}


def reason_for_error(error: VCError) -> Reason:
    """The decision reason for a `vc` error; format errors of any kind are `malformed`."""
    return _BY_CODE.get(error.code, Reason.malformed)
