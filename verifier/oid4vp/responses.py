"""Taking the wallet's answer (OpenID4VP 1.0 §8.2 `direct_post`): parse, match the session by
`state`, verify every presentation through the shared pipeline, end the session. The first
answer, good or bad, spends the session's nonce.

All of it is one unit of work (`take_response`): verification never fetches (the trust and
status caches are refreshed in the background) and takes a fraction of a millisecond, so the
transaction stays short; single use does not rest on it but on the conditional update that ends
the session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection

from vc.dcql import parse_dcql_query
from vc.errors import VCError
from vc.openid4vp import DirectPostResponse, decrypt_response, parse_direct_post, response_kid
from verifier.oid4vp.errors import ErrorCode, ProtocolError
from verifier.oid4vp.outcomes import complete_session, fail_session, record_login
from verifier.oid4vp.sessions import PENDING, SAME_DEVICE, VpContext, encryption_key, find_session
from verifier.oid4vp.verify import (
    ResponseRejected,
    VerifiedResponse,
    error_code_for,
    verify_vp_token,
)

__all__ = [
    "PendingResponse",
    "open_response",
    "settle_response",
    "take_response",
    "verify_response",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingResponse:
    """A `direct_post` matched to its pending session, not yet verified."""

    row: Any
    context: dict[str, Any]
    vp_token: dict[str, list[str]] | None
    """None when the wallet sent an error response (already recorded)."""


def _decrypted(db: Connection, token: str) -> tuple[Any, DirectPostResponse]:
    """A `direct_post.jwt` response opened with its session's key (the JWE `kid` names it)."""
    try:
        row = find_session(db, id=response_kid(token))
        key = encryption_key(row) if row is not None else None
        if key is None:
            raise ProtocolError(ErrorCode.invalid_request, "unknown or expired encryption key")
        response = decrypt_response(token, key, kid=row.id)
    except VCError:
        raise ProtocolError(
            ErrorCode.invalid_request, "the encrypted response is invalid"
        ) from None
    if response.state != row.state:
        raise ProtocolError(ErrorCode.invalid_request, "state does not match the request")
    return row, response


def open_response(db: Connection, body: bytes, *, now: float) -> PendingResponse:
    """Parse a `direct_post` body (§8.2, or §8.3 encrypted) and find its pending session.

    A session that asked for an encrypted response takes nothing else. An error response from
    the wallet (§8.5) ends the session here. Raises `ProtocolError`.
    """
    try:
        response = parse_direct_post(body)
    except VCError:
        raise ProtocolError(ErrorCode.invalid_request, "malformed response") from None
    if response.encrypted is not None:
        row, response = _decrypted(db, response.encrypted)
    else:
        if response.state is None:
            raise ProtocolError(ErrorCode.invalid_request, "state is required")
        row = find_session(db, state=response.state)
        if row is not None and row.enc_key is not None:
            raise ProtocolError(ErrorCode.invalid_request, "the response must be encrypted")
    if row is None:
        raise ProtocolError(ErrorCode.invalid_request, "unknown or expired state")
    if row.status != PENDING:
        raise ProtocolError(ErrorCode.invalid_request, "response already received")
    if row.expires_at <= now:
        raise ProtocolError(ErrorCode.invalid_request, "the request expired")
    context = orjson.loads(row.context)
    if response.error is not None:  # the wallet declined or could not answer
        fail_session(db, row, f"wallet_{response.error}", now, context)
        return PendingResponse(row, context, None)
    return PendingResponse(row, context, response.vp_token)


def verify_response(
    ctx: VpContext, pending: PendingResponse, *, now: float
) -> VerifiedResponse | ResponseRejected:
    """The shared pipeline and the DCQL check on every presentation; no database."""
    assert pending.vp_token is not None
    row = pending.row
    try:
        return verify_vp_token(
            pending.vp_token,
            parse_dcql_query(orjson.loads(row.dcql_query)),
            pipeline=ctx.verifier.pipeline(row.client_id),
            nonce=row.nonce,
            now=now,
            allowed_agencies=pending.context.get("allowed_agencies") or (),
        )
    except ResponseRejected as exc:
        return exc


def settle_response(
    db: Connection,
    ctx: VpContext,
    pending: PendingResponse,
    outcome: VerifiedResponse | ResponseRejected,
    *,
    now: float,
) -> dict[str, Any]:
    """End the session with the outcome (single use: only a still-pending session changes).

    Returns the wallet's answer (`{}`, or `{"redirect_uri": ...}` with a `response_code` for a
    same-device flow). A rejection raises `ProtocolError` carrying `keep_changes`, so the unit of
    work commits the spent nonce and the login record.
    """
    row, context = pending.row, pending.context
    if isinstance(outcome, ResponseRejected):
        log.info(
            "session %s: presentation rejected: %s (%s)", row.id, outcome.reason, outcome.detail
        )
        spent = fail_session(db, row, str(outcome.reason), now, context)
        raise ProtocolError(
            error_code_for(outcome.reason),
            f"presentation rejected: {outcome.reason}",
            keep_changes=spent,
        )
    result = {
        query_id: [
            {
                "issuer": p.issuer,
                "claims": p.claims,
                "stale_status": p.stale_status,
                "status_list": None
                if p.status_ref is None
                else {"uri": p.status_ref[0], "idx": p.status_ref[1]},
            }
            for p in items
        ]
        for query_id, items in outcome.presentations.items()
    }
    response_code = ctx.token() if row.flow == SAME_DEVICE else None
    if not complete_session(
        db, row, result=orjson.dumps(result).decode(), response_code=response_code, now=now
    ):
        raise ProtocolError(ErrorCode.invalid_request, "response already received")
    first = outcome.first
    number = first.claims.get("employee_number")
    record_login(
        db,
        system=str(context.get("system", "api")),
        session_id=row.id,
        now=now,
        outcome="ok",
        flow=row.flow,
        employee_number=number if isinstance(number, str) else None,
        issuer=first.issuer,
    )
    if response_code is None:
        return {}
    return_uri = str(context.get("return_uri") or ctx.config.base_url + ctx.config.return_path)
    sep = "&" if "?" in return_uri else "?"
    return {"redirect_uri": f"{return_uri}{sep}{urlencode({'response_code': response_code})}"}


def take_response(db: Connection, ctx: VpContext, body: bytes, *, now: float) -> dict[str, Any]:
    """A `direct_post` body from opening to the session's end; returns the wallet's answer
    (`settle_response`). Raises `ProtocolError`."""
    pending = open_response(db, body, now=now)
    if pending.vp_token is None:
        return {}
    return settle_response(db, ctx, pending, verify_response(ctx, pending, now=now), now=now)
