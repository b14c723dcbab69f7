"""The issuer's own pages for HR administrators: the SMS outbox (delivery state only, never a
text, code or link), status lists, signing keys with rotation, and the audit log with its chain
verified (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from issuer.audit import search_audit, verify_audit_chain
from issuer.console.hr_common import (
    AdminViewer,
    Csrf,
    Ctx,
    audit_rows,
    mask_phone,
    render,
)
from issuer.console.refusals import page_refusals
from issuer.errors import AuditChainBroken, AuditKeyMismatch
from issuer.keys.rotation import rotate_signing_key
from issuer.messages.outbox import list_messages
from issuer.status.publication import status_list_summary

__all__ = ["hr_system_router"]

hr_system_router = APIRouter(prefix="/console/hr", include_in_schema=False)
SIGNING_ALGS = ("EdDSA", "ES256")
OUTBOX_STATES = ("pending", "sent", "failed")
AUDIT_PAGE = 50


def _moment(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@hr_system_router.get("/outbox", response_class=HTMLResponse)
def outbox(
    request: Request,
    viewer: AdminViewer,
    ctx: Ctx,
    state: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """문자 발송함 / SMS outbox: who (masked), what kind, delivery state; never the text."""
    with ctx.unit_of_work() as session:
        rows = [
            {
                "id": m.id,
                "kind": m.kind,
                "recipient": mask_phone(m.recipient),
                "subject": m.subject,
                "state": m.state,
                "attempts": m.attempts,
                "created_at": m.created_at,
                "sent_at": m.sent_at,
                "next_attempt_at": m.next_attempt_at,
                "last_error": m.last_error or "",
            }
            for m in list_messages(session, state=state if state in OUTBOX_STATES else None)
        ]
    return render(
        request,
        "hr/outbox.html",
        {"messages": rows, "state": state, "states": OUTBOX_STATES, "is_admin": True},
    )


@hr_system_router.get("/status-lists", response_class=HTMLResponse)
def status_lists(request: Request, viewer: AdminViewer, ctx: Ctx) -> HTMLResponse:
    """상태 목록 / Status lists: size, use, revoked and suspended, last published, token age."""
    now = ctx.clock()
    with ctx.unit_of_work() as session:
        lists = status_list_summary(session)
    return render(
        request,
        "hr/status_lists.html",
        {
            "lists": lists,
            "ages": {s.list_id: (now - s.signed_at if s.signed_at else None) for s in lists},
            "lifetime": timedelta(seconds=ctx.config.status_list_token_lifetime_s),
            "is_admin": True,
        },
    )


def _keys_context(ctx: Ctx) -> dict[str, object]:
    now = ctx.clock().timestamp()
    ring = ctx.keyring
    active = ring.signing_key(now)
    return {
        "keys": [
            {
                "kid": k.kid,
                "alg": k.alg,
                "created_at": _moment(k.created_at),
                "activates_at": _moment(k.activates_at),
                "publish_until": _moment(k.publish_until),
                "retired_at": _moment(k.retired_at),
                "retired_reason": k.retired_reason or "",
                "active": k is active,
                "published": k is active or k.published(now),
            }
            for k in reversed(ring.keys)
        ],
        "active_alg": active.alg,
        "algs": SIGNING_ALGS,
        "is_admin": True,
    }


@hr_system_router.get("/keys", response_class=HTMLResponse)
def keys(request: Request, viewer: AdminViewer, ctx: Ctx) -> HTMLResponse:
    """서명 키 / Signing keys: which signs, which are published until when."""
    context = _keys_context(ctx) | {"done": request.query_params.get("done", "")}
    return render(request, "hr/keys.html", context)


@hr_system_router.get("/keys/rotate", response_class=HTMLResponse)
def confirm_rotation(request: Request, viewer: AdminViewer, ctx: Ctx) -> HTMLResponse:
    """확인 / Confirm a key rotation."""
    return render(request, "hr/rotate.html", _keys_context(ctx))


@hr_system_router.post("/keys/rotate", response_model=None, dependencies=[Csrf])
def rotate(
    request: Request,
    viewer: AdminViewer,
    ctx: Ctx,
    alg: Annotated[str, Form(max_length=10)] = "",
    confirmed: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse | RedirectResponse:
    """키 교체 / Rotate: a new key signs from now; the previous one stays published while the
    credentials it signed are valid. Audited with the person."""
    if confirmed != "yes" or alg not in SIGNING_ALGS:
        return render(request, "hr/rotate.html", _keys_context(ctx), 400)
    with page_refusals(), ctx.unit_of_work() as session:
        rotate_signing_key(
            session,
            ctx.keys.sealer,
            alg=alg,
            actor=viewer.actor,
            now=ctx.clock(),
            credential_lifetime=timedelta(seconds=ctx.config.credential_lifetime_s),
        )
    ctx.keys.refresh()  # committed: this process signs with the new key at once
    return RedirectResponse("/console/hr/keys?done=rotated", status_code=303)


@hr_system_router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    *,
    viewer: AdminViewer,
    ctx: Ctx,
    actor: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=50)] = "",
    employee: Annotated[str, Query(max_length=20)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """감사 기록 / Audit log, newest first, by actor, action or employee; 50 a page."""
    with ctx.unit_of_work() as session:
        entries = audit_rows(
            search_audit(
                session,
                actor=actor.strip() or None,
                action=action.strip() or None,
                subject=f"employee:{employee.strip()}" if employee.strip() else None,
                before=before,
                limit=AUDIT_PAGE,
            )
        )
    return render(
        request,
        "hr/audit.html",
        {
            "entries": entries,
            "actor": actor,
            "action": action,
            "employee": employee,
            "next_before": entries[-1].seq if len(entries) == AUDIT_PAGE else None,
            "is_admin": True,
        },
    )


@hr_system_router.post("/audit/verify", response_class=HTMLResponse, dependencies=[Csrf])
def verify_chain(request: Request, viewer: AdminViewer, ctx: Ctx) -> HTMLResponse:
    """체인 검증 / Verify the chain: every link recomputed under the deployment's key; OK with
    the count and head, or the first entry that does not verify."""
    result: dict[str, object] = {"is_admin": True}
    with ctx.unit_of_work() as session:
        try:
            summary = verify_audit_chain(session)
            result |= {"ok": True, "summary": summary}
        except AuditChainBroken as exc:
            broken = search_audit(session, before=exc.seq + 1, limit=1)
            entry = broken[0] if broken and broken[0].seq == exc.seq else None
            result |= {"ok": False, "seq": exc.seq, "detail": exc.detail, "entry": entry}
        except AuditKeyMismatch as exc:
            result |= {"ok": False, "seq": None, "detail": exc.detail, "entry": None}
    return render(request, "hr/audit_verify.html", result, 200 if result["ok"] else 409)
