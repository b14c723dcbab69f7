"""Presenting the credential: purpose QR codes at gates, and OpenID4VP 1.0 to any verifier.

QR (gate, library, identity): an SD-JWT VC presentation disclosing exactly the purpose's claims
from `schemas/`, with a KB-JWT (`aud` the verifier audience, `iat` now, a nonce), as the plain
compact string or the compact binary encoding of `vc.qr_compact` (the default).

OpenID4VP: parse the `openid4vp://` link, fetch and verify the Request Object (`vc.openid4vp`),
evaluate its DCQL query (`vc.dcql`), show what goes to whom, and after consent POST the
`vp_token` with `direct_post`, encrypted when the request says `direct_post.jwt` (KB `aud` = the
full client_id, `nonce` from the request). Every
presentation is written to the wallet's own encrypted history and nowhere else.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509

from schemas.employee_id import PURPOSES, QR_EXCLUDED_CLAIMS, Purpose
from vc.base64url import b64url_encode
from vc.dcql import SD_JWT_VC_FORMAT, Candidate, CredentialMatch, DcqlMatch, match_dcql
from vc.errors import VCError
from vc.openid4vp import (
    REQUEST_OBJECT_MEDIA_TYPE,
    RESPONSE_MODE_DIRECT_POST_JWT,
    AuthorizationRequest,
    check_authorization_request,
    direct_post_error_form,
    direct_post_form,
    direct_post_jwt_form,
    parse_request_link,
    verify_request_object,
)
from vc.qr_compact import encode_presentation
from vc.sd_jwt import present
from wallet_sim.errors import NoCredential, PresentationError, VerifierError, WalletError
from wallet_sim.http import check_url, json_body
from wallet_sim.store import UnlockedWallet

__all__ = [
    "PresentationOutcome",
    "PresentationPlan",
    "Presenter",
    "QrPresentation",
]

Random = Callable[[int], bytes]


@dataclass(frozen=True)
class QrPresentation:
    payload: str
    """The compact SD-JWT+KB string."""
    purpose: str
    audience: str
    nonce: str
    disclosed: tuple[str, ...]

    @property
    def qr_data(self) -> bytes:
        """What the QR code carries: the compact binary encoding of `vc.qr_compact`."""
        return encode_presentation(self.payload)


@dataclass(frozen=True)
class PresentationPlan:
    """A checked OpenID4VP request and the credentials/claims the wallet would send."""

    request: AuthorizationRequest
    match: DcqlMatch
    verifier_name: str

    def disclosed(self) -> dict[str, list[str]]:
        """Query id -> the claim names that will be disclosed for it."""
        return {
            query_id: sorted({_path_name(p) for m in matches for p in m.disclose})
            for query_id, matches in self.match.presentations.items()
        }


@dataclass(frozen=True)
class PresentationOutcome:
    status_code: int
    body: Any
    redirect_uri: str | None
    followed_status: int | None = None


def _path_name(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path)


def _credential(wallet: UnlockedWallet) -> dict[str, Any]:
    if not wallet.credentials:
        raise NoCredential()
    return wallet.credentials[-1]


class Presenter:
    """Builds and sends presentations; clock, randomness, HTTP and trust anchors are injected."""

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: Random = secrets.token_bytes,
        trust_anchors: Sequence[x509.Certificate] = (),
    ) -> None:
        self.client = client
        self.clock = clock
        self.rng = rng
        self.trust_anchors = tuple(trust_anchors)

    # --- QR at a gate ------------------------------------------------------------------------

    def purpose_presentation(
        self, wallet: UnlockedWallet, purpose: str, *, audience: str, nonce: str | None = None
    ) -> QrPresentation:
        """Disclose exactly the purpose's claims (`schemas.employee_id.PURPOSES`), with a KB-JWT.

        Claims that never fit a QR code (`QR_EXCLUDED_CLAIMS`: the photo) are left out; they are
        presented over OpenID4VP instead.
        """
        try:
            names = PURPOSES[Purpose(purpose)] - QR_EXCLUDED_CLAIMS
        except ValueError as exc:
            raise PresentationError(
                f"알 수 없는 용도입니다: {purpose}", f"Unknown purpose {purpose!r}"
            ) from exc
        if not audience:
            raise PresentationError(
                "검증기 식별자(audience)가 필요합니다.", "An audience is needed"
            )
        record = _credential(wallet)
        nonce = nonce or b64url_encode(self.rng(16))
        paths = [(name,) for name in sorted(names)]
        payload = present(
            record["credential"],
            select=paths,
            holder_key=wallet.device_key,
            audience=audience,
            nonce=nonce,
            iat=int(self.clock()),
        )
        disclosed = tuple(n for n in sorted(names) if n in record["claims"])
        wallet.append_history(
            {
                "at": int(self.clock()),
                "kind": "qr",
                "purpose": purpose,
                "verifier": audience,
                "credential_id": record["id"],
                "claims": list(disclosed),
            }
        )
        return QrPresentation(payload, purpose, audience, nonce, disclosed)

    # --- OpenID4VP ---------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        if self.client is None:
            raise VerifierError("네트워크를 사용할 수 없습니다.", "No HTTP client configured")
        return self.client

    def _fetch_request_object(self, uri: str, method: str) -> tuple[str, str | None]:
        check_url(uri, "request_uri", VerifierError)
        headers = {"Accept": REQUEST_OBJECT_MEDIA_TYPE}
        wallet_nonce = None
        try:
            if method == "post":  # §5.10: tell the verifier who we are, bind with wallet_nonce
                wallet_nonce = b64url_encode(self.rng(16))
                response = self._http().post(
                    uri, data={"wallet_nonce": wallet_nonce}, headers=headers
                )
            else:
                response = self._http().get(uri, headers=headers)
        except httpx.HTTPError as exc:
            raise VerifierError(
                "검증기관에 연결할 수 없습니다.", "Cannot reach the verifier", detail=str(uri)
            ) from exc
        if response.status_code != 200 or len(response.content) > 64 * 1024:
            raise VerifierError(
                "검증기관 요청을 가져오지 못했습니다.",
                f"Could not fetch the request object (HTTP {response.status_code})",
            )
        return response.text.strip(), wallet_nonce

    def resolve_request(self, link: str, wallet: UnlockedWallet) -> PresentationPlan:
        """Parse, fetch, verify and evaluate a request; raises `VerifierError` if it is refused."""
        try:
            parsed = parse_request_link(link)
            verified = None
            if parsed.params is not None:
                params: Mapping[str, Any] = parsed.params
            else:
                wallet_nonce = None
                if parsed.request_uri is not None:
                    token, wallet_nonce = self._fetch_request_object(
                        parsed.request_uri, parsed.request_uri_method
                    )
                else:
                    assert parsed.request is not None
                    token = parsed.request
                verified = verify_request_object(
                    token,
                    client_id=parsed.client_id,
                    trust_anchors=self.trust_anchors,
                    now=self.clock(),
                )
                if wallet_nonce is not None and verified.params.get("wallet_nonce") != wallet_nonce:
                    raise VerifierError(
                        "요청이 이 지갑을 위한 것이 아닙니다.", "wallet_nonce was not echoed"
                    )
                params = verified.params
            request = check_authorization_request(
                params, signed=verified is not None, verified=verified, allow_loopback_http=True
            )
        except VCError as exc:
            raise VerifierError(
                "신뢰할 수 없거나 올바르지 않은 검증 요청이라 거부했습니다.",
                "The verifier's request is untrusted or malformed and was refused",
                detail=f"{exc.code}: {exc.detail}",
            ) from exc
        _check_formats(request, wallet)
        candidates = [
            Candidate(
                ref=record["id"],
                format=SD_JWT_VC_FORMAT,
                claims=record["claims"],
                holder_bound="cnf" in record["claims"],
            )
            for record in wallet.credentials
        ]
        try:
            match = match_dcql(request.dcql_query, candidates)
        except VCError as exc:
            self._send_error(request, "access_denied", "no matching credential")
            raise PresentationError(detail=exc.detail) from exc
        name = request.client_metadata.get("client_name")
        return PresentationPlan(
            request, match, name if isinstance(name, str) else request.client_id
        )

    def _presentation(
        self, wallet: UnlockedWallet, match: CredentialMatch, nonce: str, aud: str
    ) -> str:
        record = next(c for c in wallet.credentials if c["id"] == match.candidate.ref)
        if not match.holder_binding:
            return present(record["credential"], select=list(match.disclose))
        return present(
            record["credential"],
            select=list(match.disclose),
            holder_key=wallet.device_key,
            audience=aud,
            nonce=nonce,
            iat=int(self.clock()),
        )

    def respond(
        self, plan: PresentationPlan, wallet: UnlockedWallet, *, follow_redirect: bool = True
    ) -> PresentationOutcome:
        """POST the `vp_token` (`direct_post`, or encrypted: `direct_post.jwt`) and report the
        verifier's answer."""
        request = plan.request
        presentations = {
            query_id: [
                self._presentation(wallet, m, request.nonce, request.client_id) for m in matches
            ]
            for query_id, matches in plan.match.presentations.items()
        }
        form = _answer(
            request, {"vp_token": presentations}, direct_post_form(presentations, request.state)
        )
        entry: dict[str, Any] = {
            "at": int(self.clock()),
            "kind": "openid4vp",
            "verifier": request.client_id,
            "verifier_name": plan.verifier_name,
            "response_uri": request.response_uri,
            "credential_ids": sorted(
                {m.candidate.ref for ms in plan.match.presentations.values() for m in ms}
            ),
            "claims": plan.disclosed(),
        }
        try:
            response = self._http().post(request.response_uri, data=form)
        except httpx.HTTPError as exc:
            entry["outcome"] = "unreachable"
            wallet.append_history(entry)
            raise VerifierError(
                "검증기관에 응답을 보내지 못했습니다.", "Could not send the response"
            ) from exc
        body = json_body(response, "verifier", VerifierError) if response.content else {}
        entry["outcome"] = "accepted" if response.status_code == 200 else "rejected"
        wallet.append_history(entry)
        if response.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            raise VerifierError(
                f"검증기관이 제시를 거부했습니다: {error or response.status_code}",
                f"The verifier rejected the presentation: {error or response.status_code}",
                detail=str(body)[:300],
            )
        redirect = body.get("redirect_uri") if isinstance(body, dict) else None
        followed = None
        if isinstance(redirect, str) and follow_redirect:
            check_url(redirect, "redirect_uri", VerifierError)
            try:
                followed = self._http().get(redirect, follow_redirects=True).status_code
            except httpx.HTTPError:
                followed = None
        return PresentationOutcome(
            response.status_code, body, redirect if isinstance(redirect, str) else None, followed
        )

    def decline(self, plan: PresentationPlan) -> None:
        """Tell the verifier the user said no (`access_denied`, §8.5)."""
        self._send_error(plan.request, "access_denied", "the user declined")

    def _send_error(self, request: AuthorizationRequest, error: str, description: str) -> None:
        plain = direct_post_error_form(error, description, request.state)
        form = _answer(request, dict(plain), plain)
        with contextlib.suppress(httpx.HTTPError, WalletError):  # best effort only
            self._http().post(request.response_uri, data=form)


def _answer(
    request: AuthorizationRequest, params: dict[str, Any], plain: dict[str, str]
) -> dict[str, str]:
    """The form to POST: `plain` for `direct_post`; for `direct_post.jwt` the parameters (the
    `vp_token` as a JSON object) encrypted to the verifier's key (§8.3)."""
    if request.response_mode != RESPONSE_MODE_DIRECT_POST_JWT:
        return plain
    if request.state is not None:
        params["state"] = request.state
    return direct_post_jwt_form(params, request)


def _check_formats(request: AuthorizationRequest, wallet: UnlockedWallet) -> None:
    """`client_metadata.vp_formats_supported` (§11.1) must admit SD-JWT VC and our KB-JWT alg."""
    formats = request.client_metadata.get("vp_formats_supported")
    if not isinstance(formats, dict):
        return
    sd_jwt = formats.get(SD_JWT_VC_FORMAT)
    kb_algs = sd_jwt.get("kb-jwt_alg_values") if isinstance(sd_jwt, dict) else None
    ours = {wallet.alg, "Ed25519"} if wallet.alg == "EdDSA" else {wallet.alg}
    if sd_jwt is None or (isinstance(kb_algs, list) and not ours.intersection(kb_algs)):
        raise VerifierError(
            "검증기관이 이 지갑의 형식·서명 방식을 지원하지 않습니다.",
            "The verifier does not accept this wallet's format or key algorithm "
            "(vp_formats_not_supported)",
        )
