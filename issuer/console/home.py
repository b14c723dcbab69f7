"""The console's home page (`/console`): what the signed-in person can do, by role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.viewer import EMPLOYEE, Viewer
from console.web import console_of, current_viewer

__all__ = ["AREAS", "Area", "home_router"]


@dataclass(frozen=True)
class Area:
    """A part of the console, for the people holding any of `roles`."""

    label: str
    href: str
    roles: tuple[str, ...]
    summary: str


AREAS = (
    Area(
        "내 모바일 공무원증 / My mobile ID",
        "/console/me",
        (EMPLOYEE,),
        "발급 신청, 진행 상황, 내 증명서, 분실 신고 / Apply, follow your application, "
        "see your credentials, report a lost phone",
    ),
    Area(
        "결재함 / Approvals",
        "/console/inbox",
        ("department_head",),
        "부서의 발급 신청을 승인하거나 반려합니다 / Approve or reject your department's "
        "applications",
    ),
    Area(
        "인사 업무 / HR",
        "/console/hr",
        ("hr_officer", "hr_admin"),
        "직원 조회, 폐기·정지·재개, 인사 자료 반영, 감사 기록 / Find employees; revoke, "
        "suspend, reinstate; HR uploads; the audit log",
    ),
    Area(
        "운영 현황 / Operations",
        "/console/ops",
        ("hr_admin",),
        "서비스 상태, 상태 목록, 출입 게이트, 폐기 알림 / Service health, status lists, "
        "gates, the revocation feed",
    ),
)
"""The areas, in the order the home page and the navigation show them."""

home_router = APIRouter(prefix="/console", include_in_schema=False)


@home_router.get("", response_class=HTMLResponse)
async def home(
    request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> HTMLResponse:
    """The areas the viewer may use (none: a page that says whom to ask)."""
    areas = [a for a in AREAS if any(viewer.has(role) for role in a.roles)]
    return console_of(request).render(
        request, "issuer/home.html", {"viewer": viewer, "areas": areas}
    )
