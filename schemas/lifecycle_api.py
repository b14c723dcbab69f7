"""Wire models of the credential lifecycle API (`/hr/credentials/...`, `/hr/employees/...`,
`/hr/mass-actions`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.hr_api import ApplicationView

__all__ = [
    "MASS_ACTION_BATCH_SIZE",
    "CredentialView",
    "EmployeeChangeView",
    "HrActionView",
    "MassActionRequest",
    "MassActionView",
    "ReasonRequest",
    "ReissueRequest",
    "ReissueView",
    "StatusChangeView",
]

MASS_ACTION_BATCH_SIZE = 500
"""Credentials changed per transaction by a mass action, unless the request says otherwise."""


class ReasonRequest(BaseModel):
    """A lifecycle action's reason (one of the listed codes) and an optional comment."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        max_length=40,
        description=(
            "revoke: phone_lost, phone_changed, app_deleted, pin_lockout, info_changed, retired, "
            "dismissed, other; suspend: leave_of_absence, investigation; reinstate: leave_ended, "
            "investigation_closed, other"
        ),
    )
    comment: str = Field(default="", max_length=500)


class ReissueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(
        default=None,
        max_length=30,
        description=(
            "a phone on record (the live credential's, or the HR record's, the default); a new "
            "phone is the employee's own application (phone_not_on_record)"
        ),
    )
    reason: str = Field(max_length=40, description="phone_lost or phone_changed")
    comment: str = Field(default="", max_length=500)


class MassActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(max_length=10, description="suspend or revoke")
    agency_code: str | None = Field(default=None, max_length=7)
    department_code: str | None = Field(default=None, max_length=20)
    reason: str = Field(max_length=40)
    comment: str = Field(default="", max_length=500)
    dry_run: bool = False
    batch_size: int = Field(default=MASS_ACTION_BATCH_SIZE, ge=1, le=10_000)


class CredentialView(BaseModel):
    id: str
    employee_number: str
    state: str
    kid: str
    status_uri: str
    status_idx: int
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    suspended_at: datetime | None
    suspension_reason: str | None


class StatusChangeView(BaseModel):
    credential_id: str
    employee_number: str
    before: str
    after: str
    reason: str
    status_list_id: int
    status_idx: int


class ReissueView(BaseModel):
    application: ApplicationView
    revoked: StatusChangeView | None


class HrActionView(BaseModel):
    employee_number: str
    action: str
    reason: str
    changed_fields: list[str]
    credential_id: str | None
    application_id: str | None


class EmployeeChangeView(BaseModel):
    employee_number: str
    created: bool
    changed_fields: list[str]
    dry_run: bool
    actions: list[HrActionView]


class MassActionView(BaseModel):
    action: str
    scope: str
    dry_run: bool
    matched: int
    changed: int
    batches: int
