"""Protocol errors of the login verifier, in the OAuth shape OpenID4VP and OIDC both use.

Services raise `ProtocolError` with a spec error code (OpenID4VP 1.0 §8.5, RFC 6749 §4.1.2.1 and
§5.2, OIDC Core §3.1.2.6) and a description written by us; the routers turn it into a response
in one place each. No exception text from a library ever becomes a description.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorCode", "ProtocolError"]


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
    server_error = "server_error"


_STATUS = {
    ErrorCode.invalid_client: 401,
    ErrorCode.invalid_token: 401,
    ErrorCode.not_found: 404,
    ErrorCode.server_error: 500,
}


class ProtocolError(Exception):
    """A refusal to answer with `{"error": code, "error_description": description}`."""

    def __init__(self, code: ErrorCode, description: str, *, status: int | None = None) -> None:
        self.code = code
        self.description = description
        self.status = status or _STATUS.get(code, 400)
        super().__init__(f"{code}: {description}")

    def body(self) -> dict[str, str]:
        return {"error": str(self.code), "error_description": self.description}
