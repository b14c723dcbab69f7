"""The remote-work system's one error tree: every refusal has a stable snake_case code."""

from __future__ import annotations

__all__ = ["MESSAGES", "RemoteWorkError"]

MESSAGES: dict[str, str] = {
    "invalid_plan": "계획 내용이 올바르지 않습니다 / The plan is not valid",
    "plan_in_past": "지난 날짜의 계획은 낼 수 없습니다 / A plan cannot start in the past",
    "plan_overlaps": "같은 기간에 이미 계획이 있습니다 / Another plan covers some of these days",
    "plan_not_found": "계획을 찾을 수 없습니다 / No such plan",
    "not_department_head": "이 직원의 부서장이 아닙니다 / You are not this employee's "
    "department head",
    "already_decided": "이미 결정된 계획입니다 / This plan was already decided",
    "no_approved_plan": "오늘 승인된 원격근무 계획이 없습니다 / No approved remote-work plan "
    "for today",
    "no_sid": "로그인 세션 정보(sid)가 없어 근무를 기록할 수 없습니다 / The sign-in carried no "
    "session id (sid): work time cannot be recorded",
    "record_not_found": "근무 기록을 찾을 수 없습니다 / No such work record",
    "invalid_correction": "정정 내용이 올바르지 않습니다 / The correction is not valid",
    "clock_changed": "시계가 뒤로 바뀌어 근무를 종료했습니다 / The clock went back; the work "
    "session was closed",
    "session_ended": "로그아웃되었습니다. 다시 로그인하세요 / You were signed out; please sign "
    "in again",
    "invalid_logout_token": "logout token rejected",
    "logout_token_replayed": "logout token already used",
    "unknown_sid": "no session with this sid",
}


class RemoteWorkError(Exception):
    """A refusal: `code` (stable), HTTP `status`, `detail` for logs and API bodies."""

    def __init__(self, code: str, detail: str | None = None, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail or MESSAGES.get(code, code)
        self.status = status

    @property
    def message(self) -> str:
        """What a person sees, Korean with English beside it."""
        return MESSAGES.get(self.code, self.detail)
