"""The HR officer's console (issue 19): its routers, included on the issuer's app with the rest
of its console (`issuer.console.install_issuer_console`)."""

from __future__ import annotations

from fastapi import APIRouter

from issuer.console.hr_mass import hr_mass_router
from issuer.console.hr_people import hr_people_router
from issuer.console.hr_system import hr_system_router
from issuer.console.hr_upload import hr_upload_router

__all__ = ["HR_ROUTERS"]

HR_ROUTERS: tuple[APIRouter, ...] = (
    hr_people_router,
    hr_upload_router,
    hr_mass_router,
    hr_system_router,
)
