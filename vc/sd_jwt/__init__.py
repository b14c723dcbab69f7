"""SD-JWT (RFC 9901): issuance, holder presentation with Key Binding, and verification.

One module per role, as the reference implementation has them: `common` (disclosures and the
compact and JWS JSON serializations, §4 and §8), `issuer` (§4), `holder` (§4.3, §5) and
`verifier` (§7). This package re-exports their public surface, so callers import from `vc.sd_jwt`.
"""

from vc.sd_jwt.common import (
    ARRAY_DIGEST_KEY,
    DEFAULT_HASH_ALG,
    HASH_ALGORITHMS,
    KB_JWT_TYP,
    MAX_DEPTH,
    MAX_DISCLOSURES,
    MAX_SD_JWT_BYTES,
    SD_ALG_KEY,
    SD_KEY,
    ClaimPath,
    Disclosable,
    Disclosure,
    SdJwt,
    parse_sd_jwt,
    to_json_serialization,
)
from vc.sd_jwt.holder import create_key_binding_jwt, disclosure_paths, present, select_paths
from vc.sd_jwt.issuer import issue_sd_jwt
from vc.sd_jwt.verifier import VerifiedSdJwt, check_validity, verify_sd_jwt

__all__ = [
    "ARRAY_DIGEST_KEY",
    "DEFAULT_HASH_ALG",
    "HASH_ALGORITHMS",
    "KB_JWT_TYP",
    "MAX_DEPTH",
    "MAX_DISCLOSURES",
    "MAX_SD_JWT_BYTES",
    "SD_ALG_KEY",
    "SD_KEY",
    "ClaimPath",
    "Disclosable",
    "Disclosure",
    "SdJwt",
    "VerifiedSdJwt",
    "check_validity",
    "create_key_binding_jwt",
    "disclosure_paths",
    "issue_sd_jwt",
    "parse_sd_jwt",
    "present",
    "select_paths",
    "to_json_serialization",
    "verify_sd_jwt",
]
