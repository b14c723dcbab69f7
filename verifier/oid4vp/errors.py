"""Protocol errors of the login verifier, in the OAuth shape OpenID4VP and OIDC both use.

Services raise `ProtocolError` (a `VerifierError`) with a spec error code (OpenID4VP 1.0 §8.5,
RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6) and a description written by us (`detail`); each
service maps it to a response in one place (the login service's `mobileid.login_app`). No
exception text from a library ever becomes a description.

A source refused for too many failed secrets gets 429 `too_many_attempts` with `Retry-After`:
RFC 6749 defines no code for it (`temporarily_unavailable` is for the authorization endpoint and
means an overloaded server), and §8.5 lets a deployment add codes; the issuer's HR API answers
the same code.
"""

from __future__ import annotations

from enum import StrEnum

from verifier.errors import VerifierError

__all__ = ["ErrorCode", "ProtocolError", "WrongSecret"]


class ErrorCode(StrEnum):
    invalid_request = "invalid_request"
    access_denied = "access_denied"
    invalid_client = "invalid_client"
    invalid_grant = "invalid_grant"
    unauthorized_client = "unauthorized_client"
    unsupported_grant_type = "unsupported_grant_type"
    unsupported_response_type = "unsupported_response_type"
    invalid_scope = "invalid_scope"
    login_required = "login_required"
    request_not_supported = "request_not_supported"
    request_uri_not_supported = "request_uri_not_supported"
    invalid_token = "invalid_token"  # noqa: S105 - an error code (RFC 6750 §3.1)
    vp_formats_not_supported = "vp_formats_not_supported"
    invalid_request_uri_method = "invalid_request_uri_method"
    not_found = "not_found"
    too_many_attempts = "too_many_attempts"
    server_error = "server_error"


_STATUS = {
    ErrorCode.invalid_client: 401,
    ErrorCode.invalid_token: 401,
    ErrorCode.not_found: 404,
    ErrorCode.too_many_attempts: 429,
    ErrorCode.server_error: 500,
}


class ProtocolError(VerifierError):
    """A refusal to answer with `{"error": code, "error_description": detail}` and `status`."""

    code: ErrorCode

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        keep_changes: bool | None = None,
    ) -> None:
        super().__init__(code, detail, keep_changes=keep_changes)
        self.status = status or _STATUS.get(code, 400)
        self.retry_after = retry_after

    def body(self) -> dict[str, str]:
        return {"error": str(self.code), "error_description": self.detail}

    def headers(self) -> dict[str, str]:
        """`Retry-After` (RFC 9110 §10.2.3) while a refusal lasts; else none."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class WrongSecret(ProtocolError):
    """A presented secret (session handle, client secret, desk API token) matched nothing.

    The throttle counts it (`LoginRuntime.checked`) and the unit of work commits that count
    (`keep_changes`), so raise it before the transaction has written anything else.
    """

    keep_changes = True
