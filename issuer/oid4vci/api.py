"""HTTP routes of the OpenID4VCI 1.0 issuer: discovery, offer, token, nonce, credential,
notification, plus the credential type's metadata at its `vct` URL.

Handlers parse, call one service function inside the edge's unit of work, and shape the reply;
errors propagate as `IssuerError`s and are mapped to the spec's bodies by the assembly. Where a
request may carry a DPoP proof, the proof is spent first, in a transaction of its own that
commits whatever the request's own transaction comes to (`issuer.oid4vci.dpop_binding`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from issuer.config import IssuerConfig
from issuer.context import IssuerContext, issuer_context
from issuer.errors import IssuerCode, ProtocolError
from issuer.oid4vci.dpop_binding import NO_PROOF, DpopCheck, spend_resource_proof, spend_token_proof
from issuer.oid4vci.issuance import issue_credential, new_c_nonce, record_notification
from issuer.oid4vci.metadata import (
    authorization_server_metadata,
    credential_issuer_metadata,
    jwt_vc_issuer_document,
)
from issuer.oid4vci.offers import credential_offer_document, exchange_pre_authorized_code
from schemas.employee_id import VCT_PATH, claims_json_schema, type_metadata
from vc.sd_jwt_vc import jwt_vc_issuer_metadata_url

__all__ = ["oid4vci_router"]

T = TypeVar("T")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"


async def _in_transaction(ctx: IssuerContext, work: Callable[[Session, datetime], T]) -> T:
    def run() -> T:
        with ctx.unit_of_work() as session:
            return work(session, ctx.clock())

    return await run_in_threadpool(run)


async def _after_spending(
    ctx: IssuerContext,
    proofs: list[str],
    spend: Callable[[Session, datetime], DpopCheck],
    work: Callable[[Session, datetime, DpopCheck], T],
) -> T:
    """Spend the request's DPoP proof (`proofs`, its `DPoP` headers) and commit, then do the
    request's work in a second transaction: a refusal there rolls back its own changes, never
    the spent proof. The two run one after the other on this thread (SQLite's single pooled
    connection is returned in between); a request without a proof opens only the second."""

    def run() -> T:
        now = ctx.clock()
        check = NO_PROOF
        if proofs:
            with ctx.unit_of_work() as session:
                check = spend(session, now)
        with ctx.unit_of_work() as session:
            return work(session, now, check)

    return await run_in_threadpool(run)


def _resource_proof(
    ctx: IssuerContext, proofs: list[str], authorization: str | None, path: str
) -> Callable[[Session, datetime], DpopCheck]:
    """The spend of a proof sent with an access token to the endpoint at `path`."""
    return lambda s, now: spend_resource_proof(
        s, proofs, authorization=authorization, htu=ctx.config.url(path), config=ctx.config, now=now
    )


async def _json_body(request: Request) -> Any:
    """The JSON body, or None when it is not JSON; the service then answers with its own
    request error, after the access token was checked (RFC 6750 first)."""
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if content_type.split(";")[0].strip().lower() != "application/json":
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


async def _form_body(request: Request) -> dict[str, list[str]]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != _FORM:
        raise ProtocolError(IssuerCode.invalid_request, f"Content-Type must be {_FORM}")
    raw = await request.body()
    try:
        return parse_qs(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=32
        )
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(IssuerCode.invalid_request, "body is not a valid form") from None


def oid4vci_router(config: IssuerConfig) -> APIRouter:
    """The issuer's OpenID4VCI routes; some paths derive from the issuer identifier."""
    router = APIRouter(tags=["OpenID4VCI 1.0"])
    Ctx = Depends(issuer_context)

    @router.get("/.well-known/openid-credential-issuer" + urlsplit(config.base_url).path)
    def issuer_metadata(ctx: IssuerContext = Ctx) -> dict[str, Any]:
        """Credential Issuer Metadata (§12.2)."""
        return credential_issuer_metadata(ctx.config, ctx.keyring)

    @router.get("/.well-known/oauth-authorization-server" + urlsplit(config.base_url).path)
    def as_metadata(ctx: IssuerContext = Ctx) -> dict[str, Any]:
        """OAuth 2.0 Authorization Server Metadata (RFC 8414)."""
        return authorization_server_metadata(ctx.config)

    @router.get(urlsplit(jwt_vc_issuer_metadata_url(config.base_url)).path)
    def jwt_vc_issuer(ctx: IssuerContext = Ctx) -> dict[str, Any]:
        """JWT VC Issuer Metadata with the issuer's JWKS (SD-JWT VC §5)."""
        return jwt_vc_issuer_document(ctx.config, ctx.keyring, ctx.clock().timestamp())

    @router.get(VCT_PATH, tags=["credential type"])
    def vct_type_metadata(ctx: IssuerContext = Ctx) -> dict[str, Any]:
        """SD-JWT VC Type Metadata of the employee ID credential, served at its `vct`."""
        return type_metadata(ctx.config.base_url)

    @router.get(VCT_PATH + "/schema.json", tags=["credential type"])
    def vct_schema() -> dict[str, Any]:
        """JSON Schema (2020-12) of the credential's claims."""
        return claims_json_schema()

    @router.get("/credential-offer/{ref}")
    async def credential_offer(ref: str, ctx: IssuerContext = Ctx) -> JSONResponse:
        """The Credential Offer behind a `credential_offer_uri` (§4.1.3)."""
        doc = await _in_transaction(
            ctx, lambda s, now: credential_offer_document(s, ref, config=ctx.config, now=now)
        )
        return JSONResponse(doc, headers=NO_STORE)

    @router.post(
        "/token",
        openapi_extra={
            "requestBody": {
                "content": {
                    _FORM: {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type", "pre-authorized_code"],
                            "properties": {
                                "grant_type": {"type": "string"},
                                "pre-authorized_code": {"type": "string"},
                                "tx_code": {"type": "string"},
                            },
                        }
                    }
                }
            }
        },
    )
    async def token(request: Request, ctx: IssuerContext = Ctx) -> JSONResponse:
        """Token Endpoint, pre-authorized code grant (§6)."""
        form = await _form_body(request)
        dpop = request.headers.getlist("dpop")
        reply = await _after_spending(
            ctx,
            dpop,
            lambda s, now: spend_token_proof(s, dpop, config=ctx.config, now=now),
            lambda s, now, check: exchange_pre_authorized_code(
                s, form, config=ctx.config, now=now, dpop=check
            ),
        )
        return JSONResponse(reply, headers=NO_STORE)

    @router.post("/nonce")
    async def nonce(ctx: IssuerContext = Ctx) -> JSONResponse:
        """Nonce Endpoint (§7): a fresh single-use `c_nonce`."""
        value = await _in_transaction(
            ctx, lambda s, now: new_c_nonce(s, config=ctx.config, now=now)
        )
        return JSONResponse({"c_nonce": value}, headers=NO_STORE)

    @router.post(
        "/credential",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "credential_configuration_id": {"type": "string"},
                                "proofs": {
                                    "type": "object",
                                    "properties": {
                                        "jwt": {"type": "array", "items": {"type": "string"}}
                                    },
                                },
                            },
                        }
                    }
                }
            }
        },
    )
    async def credential(request: Request, ctx: IssuerContext = Ctx) -> JSONResponse:
        """Credential Endpoint (§8): one `dc+sd-jwt` bound to the proof key."""
        authorization = request.headers.get("authorization")
        dpop = request.headers.getlist("dpop")
        body = await _json_body(request)
        reply = await _after_spending(
            ctx,
            dpop,
            _resource_proof(ctx, dpop, authorization, "/credential"),
            lambda s, now, check: issue_credential(
                s,
                authorization=authorization,
                body=body,
                config=ctx.config,
                keyring=ctx.keyring,
                publisher=ctx.status,
                now=now,
                dpop=check,
                rng=ctx.rng,
            ),
        )
        return JSONResponse(reply, headers=NO_STORE)

    @router.post("/notification", status_code=204, response_class=Response)
    async def notification(request: Request, ctx: IssuerContext = Ctx) -> Response:
        """Notification Endpoint (§11)."""
        authorization = request.headers.get("authorization")
        dpop = request.headers.getlist("dpop")
        body = await _json_body(request)
        await _after_spending(
            ctx,
            dpop,
            _resource_proof(ctx, dpop, authorization, "/notification"),
            lambda s, now, check: record_notification(
                s, authorization=authorization, body=body, config=ctx.config, now=now, dpop=check
            ),
        )
        return Response(status_code=204)

    return router
