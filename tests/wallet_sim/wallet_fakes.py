"""In-process fakes for wallet protocol tests: an OpenID4VCI issuer and an OpenID4VP verifier.

Both are `httpx.MockTransport` handlers built from `vc/` primitives only, so the wallet's
protocol logic is tested without sockets; the e2e tests use the real issuer over HTTP.
The fake issuer can be told to misbehave (tamper with the credential, bind another key, ...).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

import httpx

from schemas.employee_id import CONFIGURATION_ID, VCT_PATH, credential_display, type_metadata
from vc.dpop import verify_dpop_proof
from vc.errors import VCError
from vc.keys import Ed25519PrivateKey, P256PrivateKey, PrivateKey, public_key_from_jwk
from vc.openid4vci import PRE_AUTHORIZED_GRANT, verify_proof_jwt
from vc.sd_jwt_vc import issue_sd_jwt_vc, jwt_vc_issuer_metadata, status_reference
from vc.status_list import StatusList, sign_status_list_token

PIN = "135790"
"""The PIN every test wallet is set up with."""
ISSUER = "https://issuer.test"
VCT = ISSUER + VCT_PATH

CLAIMS = {
    "employee_number": "E-2024-0042",
    "name": "김공무",
    "name_en": "Kim Gongmu",
    "agency": "행정안전부",
    "agency_code": "1741000",
    "department": "디지털정부국",
    "position": "사무관",
    "grade": "5급",
    "employment_type": "general",
    "active_public_servant_of": "1741000",
    "opaque_id": "op4que-1d-0123456789abcdef",
}


@dataclass
class FakeIssuer:
    """A minimal OpenID4VCI 1.0 issuer; `tamper` picks a way to misbehave."""

    tx_code: str = "493817"
    tamper: str | None = None
    key: PrivateKey = field(default_factory=P256PrivateKey.generate)
    clock: Callable[[], float] = time.time
    pre_code: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonces: set[str] = field(default_factory=set)
    stale_nonce_once: bool = False
    notifications: list[dict[str, Any]] = field(default_factory=list)
    status: StatusList = field(default_factory=lambda: StatusList(16))
    requests: list[str] = field(default_factory=list)
    serve_type_metadata: bool = True
    dpop_nonce: str | None = None
    """Offer DPoP and demand this server nonce in every proof (RFC 9449 §8, §9)."""
    dpop_jkt: str | None = None

    def offer(self) -> dict[str, Any]:
        return {
            "credential_issuer": ISSUER,
            "credential_configuration_ids": [CONFIGURATION_ID],
            "grants": {
                PRE_AUTHORIZED_GRANT: {
                    "pre-authorized_code": self.pre_code,
                    "tx_code": {"length": 6, "input_mode": "numeric", "description": "SMS"},
                }
            },
        }

    def link_by_value(self) -> str:
        return "openid-credential-offer://?credential_offer=" + quote(json.dumps(self.offer()))

    def link_by_reference(self) -> str:
        return "openid-credential-offer://?credential_offer_uri=" + quote(
            ISSUER + "/offers/abc", safe=""
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _error(self, error: str, status: int = 400) -> httpx.Response:
        return httpx.Response(status, json={"error": error, "error_description": "fake"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if path == "/offers/abc":
            return httpx.Response(200, json=self.offer())
        if path == "/.well-known/openid-credential-issuer":
            return httpx.Response(200, json=self.metadata())
        if path == "/.well-known/oauth-authorization-server":
            server = {"issuer": ISSUER, "token_endpoint": ISSUER + "/token"}
            if self.dpop_nonce is not None:
                server["dpop_signing_alg_values_supported"] = ["ES256", "EdDSA"]
            return httpx.Response(200, json=server)
        if path == "/.well-known/jwt-vc-issuer":
            jwk = {**self.key.public_key.to_jwk(), "kid": "k1"}
            return httpx.Response(200, json=jwt_vc_issuer_metadata(ISSUER, {"keys": [jwk]}))
        if path == VCT_PATH:
            if not self.serve_type_metadata:
                return httpx.Response(404)
            return httpx.Response(200, json=type_metadata(ISSUER))
        if path == "/token":
            refused = self._dpop_refusal(request, None)
            if refused is not None:
                return refused
            return self.token(parse_qs(request.content.decode()))
        if path == "/nonce":
            nonce = secrets.token_urlsafe(16)
            self.nonces.add(nonce)
            return httpx.Response(200, json={"c_nonce": nonce})
        if path == "/credential":
            return self.credential(request)
        if path == "/notification":
            self.notifications.append(json.loads(request.content))
            return httpx.Response(204)
        if path == "/status/1":
            token = sign_status_list_token(
                self.status, self.key, kid="k1", sub=ISSUER + "/status/1", iat=int(self.clock())
            )
            return httpx.Response(
                200, text=token, headers={"Content-Type": "application/statuslist+jwt"}
            )
        return httpx.Response(404)

    def _dpop_refusal(self, request: httpx.Request, token: str | None) -> httpx.Response | None:
        """None when DPoP is off or the request's proof is good; else the RFC's refusal, with
        a nonce to use (400 at the token endpoint, 401 where a token is presented)."""
        if self.dpop_nonce is None:
            return None
        status, headers = (400, {}) if token is None else (401, {"WWW-Authenticate": "DPoP"})
        headers["DPoP-Nonce"] = self.dpop_nonce
        try:
            proof = verify_dpop_proof(
                request.headers.get("DPoP"),
                htm=request.method,
                htu=str(request.url),
                algorithms=["ES256", "EdDSA"],
                now=self.clock(),
                access_token=token,
                nonce=self.dpop_nonce,
            )
        except VCError as exc:
            error = "use_dpop_nonce" if exc.code == "nonce_mismatch" else "invalid_dpop_proof"
            return httpx.Response(status, json={"error": error}, headers=headers)
        if token is None:
            self.dpop_jkt = proof.jkt
        elif proof.jkt != self.dpop_jkt:
            return httpx.Response(status, json={"error": "invalid_dpop_proof"}, headers=headers)
        return None

    def metadata(self) -> dict[str, Any]:
        return {
            "credential_issuer": ISSUER,
            "credential_endpoint": ISSUER + "/credential",
            "nonce_endpoint": ISSUER + "/nonce",
            "notification_endpoint": ISSUER + "/notification",
            "display": [
                {"name": "가짜 발급기관", "locale": "ko-KR"},
                {"name": "Fake Issuer", "locale": "en-US"},
            ],
            "credential_configurations_supported": {
                CONFIGURATION_ID: {
                    "format": "dc+sd-jwt",
                    "vct": VCT,
                    "credential_signing_alg_values_supported": ["ES256", "EdDSA"],
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "proof_types_supported": {
                        "jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}
                    },
                    "credential_metadata": {"display": credential_display()},
                }
            },
        }

    def token(self, form: dict[str, list[str]]) -> httpx.Response:
        if form.get("grant_type") != [PRE_AUTHORIZED_GRANT]:
            return self._error("unsupported_grant_type")
        if form.get("pre-authorized_code") != [self.pre_code]:
            return self._error("invalid_grant")
        if "tx_code" not in form:
            return self._error("invalid_request")
        if form["tx_code"] != [self.tx_code]:
            return self._error("invalid_grant")
        kind = "Bearer" if self.dpop_nonce is None else "DPoP"
        return httpx.Response(200, json={"access_token": "at-" + self.pre_code, "token_type": kind})

    def credential(self, request: httpx.Request) -> httpx.Response:
        kind = "Bearer" if self.dpop_nonce is None else "DPoP"
        if request.headers.get("Authorization") != f"{kind} at-" + self.pre_code:
            return self._error("invalid_token", 401)
        refused = self._dpop_refusal(request, "at-" + self.pre_code)
        if refused is not None:
            return refused
        body = json.loads(request.content)
        if body.get("credential_configuration_id") != CONFIGURATION_ID:
            return self._error("unknown_credential_configuration")
        proof = body["proofs"]["jwt"][0]
        holder, payload = verify_proof_jwt(
            proof, audience=ISSUER, algorithms=["ES256", "EdDSA"], now=self.clock()
        )
        if self.stale_nonce_once:
            self.stale_nonce_once = False
            return self._error("invalid_nonce")
        if payload.get("nonce") not in self.nonces:
            return self._error("invalid_nonce")
        self.nonces.discard(payload["nonce"])
        holder_jwk = holder.to_jwk()
        issuer, key, vct = ISSUER, self.key, VCT
        if self.tamper == "wrong_key":
            key = P256PrivateKey.generate()
        if self.tamper == "other_holder":
            holder_jwk = Ed25519PrivateKey.generate().public_key.to_jwk()
        if self.tamper == "wrong_vct":
            vct = ISSUER + "/types/other"
        if self.tamper == "wrong_iss":
            issuer = "https://evil.test"
        now = int(self.clock())
        credential = issue_sd_jwt_vc(
            issuer=issuer,
            vct=vct,
            claims=CLAIMS,
            disclosable=list(CLAIMS),
            key=key,
            kid="k1",
            holder_jwk=holder_jwk,
            iat=now,
            exp=now + 86400 * 365,
            status=status_reference(3, ISSUER + "/status/1"),
        )
        if self.tamper == "modified_payload":
            header, payload_b64, _sig = credential.split("~")[0].split(".")
            from vc.base64url import b64url_decode, b64url_encode

            doc = json.loads(b64url_decode(payload_b64))
            doc["exp"] = doc["exp"] + 10**8
            forged = b64url_encode(json.dumps(doc).encode())
            credential = credential.replace(f"{header}.{payload_b64}.", f"{header}.{forged}.", 1)
        assert public_key_from_jwk(holder_jwk)
        return httpx.Response(
            200, json={"credentials": [{"credential": credential}], "notification_id": "n-1"}
        )
