"""`POST /backchannel-logout` (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8): the login
service says a login ended (logout, revoked or suspended credential). 200 when the token was
accepted (its work sessions closed at that moment), 400 `{"error", "error_description"}` when
it was refused, always `Cache-Control: no-store`."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from joserfc.jwk import KeySet
from starlette.concurrency import run_in_threadpool

from remote_work.backchannel import LogoutClaims, accept_logout, verify_logout_token
from remote_work.context import RemoteWork
from remote_work.errors import RemoteWorkError

__all__ = ["MAX_LOGOUT_BODY_BYTES", "backchannel_router"]

log = logging.getLogger(__name__)

MAX_LOGOUT_BODY_BYTES = 16 * 1024
"""The app's body limit (a logout token, a plan form)."""
_NO_STORE = {"Cache-Control": "no-store"}


def _answer(exc: RemoteWorkError) -> Response:
    log.info("logout token refused: %s (%s)", exc.code, exc.detail)
    return JSONResponse(
        {"error": exc.code, "error_description": exc.detail},
        status_code=503 if exc.status == 503 else 400,
        headers=_NO_STORE,
    )


async def _verify(rw: RemoteWork, token: str) -> LogoutClaims:
    """Checked against the keys held; a signature that fails may be a new key: fetch once more."""
    now = rw.clock()

    def check(keys: KeySet) -> LogoutClaims:
        return verify_logout_token(
            token, keys, issuer=rw.login_issuer, client_id=rw.client_id, now=now
        )

    try:
        return check(await rw.login_keys.keys())
    except RemoteWorkError as exc:
        if not exc.detail.startswith("signature"):
            raise
    return check(await rw.login_keys.keys(refresh=True))


def backchannel_router(rw: RemoteWork) -> APIRouter:
    router = APIRouter()

    @router.post("/backchannel-logout")
    async def backchannel_logout(request: Request) -> Response:
        form = await request.form()
        token = form.get("logout_token")
        if not isinstance(token, str):
            return _answer(RemoteWorkError("invalid_logout_token", "no logout_token"))
        try:
            claims = await _verify(rw, token)

            def apply() -> int:
                with rw.unit_of_work() as db:
                    return accept_logout(db, claims, now=rw.clock())

            ended = await run_in_threadpool(apply)
        except RemoteWorkError as exc:
            return _answer(exc)
        log.info("back-channel logout of sid %s: %d work session(s) closed", claims.sid, ended)
        return Response(status_code=200, headers=_NO_STORE)

    return router
