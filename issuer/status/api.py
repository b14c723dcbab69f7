"""HTTP routes of the status lists: `GET /status-lists/{id}` (Token Status List §8.1) and the
aggregation `GET /status-lists` (§9), named in the AS metadata and in each token.

Serves the list's current Status List Token as `application/statuslist+jwt`, with a strong ETag
(304 on a matching `If-None-Match`), `Cache-Control: max-age=<ttl>` (the token's own `ttl` and
`exp` still rule, §8.3), gzip when the client accepts it, and CORS so browser-based verifiers may
read it. Unknown lists are 404 `status_list_not_found`.
"""

from __future__ import annotations

import gzip
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Response

from issuer.context import IssuerContext, issuer_context
from issuer.errors import IssuerCode, LifecycleError
from issuer.status.publication import PublishedToken, published_list_uris
from schemas.hr_api import ErrorBody
from vc.status_list import STATUS_LIST_MEDIA_TYPE

__all__ = ["status_router", "token_response"]

status_router = APIRouter(tags=["Token Status List"])
Ctx = Annotated[IssuerContext, Depends(issuer_context)]
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Cache-Control, Content-Encoding",
}
_GZIP_SUFFIX = "-gzip"
_MAX_ID_DIGITS = 10


def _parse_list_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_ID_DIGITS or raw[0] == "0":
        raise LifecycleError(IssuerCode.status_list_not_found, "no such status list")
    return int(raw)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2), either content coding of the same token."""
    if not if_none_match:
        return False
    for raw in if_none_match.split(","):
        tag = raw.strip()
        if tag == "*":
            return True
        if tag.removeprefix("W/").strip('"').removesuffix(_GZIP_SUFFIX) == etag:
            return True
    return False


def _accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def token_response(
    published: PublishedToken, *, if_none_match: str | None, accept_encoding: str | None
) -> Response:
    """200 with the token (gzip if accepted) or 304; caching and CORS headers on both."""
    use_gzip = _accepts_gzip(accept_encoding)
    etag = f'"{published.etag}{_GZIP_SUFFIX if use_gzip else ""}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"max-age={published.ttl}",
        "Vary": "Accept-Encoding",
        **_CORS,
    }
    if _matches(if_none_match, published.etag):
        return Response(status_code=304, headers=headers)
    body = published.token.encode("ascii")
    if use_gzip:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=STATUS_LIST_MEDIA_TYPE, headers=headers)


@status_router.get(
    "/status-lists",
    responses={200: {"description": "Token Status List aggregation: every list's URI"}},
)
def status_list_aggregation(ctx: Ctx) -> Response:
    """Every status list this issuer publishes (`{"status_lists": [uri, ...]}`), so verifiers
    such as gates can fetch them all ahead of time and decide offline."""
    with ctx.unit_of_work() as session:
        uris = published_list_uris(session)
    return Response(
        orjson.dumps({"status_lists": uris}),
        media_type="application/json",
        headers={"Cache-Control": f"max-age={ctx.config.status_list_ttl_s}", **_CORS},
    )


@status_router.head("/status-lists/{list_id}", include_in_schema=False)  # revalidate, no body
@status_router.get(
    "/status-lists/{list_id}",
    response_class=Response,
    responses={
        200: {
            "content": {STATUS_LIST_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "Status List Token (compact JWS, typ statuslist+jwt)",
        },
        304: {"description": "Not modified (If-None-Match)"},
        404: {"model": ErrorBody},
    },
)
def status_list(
    list_id: str,
    ctx: Ctx,
    if_none_match: Annotated[str | None, Header(max_length=2000)] = None,
    accept_encoding: Annotated[str | None, Header(max_length=500)] = None,
) -> Response:
    """The Status List Token credentials reference in `status.status_list.uri`."""
    number = _parse_list_id(list_id)
    with ctx.unit_of_work() as session:
        published = ctx.status.token(session, number, keyring=ctx.keyring, now=ctx.clock())
    return token_response(published, if_none_match=if_none_match, accept_encoding=accept_encoding)


@status_router.options("/status-lists/{list_id}", include_in_schema=False)
def status_list_preflight(list_id: str) -> Response:
    """CORS preflight (a conditional GET sends If-None-Match, not a safelisted header)."""
    return Response(
        status_code=204,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "GET, OPTIONS",
            "Access-Control-Allow-Headers": "If-None-Match, Accept",
            "Access-Control-Max-Age": "86400",
        },
    )
