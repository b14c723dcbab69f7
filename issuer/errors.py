"""The issuer's domain errors, each with a stable snake_case code.

Codes are the contract; HTTP statuses and response bodies are chosen at the web edge
(`mobileid.http_errors`), in one table. `detail` is for logs and humans and never holds a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

__all__ = [
    "AuditChainBroken",
    "AuditKeyMismatch",
    "AuditSealRefused",
    "AuthError",
    "ConsoleAuthError",
    "DeliveryError",
    "GrantError",
    "HrError",
    "HrImportRejected",
    "IssuerCode",
    "IssuerError",
    "KeyStoreError",
    "LifecycleError",
    "ProtocolError",
    "RowProblem",
]


class IssuerCode(StrEnum):
    # OAuth 2.0 (RFC 6749 §5.2, RFC 6750 §3.1) and OpenID4VCI 1.0 (§6.3, §8.3.1.2, §11.3)
    invalid_request = "invalid_request"
    invalid_grant = "invalid_grant"
    unsupported_grant_type = "unsupported_grant_type"
    invalid_token = "invalid_token"  # noqa: S105 - an error code
    invalid_proof = "invalid_proof"
    invalid_nonce = "invalid_nonce"
    unknown_credential_configuration = "unknown_credential_configuration"
    unknown_credential_identifier = "unknown_credential_identifier"
    invalid_credential_request = "invalid_credential_request"
    credential_request_denied = "credential_request_denied"
    invalid_notification_id = "invalid_notification_id"
    invalid_notification_request = "invalid_notification_request"
    invalid_encryption_parameters = "invalid_encryption_parameters"
    invalid_dpop_proof = "invalid_dpop_proof"  # RFC 9449 §5, §7.1
    offer_not_found = "offer_not_found"
    offer_withdrawn = "offer_withdrawn"  # too many wrong tx_codes: a new offer is needed
    # HR API
    unauthorized = "unauthorized"
    forbidden_role = "forbidden_role"
    forbidden_scope = "forbidden_scope"
    employee_not_found = "employee_not_found"
    employee_not_active = "employee_not_active"
    application_not_found = "application_not_found"
    application_open = "application_open"
    application_not_pending = "application_not_pending"
    phone_not_on_record = "phone_not_on_record"  # only the employee names a new phone
    approver_is_filer = "approver_is_filer"  # an application needs a second person
    invalid_token_binding = "invalid_token_binding"  # noqa: S105 - an error code
    too_many_attempts = "too_many_attempts"
    # credential lifecycle
    credential_not_found = "credential_not_found"
    credential_already_revoked = "credential_already_revoked"
    credential_already_suspended = "credential_already_suspended"
    credential_not_suspended = "credential_not_suspended"
    credential_revoked = "credential_revoked"
    credential_suspended = "credential_suspended"
    reissue_requires_employee_application = "reissue_requires_employee_application"
    invalid_reason = "invalid_reason"
    invalid_scope = "invalid_scope"
    status_list_not_found = "status_list_not_found"
    invalid_last_event_id = "invalid_last_event_id"  # the status-list change feed
    signing_key_not_found = "signing_key_not_found"
    # consoles (issue 19): grants, sign-in links and codes
    unknown_role = "unknown_role"
    scope_required = "scope_required"
    scope_not_allowed = "scope_not_allowed"
    unknown_scope = "unknown_scope"  # no such agency or department in HR data
    grant_exists = "grant_exists"
    grant_not_found = "grant_not_found"
    login_link_invalid = "login_link_invalid"
    login_link_expired = "login_link_expired"
    login_link_used = "login_link_used"
    signin_code_invalid = "signin_code_invalid"  # wrong, expired, used or void: one answer
    # operations
    invalid_hr_file = "invalid_hr_file"
    hr_upload_not_found = "hr_upload_not_found"  # the console's reviewed upload: gone or expired
    hr_upload_changed = "hr_upload_changed"  # its stored bytes no longer hash to its digest
    hr_upload_too_large = "hr_upload_too_large"
    audit_chain_broken = "audit_chain_broken"
    audit_key_mismatch = "audit_key_mismatch"
    audit_seal_refused = "audit_seal_refused"
    key_store_unusable = "key_store_unusable"
    delivery_failed = "delivery_failed"
    request_too_large = "request_too_large"
    not_found = "not_found"


class IssuerError(Exception):
    """Base of the issuer's errors. `keep_changes` asks the edge to commit before answering."""

    keep_changes: bool = False

    def __init__(
        self,
        code: IssuerCode,
        detail: str = "",
        *,
        keep_changes: bool = False,
        status: int | None = None,
        challenge: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.code = code
        self.detail = detail
        self.keep_changes = keep_changes
        self.status = status
        """The HTTP status when the code's usual one does not fit this endpoint (RFC 9449 §7.1)."""
        self.challenge = challenge
        """A `WWW-Authenticate` value other than the Bearer one (a DPoP challenge)."""
        self.retry_after = retry_after
        """Seconds for `Retry-After` (RFC 9110 §10.2.3) while a refusal lasts (429)."""
        super().__init__(f"{code}: {detail}" if detail else str(code))


class ProtocolError(IssuerError):
    """An OAuth 2.0 / OpenID4VCI error, answered with the spec's `error` code."""


class AuthError(IssuerError):
    """No, unknown, expired or revoked bearer token, too many of them from one address, or a
    role/scope that does not allow the action."""


class HrError(IssuerError):
    """An HR workflow rule refused the action (unknown employee, application state, ...)."""


class GrantError(IssuerError):
    """A grant rule refused the change (unknown role, scope, employee; grant exists or not)."""


class ConsoleAuthError(IssuerError):
    """A console sign-in link or code does not redeem (unknown, expired, used, wrong)."""


class LifecycleError(IssuerError):
    """A credential lifecycle rule refused the action (unknown credential, state, reason)."""


class KeyStoreError(IssuerError):
    """The signing keys cannot be used safely (another deployment secret, an altered row, a
    legacy key directory that disagrees with the database)."""

    def __init__(self, detail: str) -> None:
        super().__init__(IssuerCode.key_store_unusable, detail)


class DeliveryError(IssuerError):
    """A sender could not deliver a message; the outbox records `detail` and retries, so it
    never holds the text (say "gateway answered 503", not what was sent)."""

    def __init__(self, detail: str) -> None:
        super().__init__(IssuerCode.delivery_failed, detail)


class RowProblem(tuple[int, str, str]):
    """(row number, field, message) for one invalid HR record; rows count from 1."""

    __slots__ = ()

    @property
    def row(self) -> int:
        return self[0]

    @property
    def field(self) -> str:
        return self[1]

    @property
    def message(self) -> str:
        return self[2]


class HrImportRejected(IssuerError):
    """The HR file has invalid rows; every one is listed and nothing was written."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(IssuerCode.invalid_hr_file, f"{len(self.problems)} invalid row(s)")


class AuditChainBroken(IssuerError):
    """The audit log's hash chain does not verify at `seq`."""

    def __init__(self, seq: int, detail: str) -> None:
        self.seq = seq
        super().__init__(IssuerCode.audit_chain_broken, f"at seq {seq}: {detail}")


class AuditKeyMismatch(IssuerError):
    """The audit chain is keyed under another deployment secret than this process has."""

    def __init__(self) -> None:
        super().__init__(
            IssuerCode.audit_key_mismatch,
            "the audit chain is keyed with another MOBILEID_SECRET_KEY than this process has "
            "(or its head row was altered)",
        )


class AuditSealRefused(IssuerError):
    """`seal_legacy_chain` cannot seal: nothing unkeyed, sealed already, or another head."""

    def __init__(self, detail: str) -> None:
        super().__init__(IssuerCode.audit_seal_refused, detail)
