"""The web edge every service shares: one JSON response helper and one error mapping per service.

Each service (issuer, login, gate, central verifier) describes its own errors once, in a
`ServiceErrors`: which exception class is the base of its party's error tree and how one of them
becomes a `Refusal` (code, description, HTTP status, headers). `install_edge` then puts the same
plumbing on every app: the body-size limit and NUL refusal (`vc.asgi_guard.RequestGuard`), the
party's errors, `VCError`, request validation, Starlette's 404/405/413 and, last, anything
unexpected, which is logged and answered with a bare `server_error` (never `str(exc)`).

Every error body is `{"error": <code>, "error_description": <text>}` (RFC 6749 §5.2, reused by
OpenID4VCI and OpenID4VP).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vc.asgi_guard import RequestGuard
from vc.errors import VCError

__all__ = [
    "NO_STORE",
    "Refusal",
    "ServiceErrors",
    "error_response",
    "install_edge",
    "json_response",
]

log = logging.getLogger(__name__)

NO_STORE: Mapping[str, str] = {"Cache-Control": "no-store"}


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON answer that no cache keeps (RFC 6749 §5.1 asks it of token responses; we ask it
    of every answer, since most carry personal data or a protocol secret)."""
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


@dataclass(frozen=True)
class Refusal:
    """What an error becomes on the wire."""

    code: str
    description: str | None = None
    status: int = 400
    headers: Mapping[str, str] = field(default_factory=dict)


def error_response(refusal: Refusal) -> JSONResponse:
    body = {"error": str(refusal.code)}
    if refusal.description:
        body["error_description"] = refusal.description
    return json_response(body, refusal.status, refusal.headers)


def _invalid_request(_path: str) -> str:
    return "invalid_request"


@dataclass(frozen=True)
class ServiceErrors:
    """One service's error mapping.

    `refusal` turns an instance of `party_error` into its answer. `request_error_code` names the
    code for a request the endpoint at a path cannot parse (OpenID4VCI's credential endpoint says
    `invalid_credential_request`, for example); `too_large_code` the code of a 413.
    """

    party_error: type[Exception]
    refusal: Callable[[Exception], Refusal]
    request_error_code: Callable[[str], str] = _invalid_request
    too_large_code: Callable[[str], str] | None = None
    not_found_code: str = "not_found"

    def too_large(self, path: str, detail: str) -> JSONResponse:
        code = (self.too_large_code or self.request_error_code)(path)
        response = error_response(Refusal(code, detail, 413))
        response.headers["Connection"] = "close"
        return response

    def edge_refusal(self, path: str, status: int, detail: str) -> JSONResponse:
        """What `RequestGuard` answers: 413 as above, or 400 with the endpoint's code for a
        request it cannot parse (a NUL in the path, query or body)."""
        if status == 413:
            return self.too_large(path, detail)
        return error_response(Refusal(self.request_error_code(path), detail, status))


def _validation_description(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "malformed JSON"
    fields = sorted(
        {".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body" for e in errors}
    )
    return "invalid or missing: " + ", ".join(fields[:10])


def install_edge(
    app: FastAPI,
    errors: ServiceErrors,
    *,
    max_body_bytes: int,
    binary_paths: Collection[str] = (),
    path_limits: Mapping[str, int] | None = None,
) -> None:
    """Put the shared edge on `app`: body limit (another for each of `path_limits`), NUL refusal
    (except in the bodies of `binary_paths`, see `RequestGuard`) and every error handler."""

    async def party_error(request: Request, exc: Exception) -> JSONResponse:
        refusal = errors.refusal(exc)
        log.info("%s %s -> %s (%s)", request.method, request.url.path, refusal.code, exc)
        return error_response(refusal)

    async def vc_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, VCError)
        log.info("%s %s -> vc %s (%s)", request.method, request.url.path, exc.code, exc.detail)
        code = errors.request_error_code(request.url.path)
        return error_response(Refusal(code, f"rejected: {exc.code}"))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        code = errors.request_error_code(request.url.path)
        return error_response(Refusal(code, _validation_description(exc)))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return error_response(Refusal("method_not_allowed", "method not allowed", 405))
        if exc.status_code == 413:
            return errors.too_large(request.url.path, str(exc.detail))
        if exc.status_code == 404:
            return error_response(Refusal(errors.not_found_code, "no such resource", 404))
        return error_response(Refusal("invalid_request", None, exc.status_code))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "server_error"}, status_code=500)

    app.add_exception_handler(errors.party_error, party_error)
    app.add_exception_handler(VCError, vc_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    app.add_middleware(
        RequestGuard,
        max_body_bytes=max_body_bytes,
        refuse=errors.edge_refusal,
        binary_paths=binary_paths,
        path_limits=path_limits,
    )
