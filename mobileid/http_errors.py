"""The one place where error codes become HTTP statuses and error bodies.

Every error body is `{"error": <code>, "error_description": <text>}` (RFC 6749 §5.2 shape, which
OpenID4VCI reuses). Descriptions come from our own `detail` strings, never from `str()` of a
foreign exception; unexpected exceptions are logged and answered with a bare `server_error`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from issuer.errors import IssuerCode, IssuerError
from vc.errors import VCError

__all__ = [
    "STATUS_BY_CODE",
    "edge_refusal",
    "error_response",
    "install_error_handlers",
    "request_error_code",
    "too_large_response",
]

log = logging.getLogger("mobileid.errors")
C = IssuerCode

STATUS_BY_CODE: Mapping[str, int] = {
    C.invalid_request: 400,
    C.invalid_grant: 400,
    C.unsupported_grant_type: 400,
    C.invalid_token: 401,
    C.invalid_proof: 400,
    C.invalid_nonce: 400,
    C.unknown_credential_configuration: 400,
    C.unknown_credential_identifier: 400,
    C.invalid_credential_request: 400,
    C.credential_request_denied: 400,
    C.invalid_notification_id: 400,
    C.invalid_notification_request: 400,
    C.invalid_encryption_parameters: 400,
    C.invalid_dpop_proof: 400,
    C.offer_not_found: 404,
    C.unauthorized: 401,
    C.forbidden_role: 403,
    C.forbidden_scope: 403,
    C.employee_not_found: 404,
    C.employee_not_active: 409,
    C.application_not_found: 404,
    C.application_open: 409,
    C.application_not_pending: 409,
    C.phone_not_on_record: 403,
    C.approver_is_filer: 403,
    C.reissue_requires_employee_application: 403,
    C.invalid_token_binding: 400,
    C.too_many_attempts: 429,
    C.request_too_large: 413,
    C.not_found: 404,
    "method_not_allowed": 405,
    C.credential_not_found: 404,
    C.credential_already_revoked: 409,
    C.credential_already_suspended: 409,
    C.credential_not_suspended: 409,
    C.credential_revoked: 409,
    C.credential_suspended: 409,
    C.invalid_reason: 400,
    C.invalid_scope: 400,
    C.status_list_not_found: 404,
    C.signing_key_not_found: 404,
}

# Which spec code a malformed or oversized request gets, by endpoint (longest prefix wins).
_REQUEST_ERROR_BY_PATH: tuple[tuple[str, str], ...] = (
    ("/credential-offer", C.invalid_request),
    ("/credential", C.invalid_credential_request),
    ("/notification", C.invalid_notification_request),
    ("/token", C.invalid_request),
    ("/nonce", C.invalid_request),
    ("/hr/", C.invalid_request),
)


def request_error_code(path: str) -> str:
    """The error code for a request the endpoint at `path` cannot even parse."""
    for prefix, code in _REQUEST_ERROR_BY_PATH:
        if (
            path == prefix
            or path.startswith(prefix + "/")
            or (prefix.endswith("/") and path.startswith(prefix))
        ):
            return code
    return C.invalid_request


def error_response(
    code: str,
    description: str | None = None,
    status: int | None = None,
    challenge: str | None = None,
    retry_after: int | None = None,
) -> JSONResponse:
    status = status or STATUS_BY_CODE.get(code, 400)
    body: dict[str, str] = {"error": str(code)}
    if description:
        body["error_description"] = description
    headers = {"Cache-Control": "no-store"}
    if challenge is not None:
        headers["WWW-Authenticate"] = challenge
    elif code == C.invalid_token:
        headers["WWW-Authenticate"] = f'Bearer error="{code}"'
    elif code == C.unauthorized:
        headers["WWW-Authenticate"] = "Bearer"
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body, status_code=status, headers=headers)


def too_large_response(path: str, detail: str) -> JSONResponse:
    """413 with the endpoint's own error code (HR API: `request_too_large`)."""
    code = C.request_too_large if path.startswith("/hr/") else request_error_code(path)
    response = error_response(code, detail, status=413)
    response.headers["Connection"] = "close"
    return response


def edge_refusal(path: str, status: int, detail: str) -> JSONResponse:
    """What `vc.asgi_guard.RequestGuard` answers: 413 as above, or 400 with the endpoint's code
    for a request it cannot parse (a NUL in the path, query or body)."""
    if status == 413:
        return too_large_response(path, detail)
    return error_response(request_error_code(path), detail, status=status)


async def _issuer_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IssuerError)
    log.info("%s %s -> %s (%s)", request.method, request.url.path, exc.code, exc.detail)
    return error_response(exc.code, exc.detail or None, exc.status, exc.challenge, exc.retry_after)


async def _vc_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VCError)
    log.info("%s %s -> vc %s (%s)", request.method, request.url.path, exc.code, exc.detail)
    return error_response(request_error_code(request.url.path), f"rejected: {exc.code}")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = sorted(
        {".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body" for e in exc.errors()}
    )
    what = (
        "malformed JSON"
        if any(e.get("type") == "json_invalid" for e in exc.errors())
        else ("invalid or missing: " + ", ".join(fields[:10]))
    )
    return error_response(request_error_code(request.url.path), what, status=400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        return error_response("method_not_allowed", "method not allowed", status=405)
    if exc.status_code == 413:
        return too_large_response(request.url.path, str(exc.detail))
    if exc.status_code == 404:
        return error_response(C.not_found, "no such resource", status=404)
    return error_response(C.invalid_request, None, status=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "server_error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IssuerError, _issuer_error)
    app.add_exception_handler(VCError, _vc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
