"""Wire models of the issuer's console API (`/console/api/...`), read by gates and the login
service to learn a signed-in person's console roles."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["EmployeeGrantsView", "GrantView"]


class GrantView(BaseModel):
    """A console role and its scope (agency code, department code, gate id; null: no limit)."""

    model_config = ConfigDict(extra="ignore")

    role: str
    scope: str | None = None


class EmployeeGrantsView(BaseModel):
    """An employee's active console grants; none while they are not in active service."""

    model_config = ConfigDict(extra="ignore")

    employee_number: str
    name: str
    grants: list[GrantView]
