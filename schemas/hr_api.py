"""Wire models of the HR API (`/hr/...`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApplicationView",
    "ApplyRequest",
    "DecisionRequest",
    "EmployeeView",
    "ErrorBody",
    "OfferView",
    "PrincipalView",
]


class ErrorBody(BaseModel):
    """Every error of the issuer: OAuth-style `error` code plus a human description."""

    error: str
    error_description: str | None = None


class ApplyRequest(BaseModel):
    """File an application (신청). Employees may omit `employee_number` (themselves)."""

    model_config = ConfigDict(extra="forbid")

    employee_number: str | None = Field(default=None, max_length=20)
    phone: str = Field(max_length=30, description="Mobile number to issue to, e.g. 010-1234-5678")
    reason: Literal["new", "reissue"] = "new"


class DecisionRequest(BaseModel):
    """Approve (승인) or reject (반려); a rejection needs a comment."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=1000)


class OfferView(BaseModel):
    state: str
    expires_at: datetime
    tx_attempts: int


class ApplicationView(BaseModel):
    id: str
    employee_number: str
    employee_name: str
    department: str
    reason: str
    phone: str = Field(description="masked")
    state: str
    filed_by: str
    created_at: datetime
    decided_by: str | None
    decision_comment: str | None
    decided_at: datetime | None
    offer: OfferView | None


class EmployeeView(BaseModel):
    employee_number: str
    name: str
    name_en: str | None
    agency: str
    agency_code: str
    department: str
    department_code: str
    position: str
    grade: str
    employment_type: str
    employment_status: str
    hr_source: str
    dispatched_to_agency_code: str | None


class PrincipalView(BaseModel):
    role: str
    department_code: str | None
    agency_code: str | None
    employee_number: str | None
