"""Verifying a `vp_token` (OpenID4VP 1.0 §8.1, §8.6) through the pipeline gates use.

Each presentation goes through `verifier.pipeline.Pipeline` (issuer trust, signature,
disclosures, validity, KB-JWT with `aud` = our full client_id and `nonce` = the session's,
credential type, status, policy); then it must satisfy its Credential Query (`vct_values`,
claims or one of the `claim_sets`). One bad presentation, or a `vp_token` answering queries not
asked or leaving a required one out, rejects the whole response.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.employee_id import DISCLOSABLE
from vc.dcql import (
    SD_JWT_VC_FORMAT,
    Candidate,
    DcqlQuery,
    check_presented_queries,
    match_credential_query,
)
from vc.errors import Code, VCError
from verifier.errors import VerifierError
from verifier.oid4vp.errors import ErrorCode
from verifier.pipeline import Pipeline
from verifier.policy import AGENCY_CLAIM, StalePolicy, VerificationPolicy
from verifier.reasons import Reason
from verifier.status import StatusCache
from verifier.trust import TrustStore

__all__ = [
    "LoginVerifier",
    "PresentedCredential",
    "ResponseRejected",
    "VerifiedResponse",
    "error_code_for",
    "login_policy",
    "verify_vp_token",
]

_CREDENTIAL_REASONS = frozenset(
    {
        Reason.untrusted_issuer,
        Reason.wrong_credential_type,
        Reason.expired,
        Reason.not_yet_valid,
        Reason.revoked,
        Reason.suspended,
        Reason.invalid_status,
        Reason.stale_status,
        Reason.agency_not_allowed,
    }
)


def error_code_for(reason: Reason) -> ErrorCode:
    """`access_denied` when the credential itself is not acceptable (who it is, its status),
    `invalid_request` when the response is wrong (binding, shape, disclosures)."""
    return ErrorCode.access_denied if reason in _CREDENTIAL_REASONS else ErrorCode.invalid_request


class ResponseRejected(VerifierError):
    """The response fails as a whole; `reason` (the code) is recorded and returned."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PresentedCredential:
    issuer: str | None
    claims: dict[str, Any]
    stale_status: bool = False
    status_ref: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class VerifiedResponse:
    presentations: dict[str, list[PresentedCredential]] = field(default_factory=dict)

    @property
    def first(self) -> PresentedCredential:
        return next(iter(self.presentations.values()))[0]


def login_policy(
    *,
    stale_status: StalePolicy = StalePolicy.fail_closed,
    max_status_age_s: float = 3600.0,
    kb_window_s: float = 120.0,
    clock_skew_s: float = 5.0,
) -> VerificationPolicy:
    """The pipeline policy of logins: nothing required beyond the DCQL query (checked here), every
    disclosed top-level claim handed on (`displayed_claims`), `vct` included for the query."""
    return VerificationPolicy(
        required_claims=frozenset(),
        displayed_claims=tuple(sorted(DISCLOSABLE | {"vct"})),
        stale_status=stale_status,
        max_status_age_s=max_status_age_s,
        kb_window_s=kb_window_s,
        clock_skew_s=clock_skew_s,
    )


class LoginVerifier:
    """One pipeline per client_id (the KB-JWT audience), sharing trust store and status cache."""

    def __init__(self, policy: VerificationPolicy, *, trust: TrustStore, status: StatusCache):
        self.policy = policy
        self.trust = trust
        self.status = status
        self._pipelines: dict[str, Pipeline] = {}

    @property
    def vct_values(self) -> list[str]:
        return sorted({v for t in self.trust.issuers.values() for v in t.accepted_vcts})

    def pipeline(self, client_id: str) -> Pipeline:
        pipeline = self._pipelines.get(client_id)
        if pipeline is None:
            pipeline = Pipeline(
                self.policy, audience=client_id, trust=self.trust, status=self.status, replay=None
            )
            self._pipelines[client_id] = pipeline
        return pipeline


def verify_vp_token(
    vp_token: Mapping[str, Sequence[str]],
    query: DcqlQuery,
    *,
    pipeline: Pipeline,
    nonce: str,
    now: float,
    allowed_agencies: Collection[str] = (),
) -> VerifiedResponse:
    """Check the shape against the query, then every presentation; raises `ResponseRejected`."""
    try:
        check_presented_queries(query, vp_token)
    except VCError as exc:
        reason = Reason.missing_claim if exc.code == Code.missing_claim else Reason.malformed
        raise ResponseRejected(reason, exc.detail) from None
    out: dict[str, list[PresentedCredential]] = {}
    for query_id, items in vp_token.items():
        credential_query = query.query(query_id)
        for item in items:
            decision = pipeline.decide(item, now=now, nonce=nonce)
            if not decision.allow:
                raise ResponseRejected(decision.reason, decision.detail)
            claims = decision.displayed_claims
            vcts = credential_query.vct_values
            if vcts is not None and claims.get("vct") not in vcts:
                raise ResponseRejected(Reason.wrong_credential_type, "vct not asked for")
            candidate = Candidate("presented", SD_JWT_VC_FORMAT, claims)
            if match_credential_query(credential_query, candidate) is None:
                raise ResponseRejected(Reason.missing_claim, "requested claims not disclosed")
            if allowed_agencies and claims.get(AGENCY_CLAIM) not in allowed_agencies:
                raise ResponseRejected(Reason.agency_not_allowed, "agency not allowed")
            claims.pop("vct", None)
            out.setdefault(query_id, []).append(
                PresentedCredential(
                    decision.issuer, claims, decision.stale_status, decision.status_ref
                )
            )
    return VerifiedResponse(out)
