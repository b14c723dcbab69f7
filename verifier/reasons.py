"""Decision reasons: the stable codes a gate, desk or login shows, logs and records.

`vc` raises errors with its own codes (`vc.errors.Code`); `reason_for_error` is the one mapping
from those to decision reasons. The HTTP edges map decisions to responses, never the other way.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from vc.errors import Code, VCError
from verifier.errors import VerifierError

__all__ = ["REASON_LABELS", "Denied", "Reason", "reason_for_error"]


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


REASON_LABELS: Mapping[Reason, tuple[str, str]] = {
    Reason.ok: ("확인됨", "verified"),
    Reason.malformed: ("읽을 수 없는 제시", "not a readable presentation"),
    Reason.invalid_signature: ("서명 오류", "invalid signature"),
    Reason.untrusted_issuer: ("신뢰하지 않는 발급기관", "issuer not trusted"),
    Reason.wrong_credential_type: ("다른 종류의 증명서", "wrong credential type"),
    Reason.expired: ("만료된 공무원증", "credential expired"),
    Reason.not_yet_valid: ("아직 유효하지 않음", "credential not yet valid"),
    Reason.key_binding_missing: ("기기 서명 없음", "no device signature (key binding)"),
    Reason.wrong_audience: ("다른 검증기용 제시", "presented for another verifier"),
    Reason.wrong_nonce: ("요청과 맞지 않는 제시", "nonce does not match the request"),
    Reason.kb_too_old: ("오래된 QR, 새로 만드세요", "QR too old: make a new one"),
    Reason.kb_in_future: ("휴대폰 시각 오류", "phone clock ahead"),
    Reason.replayed: ("이미 사용된 QR", "QR already used"),
    Reason.revoked: ("폐지된 공무원증", "credential revoked"),
    Reason.suspended: ("정지된 공무원증", "credential suspended"),
    Reason.invalid_status: ("상태 확인 불가", "status cannot be checked"),
    Reason.stale_status: ("상태 정보가 오래됨", "status information too old"),
    Reason.missing_claim: ("필요한 항목 없음", "a required claim is not disclosed"),
    Reason.agency_not_allowed: ("출입할 수 없는 기관", "agency not allowed here"),
}
"""What a terminal or an operator reads for each reason (Korean, English)."""


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
