"""The issuer's refusals as console error pages: a service's `IssuerError` becomes a
`ConsoleError` with the same stable code, a Korean sentence and the service's own English detail
(ours, never a foreign exception's text), so a page shows why and never a trace.

The statuses agree with the API's table (`mobileid.http_errors`, which the issuer cannot import);
a code not listed here is answered 400.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from console.web import ConsoleError
from issuer.errors import IssuerCode, IssuerError

__all__ = ["console_error", "page_refusals"]

C = IssuerCode
_PAGES: Mapping[str, tuple[int, str]] = {
    C.invalid_request: (400, "요청이 올바르지 않습니다"),
    C.forbidden_role: (403, "이 역할로는 할 수 없습니다"),
    C.forbidden_scope: (403, "담당 범위 밖의 일입니다"),
    C.employee_not_found: (404, "인사 기록을 찾을 수 없습니다"),
    C.employee_not_active: (409, "재직 중인 직원이 아닙니다"),
    C.application_not_found: (404, "신청을 찾을 수 없습니다"),
    C.application_open: (409, "이미 진행 중인 신청이 있습니다"),
    C.application_not_pending: (409, "이미 처리된 신청입니다"),
    C.phone_not_on_record: (403, "등록되지 않은 전화번호입니다"),
    C.approver_is_filer: (403, "본인이 접수한 신청은 승인할 수 없습니다"),
    C.credential_not_found: (404, "자격증명을 찾을 수 없습니다"),
    C.credential_already_revoked: (409, "이미 폐기된 자격증명입니다"),
    C.credential_already_suspended: (409, "이미 정지된 자격증명입니다"),
    C.credential_not_suspended: (409, "정지된 자격증명이 아닙니다"),
    C.credential_revoked: (409, "폐기된 자격증명입니다"),
    C.credential_suspended: (409, "정지된 자격증명입니다"),
    C.invalid_reason: (400, "사유가 올바르지 않습니다"),
    C.invalid_scope: (400, "기관 또는 부서 하나를 고르세요"),
    C.reissue_requires_employee_application: (403, "새 휴대폰은 본인이 신청합니다"),
    C.hr_upload_not_found: (404, "올린 파일이 없거나 만료되었습니다. 다시 올리세요"),
    C.hr_upload_changed: (409, "검토한 뒤 파일이 바뀌었습니다. 다시 올리세요"),
    C.hr_upload_too_large: (413, "파일이 너무 큽니다"),
}


def console_error(exc: IssuerError) -> ConsoleError:
    status, korean = _PAGES.get(exc.code, (exc.status or 400, "요청을 처리할 수 없습니다"))
    english = exc.detail or str(exc.code).replace("_", " ")
    return ConsoleError(status, str(exc.code), f"{korean} / {english[:1].upper()}{english[1:]}")


@contextmanager
def page_refusals() -> Iterator[None]:
    """Outside the unit of work (which rolls back first): a refusal becomes its error page."""
    try:
        yield
    except IssuerError as exc:
        raise console_error(exc) from None
