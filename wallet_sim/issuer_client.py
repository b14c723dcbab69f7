"""What a wallet asks of a credential issuer besides issuance: its keys and its status lists.

`IssuerClient` is the HTTP layer towards an issuer (URL check, transport failures and OAuth /
OpenID4VCI error bodies mapped to `IssuerError`, also RFC 6750 `WWW-Authenticate` errors) and the
two look-ups a stored credential needs for the rest of its life: the issuer's signing keys from
`/.well-known/jwt-vc-issuer` (SD-JWT VC §5) and the credential's entry in its Token Status List
(valid, revoked or suspended). Requests with an access token carry it as `Bearer`, or as `DPoP`
with a fresh proof by the device key when the token is bound to it (RFC 9449). It is kept apart
from the OpenID4VCI flow in `wallet_sim.holder`, which builds on it, so that re-checking a stored
credential needs no offer, token or nonce.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from vc.dpop import create_dpop_proof
from vc.errors import VCError
from vc.jws import SUPPORTED_ALGORITHMS
from vc.keys import PrivateKey, PublicKey
from vc.sd_jwt_vc import (
    jwks_key_resolver,
    jwt_vc_issuer_metadata_url,
    parse_jwt_vc_issuer_metadata,
)
from vc.status_list import INVALID, SUSPENDED, VALID, verify_status_list_token
from wallet_sim.errors import IssuerError, WalletError
from wallet_sim.http import check_url, json_body

__all__ = ["CredentialRejected", "IssuerClient", "status_name"]

_BEARER_ERROR = re.compile(r'error="([a-z_]+)"')
STATUS_NAMES = {VALID: "valid", INVALID: "revoked", SUSPENDED: "suspended"}


class CredentialRejected(WalletError):
    """What the issuer sent is not a credential we may keep (signature, key, type...)."""

    code = "credential_rejected"
    message_ko = "받은 공무원증을 검증할 수 없어 저장하지 않았습니다."
    message_en = "The credential received could not be verified and was not stored."


def status_name(value: int) -> str:
    return STATUS_NAMES.get(value, f"status_0x{value:02x}")


class IssuerClient:
    """Requests to one or more issuers through the given `httpx.Client`; `clock` for `now`."""

    def __init__(self, client: httpx.Client, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self._dpop_nonces: dict[str, str] = {}  # the latest `DPoP-Nonce` of each origin

    # --- HTTP --------------------------------------------------------------------------------

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        check_url(url, what, IssuerError)
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise IssuerError(
                "발급기관에 연결할 수 없습니다.",
                "Cannot reach the issuer",
                detail=f"{what}: {type(exc).__name__}",
            ) from exc

    def _dpop_send(
        self,
        url: str,
        what: str,
        key: PrivateKey | None,
        *,
        access_token: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST with a fresh DPoP proof by `key` (none when `key` is None). A server's nonce
        (`DPoP-Nonce`, RFC 9449 §8, §9) goes into the next proofs to its origin; when a request is
        refused for want of a new one, it is sent once more with it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        nonce = self._dpop_nonces.get(origin)
        for _ in (1, 2):
            sent = dict(headers or {})
            if key is not None:
                sent["DPoP"] = create_dpop_proof(
                    key,
                    htm="POST",
                    htu=url,
                    iat=int(self.clock()),
                    access_token=access_token,
                    nonce=nonce,
                )
            response = self._send("POST", url, what, headers=sent, **kwargs)
            asked = response.headers.get("DPoP-Nonce")
            if asked:
                self._dpop_nonces[origin] = asked
            if key is None or response.status_code < 400 or not asked or asked == nonce:
                return response
            nonce = asked
        return response

    def _authorized(
        self,
        url: str,
        what: str,
        token: Mapping[str, Any],
        key: PrivateKey,
        **kwargs: Any,
    ) -> httpx.Response:
        """A request with the access token: `DPoP` with a proof for a bound one, else `Bearer`."""
        access_token = str(token["access_token"])
        if str(token.get("token_type", "")).lower() == "dpop":
            headers = {"Authorization": f"DPoP {access_token}"}
            return self._dpop_send(
                url, what, key, access_token=access_token, headers=headers, **kwargs
            )
        headers = {"Authorization": f"Bearer {access_token}"}
        return self._send("POST", url, what, headers=headers, **kwargs)

    def _json(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            body: Any = None
            try:
                body = response.json()
            except ValueError:
                body = None
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description", "") if isinstance(body, dict) else ""
            if error is None:  # RFC 6750 §3: token errors may come in WWW-Authenticate only
                found = _BEARER_ERROR.search(response.headers.get("WWW-Authenticate", ""))
                error = found.group(1) if found else None
            raise IssuerError.from_response(
                error if isinstance(error, str) else None,
                f"{what}: {description}"[:300],
                status=response.status_code,
            )
        return json_body(response, what, IssuerError)

    def _get_json(self, url: str, what: str) -> Any:
        return self._json(
            self._send("GET", url, what, headers={"Accept": "application/json"}), what
        )

    # --- the issuer's keys and status lists --------------------------------------------------

    def issuer_keys(self, issuer: str) -> dict[str, PublicKey]:
        """Keys by kid from the issuer's `/.well-known/jwt-vc-issuer` (SD-JWT VC §5)."""
        try:
            url = jwt_vc_issuer_metadata_url(issuer)
        except VCError as exc:
            raise CredentialRejected(detail="iss is not a URL") from exc
        document = self._get_json(url, "JWT VC issuer metadata")
        if isinstance(document, dict) and "jwks_uri" in document and "jwks" not in document:
            jwks = self._get_json(check_url(document["jwks_uri"], "jwks", IssuerError), "jwks")
            document = {"issuer": document.get("issuer"), "jwks": jwks}
        try:
            return parse_jwt_vc_issuer_metadata(document, issuer)
        except VCError as exc:
            raise CredentialRejected(detail=f"issuer metadata: {exc.code}") from exc

    def check_status(self, claims: Mapping[str, Any], issuer: str) -> dict[str, Any]:
        """Look the credential up in its Token Status List; `unknown` when that fails."""
        now = int(self.clock())
        ref = (claims.get("status") or {}).get("status_list")
        if not isinstance(ref, dict):
            return {"value": "none", "checked_at": now}
        try:
            uri = check_url(ref.get("uri"), "status list", IssuerError)
            response = self._send(
                "GET", uri, "status list", headers={"Accept": "application/statuslist+jwt"}
            )
            if response.status_code != 200:
                raise IssuerError.from_response(None, "status list", status=response.status_code)
            keys = self.issuer_keys(issuer)
            verified = verify_status_list_token(
                response.text,
                jwks_key_resolver({issuer: keys}) if len(keys) != 1 else next(iter(keys.values())),
                uri=uri,
                algorithms=SUPPORTED_ALGORITHMS,
                now=now,
            )
            value = verified.status(int(ref["idx"]))
        except (WalletError, VCError, KeyError, ValueError) as exc:
            return {"value": "unknown", "checked_at": now, "detail": type(exc).__name__}
        return {"value": status_name(value), "checked_at": now}
