"""The department head's inbox (`/console/inbox`): pending applications of the departments the
person heads, approve or reject with a comment, history; scope, CSRF, decided-once, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pages_kit import Pages, console_pages, error_code
from sqlalchemy import select

from issuer.models import Application, OutboxMessage


@pytest.fixture
def pages(tmp_path: Path, database_url: str) -> Iterator[Pages]:
    with console_pages(tmp_path, database_url) as pages:
        yield pages


def _apply(pages: Pages, who: str, phone: str = "010-1234-5678") -> str:
    r = pages.as_(who).post("/console/me/applications", {"phone": phone})
    assert r.status_code == 303, r.text
    with pages.server.runtime.unit_of_work() as session:
        return str(
            session.scalar(
                select(Application.id)
                .where(Application.filed_by == f"console:{who}")
                .order_by(Application.created_at.desc())
                .limit(1)
            )
        )


def _state(pages: Pages, app_id: str) -> str:
    with pages.server.runtime.unit_of_work() as session:
        return str(session.scalar(select(Application.state).where(Application.id == app_id)))


def _decide(pages: Pages, app_id: str, decision: str, comment: str = "") -> Any:
    return pages.post(
        f"/console/inbox/{app_id}",
        {"decision": decision, "comment": comment},
        page="/console/inbox",
    )


def _sms_count(pages: Pages) -> int:
    with pages.server.runtime.unit_of_work() as session:
        return len(session.scalars(select(OutboxMessage.id)).all())


def test_inbox_lists_pending_applications_of_the_heads_department_only(pages: Pages) -> None:
    mine = _apply(pages, "E1001")
    other = _apply(pages, "E9000", phone="010-3333-4444")
    page = pages.as_("E1002").client.get("/console/inbox").text
    assert f'data-application="{mine}"' in page and f'data-application="{other}"' in page
    assert "홍길동" in page and "010-****-5678" in page  # the applicant's phone, masked
    assert "010-1234-5678" not in page

    page = pages.as_("E2001").client.get("/console/inbox").text  # heads D200
    assert "data-application=" not in page and "data-empty" in page


def test_head_approves_in_the_inbox_audited_with_the_person(pages: Pages) -> None:
    app_id = _apply(pages, "E1001")
    r = pages.as_("E1002").post(
        f"/console/inbox/{app_id}",
        {"decision": "approve", "comment": "승인합니다"},
        page="/console/inbox",
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/inbox?done=approved"
    assert _state(pages, app_id) == "approved"
    assert pages.audit("console:E1002") == [("application.approve", "employee:E1001")]
    assert _sms_count(pages) == 2  # the offer's link and its code, queued with the approval
    page = pages.client.get("/console/inbox?done=approved").text
    assert 'data-notice="approved"' in page and f'data-application="{app_id}"' not in page

    history = pages.client.get("/console/inbox/history").text
    assert f'data-application="{app_id}"' in history
    assert "승인합니다" in history and "김철수 <small>(E1002)</small>" in history


def test_double_approval_is_a_clear_error_with_a_stable_code(pages: Pages) -> None:
    app_id = _apply(pages, "E1001")
    assert _decide(pages.as_("E1002"), app_id, "approve").status_code == 303
    r = _decide(pages, app_id, "approve")
    assert r.status_code == 409 and error_code(r.text) == "application_not_pending"
    assert "이미 처리된 신청입니다" in r.text
    r = _decide(pages, app_id, "reject", "늦은 반려")
    assert r.status_code == 409 and error_code(r.text) == "application_not_pending"
    assert _state(pages, app_id) == "approved"
    assert _sms_count(pages) == 2  # one offer, not two
    assert pages.audit("console:E1002") == [("application.approve", "employee:E1001")]


def test_head_of_another_department_gets_403_and_nothing_changes(pages: Pages) -> None:
    app_id = _apply(pages, "E1001")
    r = _decide(pages.as_("E2001"), app_id, "approve")
    assert r.status_code == 403 and error_code(r.text) == "forbidden_scope"
    assert "홍길동" not in r.text
    assert _state(pages, app_id) == "pending"
    assert pages.audit("console:E2001") == []


def test_without_the_role_the_inbox_is_a_403_page(pages: Pages) -> None:
    app_id = _apply(pages, "E1001")
    for path in ("/console/inbox", "/console/inbox/history"):
        r = pages.as_("E9000").client.get(path)
        assert r.status_code == 403 and error_code(r.text) == "forbidden_role"
        assert app_id not in r.text
    r = pages.post(f"/console/inbox/{app_id}", {"decision": "approve"})
    assert r.status_code == 403 and error_code(r.text) == "forbidden_role"
    assert _state(pages, app_id) == "pending"


def test_decision_without_csrf_token_is_refused(pages: Pages) -> None:
    app_id = _apply(pages, "E1001")
    pages.as_("E1002").client.get("/console/inbox")
    r = pages.client.post(f"/console/inbox/{app_id}", data={"decision": "approve"})
    assert r.status_code == 403 and error_code(r.text) == "csrf_failed"
    assert _state(pages, app_id) == "pending"
    assert pages.audit("console:E1002") == []


def test_reject_needs_a_comment_and_is_audited(pages: Pages) -> None:
    app_id = _apply(pages, "E1001")
    r = _decide(pages.as_("E1002"), app_id, "reject", "   ")
    assert r.status_code == 400 and error_code(r.text) == "invalid_request"
    assert _state(pages, app_id) == "pending"
    r = _decide(pages, app_id, "reject", "번호 확인 필요")
    assert r.status_code == 303 and r.headers["location"] == "/console/inbox?done=rejected"
    assert _state(pages, app_id) == "rejected"
    assert pages.audit("console:E1002") == [("application.reject", "employee:E1001")]
    assert _sms_count(pages) == 0


@pytest.mark.parametrize(
    ("path", "data", "status", "code"),
    [
        ("/console/inbox/{id}", {"decision": "maybe"}, 400, "invalid_request"),
        (
            "/console/inbox/{id}",
            {"decision": "approve", "comment": "x" * 1001},
            400,
            "invalid_request",
        ),
        ("/console/inbox/nosuchapplication", {"decision": "approve"}, 404, "application_not_found"),
        ("/console/inbox/" + "a" * 300, {"decision": "approve"}, 404, "application_not_found"),
    ],
)
def test_bad_decisions_are_clear_errors(
    pages: Pages, path: str, data: dict[str, str], status: int, code: str
) -> None:
    app_id = _apply(pages, "E1001")
    r = pages.as_("E1002").post(path.format(id=app_id), data, page="/console/inbox")
    assert r.status_code == status and error_code(r.text) == code
    assert _state(pages, app_id) == "pending"


def test_a_head_does_not_approve_their_own_application(pages: Pages) -> None:
    app_id = _apply(pages, "E1002")  # the head of D100 applies for themself
    r = _decide(pages, app_id, "approve")
    assert r.status_code == 403 and error_code(r.text) == "approver_is_filer"
    assert _state(pages, app_id) == "pending"


def test_history_filters_by_state(pages: Pages) -> None:
    approved = _apply(pages, "E1001")
    rejected = _apply(pages, "E9000", phone="010-3333-4444")
    _decide(pages.as_("E1002"), approved, "approve")
    _decide(pages, rejected, "reject", "다시 신청하세요")
    page = pages.client.get("/console/inbox/history?state=rejected").text
    assert f'data-application="{rejected}"' in page
    assert f'data-application="{approved}"' not in page
    page = pages.client.get("/console/inbox/history").text
    assert f'data-application="{rejected}"' in page and f'data-application="{approved}"' in page
    r = pages.client.get("/console/inbox/history?state=pending")
    assert r.status_code == 400 and error_code(r.text) == "invalid_request"
    r = pages.client.get("/console/inbox/history?state=%27%3Cscript%3E")
    assert r.status_code == 400 and "<script>" not in r.text
