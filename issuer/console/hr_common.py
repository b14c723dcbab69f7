"""What every page of the HR officer's console shares: who may use it, their reach, labels
(issue 19).

`hr_admin` sees and acts on everyone; `hr_officer` (one grant per agency) on the employees of
their agencies and those dispatched to them. Pages of the whole issuer (the SMS outbox, status
lists, keys, the audit log) are for `hr_admin` only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from console.viewer import Viewer
from console.web import check_csrf, console_of, require_role
from issuer.context import IssuerContext, issuer_context
from issuer.hr.directory import HrReach
from issuer.models import AuditEntry

__all__ = [
    "CHANGE_EFFECT",
    "REASON_LABELS",
    "AdminViewer",
    "AuditRow",
    "Csrf",
    "Ctx",
    "HrViewer",
    "audit_rows",
    "mask_phone",
    "reach_of",
    "render",
]

HR_ROLES = ("hr_admin", "hr_officer")
HrViewer = Annotated[Viewer, Depends(require_role(*HR_ROLES))]
AdminViewer = Annotated[Viewer, Depends(require_role("hr_admin"))]
Ctx = Annotated[IssuerContext, Depends(issuer_context)]
Csrf = Depends(check_csrf)

REASON_LABELS: Mapping[str, str] = {
    "phone_lost": "휴대폰 분실 / Phone lost",
    "phone_changed": "휴대폰 교체 / Phone changed",
    "app_deleted": "앱 삭제 / App deleted",
    "pin_lockout": "PIN 잠김 / PIN locked out",
    "info_changed": "인사 정보 변경 / HR data changed",
    "retired": "퇴직 / Retired",
    "dismissed": "파면 / Dismissed",
    "other": "기타 / Other",
    "leave_of_absence": "휴직 / Leave of absence",
    "investigation": "조사 / Investigation",
    "emergency": "긴급 / Emergency",
    "leave_ended": "복직 / Back from leave",
    "investigation_closed": "조사 종료 / Investigation closed",
    "emergency_over": "긴급 상황 종료 / Emergency over",
    "superseded": "새 자격으로 대체 / Superseded",
    "key_compromise": "서명 키 유출 / Key compromise",
}
CHANGE_EFFECT = (
    "게이트와 로그인은 몇 초 안에 거부합니다 / Gates and logins refuse it within seconds; "
    "offline gates at their next sync"
)
"""What a revocation or suspension does, said on every page that asks to confirm one."""


def reach_of(viewer: Viewer) -> HrReach:
    """Everyone for an HR administrator, else the agencies of the viewer's `hr_officer` grants."""
    if viewer.has("hr_admin"):
        return HrReach(viewer.actor, None)
    agencies = frozenset(s for s in viewer.scopes("hr_officer") if s is not None)
    return HrReach(viewer.actor, agencies)


def mask_phone(phone: str | None) -> str:
    """`010-****-5678`: enough for a person to recognise, never the whole number."""
    if not phone:
        return ""
    return f"{phone[:3]}-****-{phone[-4:]}" if len(phone) >= 10 else "***"


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page of the console the assembly installed (`console.web.Console.render`)."""
    return console_of(request).render(request, template, context, status)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """An audit entry as a page shows it: its detail as `key: value` pairs that wrap."""

    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    subject: str
    detail_text: str


def _detail_text(detail: str) -> str:
    try:
        values = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(values, dict):
        return detail
    return ", ".join(f"{key}: {value}" for key, value in values.items())


def audit_rows(entries: Iterable[AuditEntry]) -> list[AuditRow]:
    return [
        AuditRow(e.seq, e.at, e.actor, e.role, e.action, e.subject, _detail_text(e.detail))
        for e in entries
    ]
