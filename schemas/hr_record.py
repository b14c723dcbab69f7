"""One employee record as HR exports it (central 전자인사관리 e-사람, local 인사랑).

`mobileid hr import FILE` reads CSV (UTF-8, header row, BOM tolerated, `#` lines before the
header are comments) or JSON (an array of objects, or `{"employees": [...]}`) with these columns;
optional ones may be empty or absent.

| column | required | meaning |
|---|---|---|
| employee_number | yes | 공무원 번호, letters/digits/-, at most 20 |
| name | yes | 성명 (Korean) |
| name_en | no | English name |
| agency, agency_code | yes | 소속 기관 and its 7-digit 행정기관코드 |
| department, department_code | yes | 부서 and its code (letters/digits/-) |
| position | yes | 직위 (e.g. 과장) |
| grade | yes | 직급 (e.g. 5급, 행정사무관) |
| employment_type | yes | general, special, political, special_contract, fixed_term, part_time |
|  |  | (or 일반직, 특정직, 정무직, 별정직, 임기제, 시간선택제) |
| employment_status | no | active/leave/retired/dismissed or 재직/휴직/퇴직/파면 (default active) |
| retirement_date | no | YYYY-MM-DD; credentials never outlive it |
| dispatched_to_agency_code | no | agency the employee is dispatched to (파견) |
| phone | no | mobile number, e.g. 010-1234-5678 |
| photo | no | JPEG as `data:image/jpeg;base64,...`, at most 8 KB decoded |
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.employee_id import EMPLOYMENT_TYPE_LABELS_KO, MAX_PHOTO_BYTES, EmploymentType

__all__ = ["EMPLOYMENT_STATUSES", "HR_COLUMNS", "HrRecord", "normalize_phone"]

EMPLOYMENT_STATUSES = {"active": "재직", "leave": "휴직", "retired": "퇴직", "dismissed": "파면"}
_STATUS_FROM_KO = {v: k for k, v in EMPLOYMENT_STATUSES.items()} | {"해임": "dismissed"}
_TYPE_FROM_KO = {v: k for k, v in EMPLOYMENT_TYPE_LABELS_KO.items()}
_MOBILE = re.compile(r"^01[016789][0-9]{7,8}$")
_PHOTO_PREFIX = "data:image/jpeg;base64,"


def normalize_phone(value: str) -> str:
    """Korean mobile number as digits only (`01012345678`); +82 accepted."""
    digits = re.sub(r"[\s().-]", "", value)
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    if not _MOBILE.fullmatch(digits):
        raise ValueError("not a Korean mobile number (010-XXXX-XXXX)")
    return digits


class HrRecord(BaseModel):
    """A validated HR record; field validators normalize Korean labels to codes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_number: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    name: str = Field(min_length=1, max_length=50)
    name_en: str | None = Field(default=None, max_length=100)
    agency: str = Field(min_length=1, max_length=100)
    agency_code: str = Field(pattern=r"^[0-9]{7}$")
    department: str = Field(min_length=1, max_length=100)
    department_code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    position: str = Field(min_length=1, max_length=50)
    grade: str = Field(min_length=1, max_length=50)
    employment_type: EmploymentType
    employment_status: str = "active"
    retirement_date: date | None = None
    dispatched_to_agency_code: str | None = Field(default=None, pattern=r"^[0-9]{7}$")
    phone: str | None = None
    photo: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_is_none(cls, data: Any) -> Any:
        """Empty cells mean absent."""
        if not isinstance(data, dict):
            return data
        return {k: None if isinstance(v, str) and not v.strip() else v for k, v in data.items()}

    @field_validator("employment_type", mode="before")
    @classmethod
    def _type_from_korean(cls, value: Any) -> Any:
        return _TYPE_FROM_KO.get(value, value) if isinstance(value, str) else value

    @field_validator("employment_status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "active"
        value = _STATUS_FROM_KO.get(value, value)
        if value not in EMPLOYMENT_STATUSES:
            raise ValueError("must be active, leave, retired or dismissed (재직/휴직/퇴직/파면)")
        return str(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value)

    @field_validator("photo")
    @classmethod
    def _photo(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(_PHOTO_PREFIX):
            raise ValueError("photo must be a data:image/jpeg;base64 URI")
        try:
            raw = base64.b64decode(value[len(_PHOTO_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("photo is not valid base64") from exc
        if len(raw) > MAX_PHOTO_BYTES:
            raise ValueError(f"photo is larger than {MAX_PHOTO_BYTES} bytes")
        if not raw.startswith(b"\xff\xd8\xff"):
            raise ValueError("photo is not a JPEG")
        return value


HR_COLUMNS = tuple(HrRecord.model_fields)
