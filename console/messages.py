"""What the error page says for each stable code, Korean first with English beside it."""

from __future__ import annotations

__all__ = ["MESSAGES", "ROLE_LABELS", "message_for"]

MESSAGES: dict[str, str] = {
    "signin_required": "로그인이 필요합니다 / Please sign in",
    "session_expired": "오래 사용하지 않아 로그아웃되었습니다 / You were signed out after a period "
    "of inactivity",
    "forbidden_role": "이 화면을 볼 권한이 없습니다 / You do not have the role this page needs",
    "forbidden_scope": "이 대상에 대한 권한이 없습니다 / Your role does not cover this item",
    "csrf_failed": "요청을 확인할 수 없습니다. 화면을 새로 고친 뒤 다시 시도하세요 / The form "
    "could not be verified; reload the page and try again",
    "signin_failed": "로그인하지 못했습니다. 다시 시도하세요 / Sign-in failed; please try again",
    "login_unavailable": "로그인 서비스에 연결할 수 없습니다 / The login service cannot be reached",
    "not_found": "찾을 수 없습니다 / Not found",
    "method_not_allowed": "허용되지 않는 요청입니다 / This request is not allowed here",
    "too_many_attempts": "시도가 너무 많습니다. 잠시 뒤 다시 시도하세요 / Too many attempts; "
    "try again later",
    "invalid_request": "요청을 처리할 수 없습니다 / The request could not be processed",
    "server_error": "일시적인 오류가 발생했습니다 / Something went wrong on our side",
}


def message_for(code: str) -> str:
    """The message for `code`; a code without its own message gets the generic one."""
    return MESSAGES.get(code, MESSAGES["invalid_request"])


ROLE_LABELS: dict[str, str] = {
    "hr_admin": "인사 총괄 / HR administrator",
    "hr_officer": "인사 담당자 / HR officer",
    "department_head": "부서장 / Department head",
    "gate_operator": "출입 관리자 / Gate operator",
    "login_admin": "로그인 관리자 / Login administrator",
    "employee": "직원 / Employee",
}
