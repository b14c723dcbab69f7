"""OpenID4VP at a gate, desk or library counter: the terminal shows a QR with a fresh request,
the phone answers over the network (`direct_post`), the terminal shows the decision.

`mount_openid4vp(app, service, ...)` adds this mode next to scanning to a gate's app
(`mobileid gate run --openid4vp`, through `mobileid.gate_app.mount_desk`): the gate's own trust
store, status cache and policy (its required claims, allowed agencies, staleness rule), sessions
in the gate's database, and every outcome written as an entry record like a scan's. The terminal
page is `GET /desk`. It builds on OpenID4VP (`verifier.oid4vp`) and never on the login service.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from schemas.employee_id import DISCLOSABLE, PURPOSES
from verifier.gate.service import GateService
from verifier.migrate import upgrade_verifier_database
from verifier.oid4vp.api import (
    SESSION_HANDLE,
    FailureCounter,
    LoginRuntime,
    oid4vp_router,
)
from verifier.oid4vp.errors import ProtocolError
from verifier.oid4vp.outcomes import Finished, finish_session
from verifier.oid4vp.requests import EMPLOYEE_QUERY_ID, employee_dcql
from verifier.oid4vp.sessions import CROSS_DEVICE, VpConfig, VpContext, start_session
from verifier.oid4vp.verify import LoginVerifier
from verifier.pipeline import Decision
from verifier.reasons import Reason
from verifier.web import Respond
from verifier.x509 import VerifierCertificate

__all__ = ["decision_of", "mount_openid4vp"]


def decision_of(finished: Finished, shown: frozenset[str]) -> Decision:
    """The terminal's decision for a finished session, shaped like a scan's."""
    if not finished.ok:
        try:
            reason = Reason(finished.reason)
        except ValueError:  # the wallet declined (wallet_access_denied, ...)
            reason = Reason.malformed
        return Decision(False, reason, detail=finished.reason)
    item = finished.presentations[EMPLOYEE_QUERY_ID][0]
    claims: dict[str, Any] = item["claims"]
    displayed = {k: v for k, v in claims.items() if k in shown or k == "member_id"}

    def text(name: str) -> str | None:
        value = claims.get(name)
        return value if isinstance(value, str) else None

    return Decision(
        True,
        Reason.ok,
        displayed,
        stale_status=bool(item.get("stale_status")),
        issuer=item.get("issuer"),
        employee_number=text("employee_number"),
        agency_code=text("agency_code"),
        member_id=text("member_id"),
    )


def mount_openid4vp(
    app: FastAPI,
    service: GateService,
    *,
    base_url: str,
    certificate: VerifierCertificate | None,
    throttle: FailureCounter,
    unit_of_work: Callable[[], AbstractContextManager[Connection]],
    respond: Respond,
    prefix: str = "x509_hash",
) -> LoginRuntime:
    """Add the OpenID4VP endpoints and the `/desk` terminal page to a gate's app; sessions are
    kept in the gate's database, each request in one `unit_of_work`, and answered through
    `respond`."""
    upgrade_verifier_database(service.engine, "login")
    policy = service.policy.verification
    purpose_claims = PURPOSES[policy.purpose]
    pipeline_policy = replace(policy, displayed_claims=tuple(sorted(DISCLOSABLE | {"vct"})))
    verifier = LoginVerifier(pipeline_policy, trust=service.trust, status=service.status)
    config = VpConfig(
        base_url.rstrip("/"),
        default_prefix=prefix if certificate is not None else "redirect_uri",
        client_name=f"{service.policy.site_name} ({service.policy.gate_id})",
        session_ttl_s=120.0,
    )
    rt = LoginRuntime(
        VpContext(config, certificate, verifier),
        unit_of_work,
        service.clock,
        throttle=throttle,
    )
    app.include_router(oid4vp_router(rt, respond))

    @app.exception_handler(ProtocolError)
    async def protocol_error(_request: Request, exc: ProtocolError) -> Response:
        return respond(exc.body(), status=exc.status, headers=exc.headers())

    @app.post("/desk/sessions")
    async def new_request() -> Response:
        query = employee_dcql(verifier.vct_values, sorted(purpose_claims))
        context = {"system": f"gate:{service.policy.gate_id}", "flow": CROSS_DEVICE}
        new = await rt.call(
            lambda db: start_session(db, rt.vp, dcql_query=query, context=context, now=rt.clock())
        )
        return respond(
            {
                "id": new.id,
                "handle": new.handle,
                "link": new.cross_device_link,
                "qr_svg": f"/oid4vp/qr/{new.id}.svg",
                "expires_at": new.expires_at,
            },
            status=201,
        )

    @app.post("/desk/sessions/{session_id}/decision")
    async def decision(request: Request, session_id: str) -> Response:
        """202 while the phone has not answered; then the decision, recorded once."""
        handle = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        now = rt.clock()
        finished = await rt.checked(
            SESSION_HANDLE, request, lambda db: finish_session(db, session_id, handle, now=now)
        )
        if finished is None:
            return respond({"status": "pending"}, status=202)
        made = decision_of(finished, purpose_claims)
        service.decided(made, now)
        return respond(made.to_json())

    @app.get("/desk")
    async def desk() -> HTMLResponse:
        return HTMLResponse(_DESK_PAGE.replace("{title}", config.client_name))

    return rt


_DESK_PAGE = """<!doctype html><html lang='ko'><head><meta charset='utf-8'>
<title>{title}</title><style>body{font-family:system-ui,sans-serif;text-align:center}
#qr{width:20rem;height:20rem}.ok{color:#0a7d2c}.no{color:#b00020}</style></head><body>
<h1>모바일 공무원증 제시 <small>/ Present your mobile ID</small></h1>
<p>지갑 앱으로 QR 코드를 스캔하세요 <small>/ Scan the QR code with your wallet app</small></p>
<img id='qr' alt='OpenID4VP QR'><h2 id='result'></h2><pre id='claims'></pre>
<script>
async function round(){const r=await fetch('/desk/sessions',{method:'POST'});const s=await r.json();
document.getElementById('qr').src=s.qr_svg;
for(;;){await new Promise(x=>setTimeout(x,700));
const d=await fetch('/desk/sessions/'+s.id+'/decision',{method:'POST',
headers:{Authorization:'Bearer '+s.handle}});if(d.status===202)continue;const j=await d.json();
const el=document.getElementById('result');el.className=j.allow?'ok':'no';
el.textContent=j.allow?'통과 / Allowed':'거부 / Denied ('+j.reason+')';
document.getElementById('claims').textContent=JSON.stringify(j.displayed_claims,null,1);
setTimeout(round,4000);return}}
round();
</script></body></html>"""
