"""Which credential claim becomes which OpenID Connect claim, and what `sub` a client sees.

Standard OIDC claims where one fits (`name`, `name#en` as a language-tagged name, `picture` for
the photo data URI; OIDC Core §5.1, §5.2); our own names for the rest. A client is registered
with the OIDC names it may receive; the DCQL query asks exactly for their sources plus the
employee number (needed for `sub` and the login record, never released unless allowed).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from vc.base64url import b64url_encode
from verifier.errors import VerifierError

__all__ = [
    "CLAIM_LABELS",
    "OIDC_CLAIMS",
    "SUBJECT_TYPES",
    "ClaimsError",
    "check_allowed_claims",
    "credential_claims_for",
    "map_claims",
    "sector_of",
    "subject_for",
]

OIDC_CLAIMS: dict[str, str] = {
    "name": "name",
    "name#en": "name_en",
    "picture": "photo",
    "employee_number": "employee_number",
    "agency": "agency",
    "agency_code": "agency_code",
    "department": "department",
    "position": "position",
    "grade": "grade",
    "employment_type": "employment_type",
    "active_public_servant_of": "active_public_servant_of",
    "opaque_id": "opaque_id",
}
"""OIDC claim name -> the employee ID claim it is taken from."""

CLAIM_LABELS: dict[str, str] = {
    "name": "성명 / Name",
    "name#en": "영문 성명 / Name (English)",
    "picture": "사진 / Photo",
    "employee_number": "공무원 번호 / Employee number",
    "agency": "소속 기관 / Agency",
    "agency_code": "기관 코드 / Agency code",
    "department": "부서 / Department",
    "position": "직위 / Position",
    "grade": "직급 / Grade",
    "employment_type": "임용 구분 / Employment type",
    "active_public_servant_of": "재직 기관 / Active public servant of",
    "opaque_id": "가명 식별자 / Pseudonymous ID",
}

SUBJECT_TYPES = ("pairwise", "employee_number")
SUBJECT_SOURCE = "employee_number"


class ClaimsError(VerifierError):
    """A client registration names claims the bridge cannot provide."""

    def __init__(self, detail: str) -> None:
        super().__init__("unknown_claims", detail)


def check_allowed_claims(names: Iterable[str]) -> list[str]:
    out = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = sorted(n for n in out if n not in OIDC_CLAIMS)
    if unknown:
        raise ClaimsError(f"unknown claims {unknown}; known: {sorted(OIDC_CLAIMS)}")
    return out


def credential_claims_for(allowed: Iterable[str]) -> list[str]:
    """The credential claims to ask the wallet for: the sources of `allowed` and the subject's."""
    return list(dict.fromkeys([SUBJECT_SOURCE, *(OIDC_CLAIMS[n] for n in allowed)]))


def map_claims(credential: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Exactly the allowed OIDC claims that the credential disclosed."""
    out: dict[str, Any] = {}
    for name in allowed:
        source = OIDC_CLAIMS.get(name)
        if source is not None and source in credential:
            out[name] = credential[source]
    return out


def sector_of(redirect_uris: Iterable[str]) -> str:
    """The sector identifier of a client: the host of its redirect URIs (OIDC Core §8.1)."""
    hosts = sorted({(urlsplit(u).hostname or "") for u in redirect_uris})
    return hosts[0] if len(hosts) == 1 else " ".join(hosts)


def subject_for(subject_type: str, employee_number: str, *, sector: str, secret: bytes) -> str:
    """`sub`: the employee number, or a pairwise pseudonym per sector (OIDC Core §8.1)."""
    if subject_type == "employee_number":
        return employee_number
    mac = hmac.new(secret, f"{sector}\x00{employee_number}".encode(), hashlib.sha256)
    return b64url_encode(mac.digest())
