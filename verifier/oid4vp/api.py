"""HTTP face of the OpenID4VP verifier: Request Objects, the `direct_post` endpoint, QR images,
and sessions for desks and terminals (create, poll, take the result).

Thin: read the (capped) body, call one service function inside one unit of work, shape the
answer. Errors are `ProtocolError`s, mapped to responses by the service that mounts the router
(the login service's `mobileid.login_app`, a gate's desk), never exception text. Every route
that checks a secret runs behind the throttle (`LoginRuntime.checked`).
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from vc.openid4vp import MAX_DIRECT_POST_BYTES, REQUEST_OBJECT_MEDIA_TYPE
from verifier.oid4vp.errors import ErrorCode, ProtocolError, WrongSecret
from verifier.oid4vp.outcomes import finish_session, session_view
from verifier.oid4vp.requests import RequestError, employee_dcql, qr_png, qr_svg
from verifier.oid4vp.responses import take_response
from verifier.oid4vp.sessions import (
    CROSS_DEVICE,
    SAME_DEVICE,
    NewSession,
    VpContext,
    serve_request_object,
    session_link,
    start_session,
)
from verifier.web import Respond

__all__ = [
    "API_TOKEN",
    "CLIENT_SECRET",
    "SESSION_HANDLE",
    "FailureCounter",
    "LoginRuntime",
    "oid4vp_router",
    "read_body",
]

_SMALL_FORM_BYTES = 4 * 1024
_WALLET_NONCE = re.compile(r"[A-Za-z0-9\-._~]{1,256}")
T = TypeVar("T")

# The secrets whose failures are counted, each on its own (a source's count of one kind does
# not refuse it another).
SESSION_HANDLE = "session_handle"
CLIENT_SECRET = "client_secret"  # noqa: S105 - a name
API_TOKEN = "api_token"  # noqa: S105 - a name


class FailureCounter(Protocol):
    """Failed secret checks per client address, in the database (`mobileid.throttle`)."""

    def retry_after(self, kind: str, source: str, now: float) -> int | None:
        """Seconds until `source` may present a `kind` secret again; None while it may."""

    def record_failure(self, db: Connection, kind: str, source: str, now: float) -> int | None:
        """Count a failure; the seconds to wait if `source` was over the limit already."""


@dataclass
class LoginRuntime:
    """Everything the OpenID4VP routes share (the login service's and a desk's): the OpenID4VP
    context, the unit of work, the clock, the throttle."""

    vp: VpContext
    unit_of_work: Callable[[], AbstractContextManager[Connection]]
    clock: Callable[[], float] = time.time
    api_token: str | None = None
    """What `POST /oid4vp/sessions` requires as Bearer token; None: API mode is off."""
    throttle: FailureCounter = field(kw_only=True)
    """Counts failed secrets per source; over the limit a source is refused for a while."""

    def run(self, fn: Callable[[Connection], T]) -> T:
        """`fn(db)` in one unit of work, on this thread."""
        with self.unit_of_work() as db:
            return fn(db)

    async def call(self, fn: Callable[[Connection], T]) -> T:
        """`fn(db)` in one unit of work, on the event loop: the login's transactions are a few
        short statements. Handed to the thread pool instead, each of a login's units of work
        waited for the GIL between the loop and a pool thread: `python -m bench.login` measured
        90 logins/s that way against 121 inline, back to back on one machine."""
        return self.run(fn)

    async def checked(self, kind: str, request: Request, fn: Callable[[Connection], T]) -> T:
        """`fn(db)` in one unit of work behind the throttle of `kind` secrets.

        A source the throttle knows to be over the limit is refused (429 `too_many_attempts`,
        `Retry-After`) before `fn` looks at its secret; a `WrongSecret` from `fn` is counted,
        and the count kept although the request fails (refused too when the count says the
        source was over the limit already). Only a failure touches the database. The source is
        the client's address as the server saw it: uvicorn reads `X-Forwarded-For` only from a
        proxy it trusts (FORWARDED_ALLOW_IPS, by default 127.0.0.1); this code never reads it.
        """
        source = request.client.host if request.client else "unknown"
        now = self.clock()
        wait = self.throttle.retry_after(kind, source, now)
        if wait is not None:
            raise _too_many_attempts(wait)

        def guarded(db: Connection) -> T:
            try:
                return fn(db)
            except WrongSecret:  # commits the count (`WrongSecret.keep_changes`)
                wait = self.throttle.record_failure(db, kind, source, now)
                if wait is not None:
                    raise _too_many_attempts(wait, keep_changes=True) from None
                raise

        return await self.call(guarded)


def _too_many_attempts(wait: int, *, keep_changes: bool | None = None) -> ProtocolError:
    return ProtocolError(
        ErrorCode.too_many_attempts,
        "too many failed attempts from this address; try again later",
        retry_after=wait,
        keep_changes=keep_changes,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413, `invalid_request`) beyond `limit` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ProtocolError(ErrorCode.invalid_request, "request body too large", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProtocolError(ErrorCode.invalid_request, "request body too large", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _flow(value: str | None) -> str:
    if value in (None, "", CROSS_DEVICE):
        return CROSS_DEVICE
    if value == SAME_DEVICE:
        return SAME_DEVICE
    raise ProtocolError(ErrorCode.invalid_request, "flow must be cross_device or same_device")


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    scheme, _, handle = value.partition(" ")
    if scheme.lower() != "bearer" or not handle:
        raise ProtocolError(ErrorCode.invalid_token, "the session handle is required")
    return handle.strip()


class SessionRequest(BaseModel):
    """A desk or terminal asks for a presentation (API mode)."""

    model_config = ConfigDict(extra="forbid")

    claims: list[str] = Field(default_factory=list, max_length=16)
    alternatives: list[list[str]] = Field(default_factory=list, max_length=8)
    client_id_prefix: Literal["x509_san_dns", "x509_hash", "redirect_uri"] | None = None
    flow: Literal["cross_device", "same_device"] = "cross_device"
    allowed_agencies: list[str] = Field(default_factory=list, max_length=64)
    system: str = Field(default="api", max_length=64)


def _session_request(
    raw: bytes, vct_values: Sequence[str]
) -> tuple[SessionRequest, dict[str, Any]]:
    """A desk's request for a presentation and the DCQL query for it."""
    try:
        body = SessionRequest.model_validate_json(raw)
        return body, employee_dcql(vct_values, body.claims, body.alternatives)
    except ValidationError:
        raise ProtocolError(ErrorCode.invalid_request, "malformed session request") from None
    except RequestError as exc:
        raise ProtocolError(ErrorCode.invalid_request, exc.detail) from None


def oid4vp_router(rt: LoginRuntime, respond: Respond) -> APIRouter:
    """The OpenID4VP routes on `rt`, answering JSON through `respond`."""
    router = APIRouter(tags=["OpenID4VP"])
    ctx = rt.vp

    async def _request_object(
        request: Request, session_id: str, wallet_nonce: str | None
    ) -> Response:
        flow = _flow(request.query_params.get("flow"))
        token = await rt.call(
            lambda db: serve_request_object(
                db, ctx, session_id, flow=flow, now=rt.clock(), wallet_nonce=wallet_nonce
            )
        )
        return Response(
            token, media_type=REQUEST_OBJECT_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
        )

    @router.get("/oid4vp/request/{session_id}")
    async def get_request_object(request: Request, session_id: str) -> Response:
        return await _request_object(request, session_id, None)

    @router.post("/oid4vp/request/{session_id}")
    async def post_request_object(request: Request, session_id: str) -> Response:
        """`request_uri_method=post` (§5.10): the wallet's `wallet_nonce` is echoed."""
        body = await read_body(request, _SMALL_FORM_BYTES)
        try:
            fields = parse_qs(body.decode("ascii"), max_num_fields=8)
        except (UnicodeDecodeError, ValueError):
            raise ProtocolError(ErrorCode.invalid_request, "malformed form") from None
        nonce = fields.get("wallet_nonce", [None])[0]
        if nonce is not None and not _WALLET_NONCE.fullmatch(nonce):
            raise ProtocolError(ErrorCode.invalid_request, "wallet_nonce is not a nonce")
        return await _request_object(request, session_id, nonce)

    @router.post("/oid4vp/response")
    async def direct_post(request: Request) -> Response:
        """The Response URI (§8.2): `vp_token` + `state` as a form, or an error response,
        taken in one unit of work (`take_response`)."""
        body = await read_body(request, MAX_DIRECT_POST_BYTES)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise ProtocolError(ErrorCode.invalid_request, "the response must be a form")
        now = rt.clock()
        return respond(await rt.call(lambda db: take_response(db, ctx, body, now=now)))

    @router.get("/oid4vp/qr/{session_id}.{kind}")
    async def qr(request: Request, session_id: str, kind: str) -> Response:
        flow = _flow(request.query_params.get("flow"))
        if kind not in ("svg", "png"):
            raise ProtocolError(ErrorCode.not_found, "QR codes are svg or png")
        link = await rt.call(
            lambda db: session_link(db, ctx, session_id, flow=flow, now=rt.clock())
        )
        if kind == "svg":
            return Response(qr_svg(link), media_type="image/svg+xml")
        return Response(qr_png(link), media_type="image/png")

    @router.post("/oid4vp/sessions")
    async def create_session(request: Request) -> Response:
        """API mode for desks and terminals: a request to show as QR (or open on the phone)."""
        if rt.api_token is None:
            raise ProtocolError(ErrorCode.access_denied, "API mode is not enabled", status=403)
        expected, presented = rt.api_token, _bearer(request)
        raw = await read_body(request, _SMALL_FORM_BYTES)

        def start(db: Connection) -> tuple[NewSession, dict[str, Any]]:
            if not hmac.compare_digest(presented.encode(), expected.encode()):
                raise WrongSecret(ErrorCode.invalid_token, "wrong API token")
            body, query = _session_request(raw, ctx.verifier.vct_values)
            context = {
                "system": body.system,
                "flow": body.flow,
                "allowed_agencies": body.allowed_agencies,
            }
            new = start_session(
                db,
                ctx,
                dcql_query=query,
                context=context,
                now=rt.clock(),
                prefix=body.client_id_prefix,
            )
            return new, query

        new, query = await rt.checked(API_TOKEN, request, start)
        base = ctx.config.base_url
        return respond(
            {
                "id": new.id,
                "handle": new.handle,
                "client_id": new.client_id,
                "link": new.cross_device_link,
                "same_device_link": new.same_device_link,
                "qr_svg": f"{base}/oid4vp/qr/{new.id}.svg",
                "qr_png": f"{base}/oid4vp/qr/{new.id}.png",
                "dcql_query": query,
                "expires_at": new.expires_at,
            },
            status=201,
        )

    @router.get("/oid4vp/sessions/{session_id}")
    async def poll(request: Request, session_id: str) -> Response:
        handle = _bearer(request)
        view = await rt.checked(
            SESSION_HANDLE, request, lambda db: session_view(db, session_id, handle, now=rt.clock())
        )
        return respond(
            {"id": view.id, "status": view.status, "reason": view.reason, "flow": view.flow}
        )

    @router.post("/oid4vp/sessions/{session_id}/result")
    async def result(request: Request, session_id: str) -> Response:
        """The verified claims, once; 202 while pending. Same-device needs `response_code`."""
        handle = _bearer(request)
        code = request.query_params.get("response_code")
        finished = await rt.checked(
            SESSION_HANDLE,
            request,
            lambda db: finish_session(db, session_id, handle, now=rt.clock(), response_code=code),
        )
        if finished is None:
            return respond({"status": "pending"}, status=202)
        if not finished.ok:
            return respond({"status": "failed", "reason": finished.reason})
        return respond(
            {"status": "completed", "reason": "ok", "presentations": finished.presentations}
        )

    @router.get("/oid4vp/done")
    async def done() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang='ko'><meta charset='utf-8'><title>완료 / Done</title>"
            "<p>제시가 완료되었습니다. 원래 화면으로 돌아가세요.</p>"
            "<p lang='en'>Presentation complete. Return to where you started.</p></html>"
        )

    return router
