"""The employee ID credential type (모바일 공무원증): vct, claims, type metadata, purposes.

The credential is an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc §3); its `vct` is an https-style URL
under the issuer, and the SD-JWT VC Type Metadata (§6) is served at that URL. Everything here is
data: the claim table is the single source for the type metadata, the OpenID4VCI
`credential_metadata` (OpenID4VCI 1.0 §12.2.4), the JSON Schema and the disclosure purposes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ALWAYS_PLAIN",
    "CLAIMS",
    "CONFIGURATION_ID",
    "DISCLOSABLE",
    "MAX_PHOTO_BYTES",
    "PURPOSES",
    "QR_EXCLUDED_CLAIMS",
    "VCT_PATH",
    "ClaimSpec",
    "EmployeeIdClaims",
    "EmploymentType",
    "Purpose",
    "claims_json_schema",
    "credential_display",
    "employee_vct",
    "oid4vci_claims_metadata",
    "type_metadata",
]

VCT_PATH = "/types/employee-id/v1"
CONFIGURATION_ID = "KrPublicServantEmployeeId"
MAX_PHOTO_BYTES = 8 * 1024
PHOTO_PREFIX = "data:image/jpeg;base64,"

ALWAYS_PLAIN = frozenset({"iss", "iat", "exp", "nbf", "cnf", "vct", "status"})
"""Registered claims that stay plaintext (SD-JWT VC §3.2.2; `iat` kept plain by our choice)."""


class EmploymentType(StrEnum):
    """Korean civil service employment types (국가공무원법 §2), English codes on the wire."""

    general = "general"  # 일반직
    special = "special"  # 특정직
    political = "political"  # 정무직
    special_contract = "special_contract"  # 별정직
    fixed_term = "fixed_term"  # 임기제
    part_time = "part_time"  # 시간선택제


EMPLOYMENT_TYPE_LABELS_KO: Mapping[str, str] = {
    "general": "일반직",
    "special": "특정직",
    "political": "정무직",
    "special_contract": "별정직",
    "fixed_term": "임기제",
    "part_time": "시간선택제",
}


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    """One top-level claim: its wire name, labels and whether a holder may withhold it."""

    name: str
    label_ko: str
    label_en: str
    description_en: str
    mandatory: bool
    sd: Literal["always", "allowed", "never"] = "always"


CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec(
        "employee_number",
        "공무원 번호",
        "Employee number",
        "Employee number in the HR system of record",
        True,
    ),
    ClaimSpec("name", "성명", "Name", "Full name in Korean", True),
    ClaimSpec("name_en", "영문 성명", "Name (English)", "Full name in Latin script", False),
    ClaimSpec("agency", "소속 기관", "Agency", "Name of the employing agency", True),
    ClaimSpec(
        "agency_code", "기관 코드", "Agency code", "Administrative agency code (행정기관코드)", True
    ),
    ClaimSpec("department", "부서", "Department", "Department or division", True),
    ClaimSpec("position", "직위", "Position", "Position held (e.g. 과장)", True),
    ClaimSpec("grade", "직급", "Grade", "Civil service grade (e.g. 5급)", True),
    ClaimSpec(
        "employment_type",
        "임용 구분",
        "Employment type",
        "general, special, political, special_contract, fixed_term or part_time",
        True,
    ),
    ClaimSpec("photo", "사진", "Photo", "JPEG photo as a data URI, at most 8 KB", False),
    ClaimSpec(
        "active_public_servant_of",
        "재직 기관",
        "Active public servant of",
        "Agency code of the agency the holder actively serves; reveals nothing else",
        True,
    ),
    ClaimSpec(
        "opaque_id",
        "가명 식별자",
        "Pseudonymous ID",
        "Random, stable per employee; lets a service derive its own member id",
        True,
    ),
)

DISCLOSABLE = frozenset(c.name for c in CLAIMS if c.sd != "never")


class Purpose(StrEnum):
    """Why a verifier asks; each purpose discloses a fixed, minimal claim set."""

    gate = "gate"
    library = "library"
    identity = "identity"


QR_EXCLUDED_CLAIMS = frozenset({"photo"})
"""Claims never put in a QR code: a photo alone exceeds any QR version; it travels online only."""

PURPOSES: Mapping[Purpose, frozenset[str]] = {
    Purpose.gate: frozenset({"employee_number", "agency_code", "active_public_servant_of"}),
    Purpose.library: frozenset({"active_public_servant_of", "opaque_id"}),
    Purpose.identity: frozenset(
        {"name", "agency", "department", "position", "photo", "active_public_servant_of"}
    ),
}


class EmployeeIdClaims(BaseModel):
    """The credential subject as issued (before blinding); its JSON Schema is published."""

    model_config = ConfigDict(extra="forbid", title="Mobile civil servant ID claims")

    employee_number: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    name: str = Field(min_length=1, max_length=50)
    name_en: str | None = Field(default=None, max_length=100)
    agency: str = Field(min_length=1, max_length=100)
    agency_code: str = Field(pattern=r"^[0-9]{7}$")
    department: str = Field(min_length=1, max_length=100)
    position: str = Field(min_length=1, max_length=50)
    grade: str = Field(min_length=1, max_length=50)
    employment_type: EmploymentType
    photo: str | None = Field(
        default=None,
        max_length=len(PHOTO_PREFIX) + 4 * ((MAX_PHOTO_BYTES + 2) // 3),
        pattern=r"^data:image/jpeg;base64,[A-Za-z0-9+/]+={0,2}$",
    )
    active_public_servant_of: str = Field(pattern=r"^[0-9]{7}$")
    opaque_id: str = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


def employee_vct(issuer_base_url: str) -> str:
    """The `vct` of the employee ID credential issued by `issuer_base_url`."""
    return issuer_base_url.rstrip("/") + VCT_PATH


def claims_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the credential subject claims."""
    schema = EmployeeIdClaims.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def credential_display() -> list[dict[str, Any]]:
    """Display names in Korean and English (OpenID4VCI `credential_metadata.display`)."""
    return [
        {
            "name": "모바일 공무원증",
            "locale": "ko-KR",
            "description": "대한민국 공무원 신분증",
            "background_color": "#003764",
            "text_color": "#FFFFFF",
        },
        {
            "name": "Mobile Civil Servant ID",
            "locale": "en-US",
            "description": "Republic of Korea public servant identification",
            "background_color": "#003764",
            "text_color": "#FFFFFF",
        },
    ]


def oid4vci_claims_metadata() -> list[dict[str, Any]]:
    """Claim descriptions for OpenID4VCI `credential_metadata.claims` (Appendix B.2)."""
    return [
        {
            "path": [c.name],
            "mandatory": c.mandatory,
            "display": [
                {"name": c.label_ko, "locale": "ko-KR"},
                {"name": c.label_en, "locale": "en-US"},
            ],
        }
        for c in CLAIMS
    ]


def type_metadata(issuer_base_url: str) -> dict[str, Any]:
    """SD-JWT VC Type Metadata (§6) for the credential, served at the `vct` URL."""
    return {
        "vct": employee_vct(issuer_base_url),
        "name": "Mobile Civil Servant ID (모바일 공무원증)",
        "description": "Identity credential of an active public servant of the Republic of Korea",
        "display": [
            {"locale": "ko-KR", "name": "모바일 공무원증", "description": "대한민국 공무원 신분증"},
            {
                "locale": "en-US",
                "name": "Mobile Civil Servant ID",
                "description": "Republic of Korea public servant identification",
            },
        ],
        "claims": [
            {
                "path": [c.name],
                "display": [
                    {"locale": "ko-KR", "label": c.label_ko},
                    {"locale": "en-US", "label": c.label_en, "description": c.description_en},
                ],
                "mandatory": c.mandatory,
                "sd": c.sd,
            }
            for c in CLAIMS
        ],
    }
