"""The issuer's HTTP error mapping: its codes' statuses and headers, on the shared edge.

Descriptions come from our own `detail` strings, never from `str()` of a foreign exception
(`mobileid.edge` does the rest for every service).
"""

from __future__ import annotations

from collections.abc import Mapping

from issuer.errors import IssuerCode, IssuerError
from mobileid.edge import Refusal, ServiceErrors

__all__ = ["ISSUER_ERRORS", "STATUS_BY_CODE", "request_error_code"]

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
    C.offer_withdrawn: 410,
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
    C.unknown_role: 400,
    C.scope_required: 400,
    C.scope_not_allowed: 400,
    C.unknown_scope: 400,
    C.grant_exists: 409,
    C.grant_not_found: 404,
    C.login_link_invalid: 404,
    C.login_link_expired: 410,
    C.login_link_used: 410,
    C.signin_code_invalid: 400,
}

# Which spec code a malformed or oversized request gets, by endpoint (longest prefix wins).
_REQUEST_ERROR_BY_PATH: tuple[tuple[str, str], ...] = (
    ("/credential-offer", C.invalid_request),
    ("/credential", C.invalid_credential_request),
    ("/notification", C.invalid_notification_request),
    ("/token", C.invalid_request),
    ("/nonce", C.invalid_request),
    ("/hr/", C.invalid_request),
    ("/console/api/", C.invalid_request),
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


def issuer_refusal(exc: Exception) -> Refusal:
    assert isinstance(exc, IssuerError)
    code = exc.code
    headers: dict[str, str] = {}
    if exc.challenge is not None:
        headers["WWW-Authenticate"] = exc.challenge
    elif code == C.invalid_token:
        headers["WWW-Authenticate"] = f'Bearer error="{code}"'
    elif code == C.unauthorized:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    status = exc.status or STATUS_BY_CODE.get(code, 400)
    return Refusal(code, exc.detail or None, status, headers)


def _too_large_code(path: str) -> str:
    """The HR API says `request_too_large`; OpenID4VCI endpoints their own request code."""
    return C.request_too_large if path.startswith("/hr/") else request_error_code(path)


ISSUER_ERRORS = ServiceErrors(
    party_error=IssuerError,
    refusal=issuer_refusal,
    request_error_code=request_error_code,
    too_large_code=_too_large_code,
    not_found_code=C.not_found,
)
