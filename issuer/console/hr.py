"""The HR officer's console (issue 19): its routers, to include on the issuer app, and where the
issuer's console templates live."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from console.web import NavItem
from issuer.console.hr_mass import hr_mass_router
from issuer.console.hr_people import hr_people_router
from issuer.console.hr_system import hr_system_router
from issuer.console.hr_upload import hr_upload_router

__all__ = ["HR_NAV", "HR_ROUTERS", "ISSUER_TEMPLATES"]

ISSUER_TEMPLATES = Path(__file__).parent / "templates"
HR_ROUTERS: tuple[APIRouter, ...] = (
    hr_people_router,
    hr_upload_router,
    hr_mass_router,
    hr_system_router,
)
HR_NAV: tuple[NavItem, ...] = (
    NavItem("인사 / HR", "/console/hr", ("hr_admin", "hr_officer")),
    NavItem("감사 기록 / Audit log", "/console/hr/audit", ("hr_admin",)),
)
"""The console's navigation links to the HR pages (shown to who may use them)."""
