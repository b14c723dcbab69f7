"""OpenID4VCI 1.0 holder: read an offer, run the pre-authorized code flow, check what arrives.

Steps (§4, §6, §7, §8, §11 of OpenID4VCI 1.0): offer by value or `credential_offer_uri` ->
Credential Issuer Metadata (`/.well-known/openid-credential-issuer`) and Authorization Server
Metadata (`/.well-known/oauth-authorization-server`) -> token (pre-authorized code + tx_code) ->
`c_nonce` from the Nonce Endpoint -> proof JWT (`openid4vci-proof+jwt`) -> credential -> verify
(issuer key from `/.well-known/jwt-vc-issuer` of `iss`, `cnf.jwk` is our device key, `vct` as
offered) -> store -> `credential_accepted` notification. One retry with a fresh nonce when the
issuer says `invalid_nonce`. When the issuer offers DPoP (`dpop_signing_alg_values_supported`),
the access token is bound to the device key, so it works only from this phone. The HTTP layer,
the issuer's keys and the status-list look-up come from `wallet_sim.issuer_client`, which a
stored credential keeps needing after issuance.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from schemas.employee_id import VCT_PATH
from schemas.employee_id import type_metadata as local_type_metadata
from vc.errors import VCError
from vc.jws import SUPPORTED_ALGORITHMS, decode_unverified
from vc.keys import PrivateKey, public_key_from_jwk
from vc.openid4vci import PRE_AUTHORIZED_GRANT, create_proof_jwt, parse_credential_offer_link
from vc.sd_jwt import parse_sd_jwt
from vc.sd_jwt_vc import jwks_key_resolver, verify_sd_jwt_vc
from wallet_sim.errors import IssuerError, WalletError
from wallet_sim.http import check_url
from wallet_sim.issuer_client import CredentialRejected, IssuerClient
from wallet_sim.store import UnlockedWallet

__all__ = ["Holder", "OfferPreview", "localized"]

ISSUER_WELL_KNOWN = "/.well-known/openid-credential-issuer"
AS_WELL_KNOWN = "/.well-known/oauth-authorization-server"


def localized(entries: Any, field_name: str = "name") -> dict[str, str]:
    """`{"ko": .., "en": ..}` from a display array with `locale` (ko-KR, en-US, ...)."""
    out: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get(field_name), str):
            continue
        lang = str(entry.get("locale", "en")).split("-")[0].lower()
        out.setdefault(lang, entry[field_name])
    if "en" not in out and out:
        out["en"] = next(iter(out.values()))
    if "ko" not in out and "en" in out:
        out["ko"] = out["en"]
    return out


def _well_known(base: str, suffix: str) -> str:
    """RFC 8414 §3.1 style: the well-known segment goes between host and path."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, suffix + parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class OfferPreview:
    """Everything shown to the employee before consent, and what the flow needs next."""

    credential_issuer: str
    configuration_id: str
    configuration: Mapping[str, Any]
    issuer_metadata: Mapping[str, Any]
    token_endpoint: str
    pre_authorized_code: str
    tx_code: Mapping[str, Any] | None
    offer_uri: str | None
    """Where the offer was fetched (None for an offer by value): asked again after a refusal."""
    issuer_name: dict[str, str]
    credential_name: dict[str, str]
    claim_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    type_metadata: Mapping[str, Any] | None = None
    dpop_algorithms: tuple[str, ...] = ()
    """The token endpoint's `dpop_signing_alg_values_supported` (RFC 9449 §5.1)."""

    @property
    def vct(self) -> str:
        return str(self.configuration.get("vct"))


class Holder(IssuerClient):
    """The OpenID4VCI client side of the phone; HTTP, issuer keys and status: `IssuerClient`."""

    # --- offer and metadata (§4, §12) --------------------------------------------------------

    def resolve_offer(self, link: str) -> OfferPreview:
        """Read the offer link, fetch issuer and AS metadata, and describe what will be stored."""
        try:
            kind, value = parse_credential_offer_link(link)
        except VCError as exc:
            raise IssuerError(
                "발급 링크 형식이 올바르지 않습니다.",
                "The offer link is malformed",
                detail=str(exc),
            ) from exc
        offer = self._get_json(value, "credential offer") if kind == "uri" else value
        if not isinstance(offer, dict):
            raise IssuerError("발급 제안이 올바르지 않습니다.", "The credential offer is malformed")
        issuer = offer.get("credential_issuer")
        config_ids = offer.get("credential_configuration_ids")
        grant = (offer.get("grants") or {}).get(PRE_AUTHORIZED_GRANT)
        if not isinstance(config_ids, list) or not config_ids or not isinstance(grant, dict):
            raise IssuerError(
                "사전 인가 코드 방식의 발급 제안이 아닙니다.",
                "The offer has no pre-authorized code grant or no credential configuration",
            )
        issuer = check_url(issuer, "credential issuer", IssuerError)
        metadata = self._get_json(_well_known(issuer, ISSUER_WELL_KNOWN), "issuer metadata")
        if not isinstance(metadata, dict) or metadata.get("credential_issuer") != issuer:
            raise IssuerError(
                "발급기관 정보가 제안과 일치하지 않습니다.",
                "Issuer metadata does not name the offering issuer",
            )
        configuration_id = config_ids[0]
        configuration = (metadata.get("credential_configurations_supported") or {}).get(
            configuration_id
        )
        if not isinstance(configuration, dict) or configuration.get("format") != "dc+sd-jwt":
            raise IssuerError(
                "지원하지 않는 공무원증 형식입니다.", "Unsupported credential configuration"
            )
        servers = metadata.get("authorization_servers") or [issuer]
        server = grant.get("authorization_server") or servers[0]
        if server not in servers:
            raise IssuerError("인가 서버가 올바르지 않습니다.", "Unknown authorization server")
        as_metadata = self._get_json(_well_known(server, AS_WELL_KNOWN), "authorization server")
        token_endpoint = (
            as_metadata.get("token_endpoint") if isinstance(as_metadata, dict) else None
        )
        dpop_algs = as_metadata.get("dpop_signing_alg_values_supported")
        code = grant.get("pre-authorized_code")
        if not isinstance(code, str) or not code:
            raise IssuerError("발급 코드가 없습니다.", "The offer has no pre-authorized code")
        credential_metadata = configuration.get("credential_metadata") or {}
        type_meta = self._type_metadata(configuration.get("vct"))
        return OfferPreview(
            credential_issuer=issuer,
            configuration_id=configuration_id,
            configuration=configuration,
            issuer_metadata=metadata,
            token_endpoint=check_url(token_endpoint, "token endpoint", IssuerError),
            pre_authorized_code=code,
            tx_code=grant.get("tx_code") if isinstance(grant.get("tx_code"), dict) else None,
            offer_uri=value if kind == "uri" else None,
            issuer_name=localized(metadata.get("display")) or {"ko": issuer, "en": issuer},
            credential_name=localized(credential_metadata.get("display"))
            or localized((type_meta or {}).get("display"))
            or {"ko": configuration_id, "en": configuration_id},
            claim_labels=_claim_labels(type_meta, credential_metadata.get("claims")),
            type_metadata=type_meta,
            dpop_algorithms=tuple(a for a in dpop_algs if isinstance(a, str))
            if isinstance(dpop_algs, list)
            else (),
        )

    def _type_metadata(self, vct: Any) -> dict[str, Any] | None:
        """SD-JWT VC Type Metadata from the `vct` URL; else our own copy in `schemas/`."""
        if not isinstance(vct, str):
            return None
        try:
            document = self._get_json(check_url(vct, "type metadata", IssuerError), "type metadata")
            if isinstance(document, dict) and document.get("vct") == vct:
                return document
        except WalletError:
            pass
        if vct.endswith(VCT_PATH):
            return local_type_metadata(vct[: -len(VCT_PATH)])
        return None

    # --- token, nonce, credential (§6, §7, §8) -----------------------------------------------

    def _token(self, preview: OfferPreview, tx_code: str | None, key: PrivateKey) -> dict[str, Any]:
        """The access token: bound to the device key by DPoP when the issuer offers it."""
        form = {
            "grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": preview.pre_authorized_code,
        }
        if preview.tx_code is not None:
            if not tx_code:
                raise IssuerError.from_response("invalid_request", "tx_code required, not given")
            form["tx_code"] = tx_code
        dpop_key = key if key.public_key.algorithms & set(preview.dpop_algorithms) else None
        response = self._dpop_send(preview.token_endpoint, "token", dpop_key, data=form)
        try:
            token = self._json(response, "token")
        except IssuerError as exc:
            withdrawn = self._withdrawn(preview) if exc.error == "invalid_grant" else None
            if withdrawn is None:
                raise
            raise withdrawn from exc
        if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
            raise IssuerError("토큰 응답이 올바르지 않습니다.", "Malformed token response")
        kind = str(token.get("token_type", "")).lower()
        if kind not in ("bearer", "dpop") or (kind == "dpop" and dpop_key is None):
            raise IssuerError("지원하지 않는 토큰 유형입니다.", f"Unsupported token type {kind!r}")
        return token

    def _withdrawn(self, preview: OfferPreview) -> IssuerError | None:
        """After a refused token request: the offer URI's `offer_withdrawn` when the offer died
        of wrong transaction codes (the token endpoint has only `invalid_grant` for it)."""
        if preview.offer_uri is None:
            return None
        try:
            self._get_json(preview.offer_uri, "credential offer")
        except IssuerError as exc:
            return exc if exc.error == "offer_withdrawn" else None
        return None

    def _nonce(self, preview: OfferPreview) -> str | None:
        endpoint = preview.issuer_metadata.get("nonce_endpoint")
        if endpoint is None:
            return None
        body = self._json(self._send("POST", endpoint, "nonce"), "nonce")
        nonce = body.get("c_nonce") if isinstance(body, dict) else None
        if not isinstance(nonce, str):
            raise IssuerError("nonce 응답이 올바르지 않습니다.", "Malformed nonce response")
        return nonce

    def _credential_request(
        self, preview: OfferPreview, token: Mapping[str, Any], key: PrivateKey
    ) -> dict[str, Any]:
        endpoint = check_url(
            preview.issuer_metadata.get("credential_endpoint"), "credential endpoint", IssuerError
        )
        request: dict[str, Any] = {}
        identifiers = [
            i
            for detail in token.get("authorization_details") or []
            if isinstance(detail, dict)
            and detail.get("credential_configuration_id") == preview.configuration_id
            for i in detail.get("credential_identifiers") or []
        ]
        if identifiers:
            request["credential_identifier"] = identifiers[0]
        else:
            request["credential_configuration_id"] = preview.configuration_id
        for attempt in (1, 2):
            proof = create_proof_jwt(
                key,
                audience=preview.credential_issuer,
                nonce=self._nonce(preview),
                iat=int(self.clock()),
            )
            request["proofs"] = {"jwt": [proof]}
            response = self._authorized(endpoint, "credential", token, key, json=request)
            try:
                body = self._json(response, "credential")
            except IssuerError as exc:
                if exc.error == "invalid_nonce" and attempt == 1:
                    continue  # §8.3.1.2: fetch a fresh c_nonce and try once more
                raise
            if response.status_code == 202:
                raise IssuerError(
                    "발급이 지연되고 있습니다. 나중에 다시 시도하세요.",
                    "Issuance was deferred; deferred issuance is not supported by this wallet",
                )
            if not isinstance(body, dict):
                break
            return body
        raise IssuerError("발급 응답이 올바르지 않습니다.", "Malformed credential response")

    def _notify(
        self,
        preview: OfferPreview,
        token: Mapping[str, Any],
        key: PrivateKey,
        notification_id: Any,
        event: str,
    ) -> bool:
        endpoint = preview.issuer_metadata.get("notification_endpoint")
        if not endpoint or not isinstance(notification_id, str):
            return False
        response = self._authorized(
            endpoint,
            "notification",
            token,
            key,
            json={"notification_id": notification_id, "event": event},
        )
        if response.status_code >= 400:
            self._json(response, "notification")
        return True

    # --- verification of what was received ---------------------------------------------------

    def verify_credential(
        self, credential: str, *, preview: OfferPreview, holder_key: PrivateKey
    ) -> dict[str, Any]:
        """The verified, fully disclosed claims; raises `CredentialRejected` otherwise."""
        try:
            _, unverified, _, _ = decode_unverified(parse_sd_jwt(credential).issuer_jwt)
        except VCError as exc:
            raise CredentialRejected(detail=f"unreadable: {exc.code}") from exc
        if unverified.get("iss") != preview.credential_issuer:
            raise CredentialRejected(detail="iss is not the offering credential issuer")
        keys = self.issuer_keys(preview.credential_issuer)
        algs = preview.configuration.get("credential_signing_alg_values_supported")
        allowed = SUPPORTED_ALGORITHMS.intersection(algs) if isinstance(algs, list) else None
        try:
            verified = verify_sd_jwt_vc(
                credential,
                issuer_key=jwks_key_resolver({preview.credential_issuer: keys}),
                algorithms=allowed or SUPPORTED_ALGORITHMS,
                key_binding=False,
                vct_values=[preview.vct],
                now=self.clock(),
            )
            cnf_key = public_key_from_jwk((verified.claims.get("cnf") or {}).get("jwk"))
        except VCError as exc:
            raise CredentialRejected(detail=f"{exc.code}: {exc.detail}") from exc
        if cnf_key != holder_key.public_key:
            raise CredentialRejected(detail="cnf.jwk is not this device's key")
        return verified.claims

    # --- the whole onboarding ----------------------------------------------------------------

    def accept(
        self, preview: OfferPreview, *, tx_code: str | None, wallet: UnlockedWallet
    ) -> dict[str, Any]:
        """Redeem the offer, verify and store the credential, notify the issuer; the record."""
        key = wallet.device_key
        token = self._token(preview, tx_code, key)
        body = self._credential_request(preview, token, key)
        credentials = body.get("credentials")
        entry = credentials[0] if isinstance(credentials, list) and credentials else None
        credential = entry.get("credential") if isinstance(entry, dict) else None
        notification_id = body.get("notification_id")
        if not isinstance(credential, str):
            raise IssuerError("발급 응답에 공무원증이 없습니다.", "No credential in the response")
        try:
            claims = self.verify_credential(credential, preview=preview, holder_key=key)
        except CredentialRejected:
            with contextlib.suppress(WalletError):
                self._notify(preview, token, key, notification_id, "credential_failure")
            raise
        now = int(self.clock())
        record = {
            "id": f"cred-{now}-{len(wallet.credentials) + 1}",
            "credential": credential,
            "credential_issuer": preview.credential_issuer,
            "issuer_name": preview.issuer_name,
            "configuration_id": preview.configuration_id,
            "credential_name": preview.credential_name,
            "vct": preview.vct,
            "claims": claims,
            "claim_labels": preview.claim_labels,
            "received_at": now,
            "status": self.check_status(claims, preview.credential_issuer),
            "notification_id": notification_id,
        }
        # A reissued credential of the same type replaces the old one on this phone.
        wallet.data["credentials"] = [
            c
            for c in wallet.credentials
            if (c["credential_issuer"], c["vct"]) != (preview.credential_issuer, preview.vct)
        ]
        wallet.add_credential(record)
        try:
            record["notified"] = self._notify(
                preview, token, key, notification_id, "credential_accepted"
            )
        except WalletError as exc:
            record["notified"] = False
            record["notification_error"] = exc.message
        return record


def _claim_labels(type_meta: Any, oid4vci_claims: Any) -> dict[str, dict[str, str]]:
    """Claim name -> {"ko", "en"} labels: Type Metadata first, issuer metadata as fallback."""
    labels: dict[str, dict[str, str]] = {}
    for source, field_name in (
        ((type_meta or {}).get("claims"), "label"),
        (oid4vci_claims, "name"),
    ):
        for claim in source if isinstance(source, list) else ():
            path = claim.get("path") if isinstance(claim, dict) else None
            if isinstance(path, list) and path and all(isinstance(p, str) for p in path):
                name = ".".join(path)
                found = localized(claim.get("display"), field_name)
                if found and name not in labels:
                    labels[name] = found
    return labels
