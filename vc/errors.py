"""One error tree for every credential primitive, with stable snake_case codes.

Codes are part of the public contract: verifiers put them in decisions and logs, and the web edge
maps them to HTTP statuses and OAuth/OpenID4VCI/OpenID4VP error bodies. Messages are for humans and
logs; they never contain secrets, keys or whole credentials.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ClaimsError",
    "Code",
    "FormatError",
    "KeyBindingError",
    "KeyMaterialError",
    "SignatureError",
    "StatusError",
    "VCError",
]


class Code(StrEnum):
    """Stable error codes, grouped by the area that raises them."""

    # key
    invalid_key = "invalid_key"
    unsupported_key_type = "unsupported_key_type"
    invalid_did = "invalid_did"
    unsafe_file_permissions = "unsafe_file_permissions"
    # format
    malformed = "malformed"
    input_too_large = "input_too_large"
    invalid_disclosure = "invalid_disclosure"
    disclosure_unreferenced = "disclosure_unreferenced"
    duplicate_digest = "duplicate_digest"
    duplicate_disclosure = "duplicate_disclosure"
    claim_not_disclosable = "claim_not_disclosable"
    unsupported_hash_algorithm = "unsupported_hash_algorithm"
    invalid_type = "invalid_type"
    # signature
    invalid_signature = "invalid_signature"
    unsupported_algorithm = "unsupported_algorithm"
    untrusted_issuer = "untrusted_issuer"
    # claims
    expired = "expired"
    not_yet_valid = "not_yet_valid"
    missing_claim = "missing_claim"
    invalid_claim = "invalid_claim"
    # key binding
    kb_jwt_missing = "kb_jwt_missing"
    kb_jwt_unexpected = "kb_jwt_unexpected"
    sd_hash_mismatch = "sd_hash_mismatch"
    nonce_mismatch = "nonce_mismatch"
    audience_mismatch = "audience_mismatch"
    kb_too_old = "kb_too_old"
    kb_in_future = "kb_in_future"
    holder_key_missing = "holder_key_missing"
    # status
    status_index_out_of_range = "status_index_out_of_range"
    invalid_status_list = "invalid_status_list"
    status_uri_mismatch = "status_uri_mismatch"


class VCError(Exception):
    """Base of every error raised by `vc`. `code` is stable; `detail` is for logs and humans."""

    default_code: Code = Code.malformed

    def __init__(self, code: Code | None = None, detail: str = "") -> None:
        self.code: Code = code or self.default_code
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else str(self.code))


class KeyMaterialError(VCError):
    """A key, JWK or DID could not be used."""

    default_code = Code.invalid_key


class FormatError(VCError):
    """Input is not the wire format it claims to be (or is too large to look at)."""

    default_code = Code.malformed


class SignatureError(VCError):
    """A signature did not verify, or its algorithm is not allowed for the key."""

    default_code = Code.invalid_signature


class ClaimsError(VCError):
    """Validity claims (`exp`, `nbf`, `iat`, required claims) did not pass."""

    default_code = Code.invalid_claim


class KeyBindingError(VCError):
    """The Key Binding JWT is missing, unexpected, or does not bind this presentation."""

    default_code = Code.kb_jwt_missing


class StatusError(VCError):
    """A status list or a status reference is unusable."""

    default_code = Code.invalid_status_list
