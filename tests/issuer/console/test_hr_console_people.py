"""The HR officer's people pages: find, see, and revoke / suspend / reinstate after a
confirmation; an officer of one agency neither sees nor acts on another's employees; forms
without their CSRF token are refused; every action lands in the audit chain with the person."""

from __future__ import annotations

from pathlib import Path

import pytest
from hr_console_kit import AGENCY, OTHER_AGENCY, admin, hr_desk, officer
from sqlalchemy import select

from issuer.models import AuditEntry
from vc.status_list import INVALID, SUSPENDED


@pytest.fixture
def desk(server_env, monkeypatch, tmp_path: Path):
    with hr_desk(server_env, monkeypatch, tmp_path) as desk:
        yield desk


def _audit(desk, action: str) -> list[AuditEntry]:
    with desk.server.runtime.unit_of_work() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_find_employees_by_number_name_department_and_page(desk) -> None:
    desk.sign_in(admin())
    page = desk.client.get("/console/hr", params={"q": "E100"})
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert "E1001" in page.text and "E1002" in page.text and "E2001" not in page.text
    assert "김철수" in desk.client.get("/console/hr", params={"q": "김철"}).text
    by_department = desk.client.get("/console/hr", params={"q": "인사과"}).text
    assert "E2001" in by_department and "E1001" not in by_department
    everyone = desk.client.get("/console/hr").text
    assert "18명" in everyone  # 17 standard staff and the stranger, 20 a page
    second = desk.client.get("/console/hr", params={"page": 2}).text
    assert "E1001" not in second and "2 / 1" not in second
    # LIKE's wildcards are text here
    assert "0명" in desk.client.get("/console/hr", params={"q": "%"}).text


def test_an_officer_sees_their_agency_and_those_dispatched_to_it_only(desk) -> None:
    desk.sign_in(officer(OTHER_AGENCY))
    listed = desk.client.get("/console/hr").text
    assert "E5001" in listed and "E3001" in listed  # own employee, one dispatched to it
    assert "E1001" not in listed and "2명" in listed
    assert desk.client.get("/console/hr/employees/E3001").status_code == 200
    refused = desk.client.get("/console/hr/employees/E1001")
    assert refused.status_code == 403 and "forbidden_scope" in refused.text
    assert "홍길동" not in refused.text and "Hong" not in refused.text
    assert desk.client.get("/console/hr/employees/NOPE").status_code == 404


def test_employee_page_shows_hr_data_applications_credentials_and_history(desk) -> None:
    issued = desk.office.issue("E1001")
    desk.sign_in(admin())
    page = desk.client.get("/console/hr/employees/E1001")
    assert page.status_code == 200
    text = page.text
    for shown in ("홍길동", "디지털정부과", issued.credential_id, issued.kid, str(issued.idx)):
        assert shown in text
    assert issued.uri in text and "010-****-5678" in text and "01012345678" not in text
    assert "application.file" in text and "application.approve" in text  # its history


def test_revoke_needs_the_confirmation_and_is_audited_with_the_person(desk) -> None:
    issued = desk.office.issue("E1002")
    desk.sign_in(officer(AGENCY, "O1741"))
    base = f"/console/hr/employees/E1002/credentials/{issued.credential_id}"
    confirm = desk.client.get(f"{base}/revoke")
    assert confirm.status_code == 200
    assert "게이트와 로그인은 몇 초 안에 거부합니다" in confirm.text
    assert "Gates and logins refuse it within seconds" in confirm.text

    unconfirmed = desk.post_form(f"{base}/revoke", f"{base}/revoke", {"reason": "phone_lost"})
    assert unconfirmed.status_code == 400 and "confirmed" in unconfirmed.text
    assert desk.office.state_of(issued) == "active"

    done = desk.post_form(
        f"{base}/revoke",
        f"{base}/revoke",
        {"reason": "phone_lost", "comment": "분실 신고", "confirmed": "yes"},
    )
    assert done.status_code == 200 and "폐기했습니다" in done.text  # after the 303
    assert desk.office.state_of(issued) == "revoked"
    desk.office.assert_published(issued.uri, {issued.idx: INVALID})
    (entry,) = _audit(desk, "credential.revoke")
    assert entry.actor == "console:O1741" and entry.role == "hr_officer"
    assert "분실 신고" in entry.detail


def test_suspend_then_reinstate_and_refusals_come_as_pages(desk) -> None:
    issued = desk.office.issue("E1001")
    desk.sign_in(admin())
    base = f"/console/hr/employees/E1001/credentials/{issued.credential_id}"
    post = lambda verb, **data: desk.post_form(  # noqa: E731
        f"{base}/{verb}", f"{base}/{verb}", {"confirmed": "yes", **data}
    )
    assert post("suspend", reason="investigation").status_code == 200
    desk.office.assert_published(issued.uri, {issued.idx: SUSPENDED})
    again = post("suspend", reason="investigation")
    assert again.status_code == 409 and "credential_already_suspended" in again.text
    wrong = post("reinstate", reason="phone_lost")
    assert wrong.status_code == 400 and "invalid_reason" in wrong.text
    assert post("reinstate", reason="investigation_closed").status_code == 200
    desk.office.assert_published(issued.uri, {})
    assert desk.client.get(f"{base}/explode").status_code == 404


def test_an_officer_cannot_act_on_another_agency(desk) -> None:
    issued = desk.office.issue("E1001")
    desk.sign_in(admin())
    token_page = f"/console/hr/employees/E1001/credentials/{issued.credential_id}/revoke"
    from hr_console_kit import csrf_of

    token = csrf_of(desk.client.get(token_page))
    desk.sign_in(officer(OTHER_AGENCY))
    assert desk.client.get(token_page).status_code == 403
    refused = desk.client.post(
        token_page, data={"csrf_token": token, "reason": "phone_lost", "confirmed": "yes"}
    )
    assert refused.status_code == 403 and "forbidden_scope" in refused.text
    assert desk.office.state_of(issued) == "active"
    assert _audit(desk, "credential.revoke") == []


def test_a_form_without_its_csrf_token_is_refused(desk) -> None:
    issued = desk.office.issue("E1001")
    desk.sign_in(admin())
    url = f"/console/hr/employees/E1001/credentials/{issued.credential_id}/revoke"
    for data in ({}, {"csrf_token": "forged"}):
        refused = desk.client.post(url, data={**data, "reason": "phone_lost", "confirmed": "yes"})
        assert refused.status_code == 403 and "csrf_failed" in refused.text
    assert desk.office.state_of(issued) == "active"


def test_without_an_hr_role_every_page_is_403_without_data(desk) -> None:
    desk.sign_in(officer(AGENCY).__class__("E1001", "홍길동", ()))
    for path in ("/console/hr", "/console/hr/employees/E1002", "/console/hr/upload",
                 "/console/hr/mass", "/console/hr/audit", "/console/hr/outbox"):  # fmt: skip
        page = desk.client.get(path)
        assert page.status_code == 403 and "forbidden_role" in page.text, path
        assert "김철수" not in page.text
    desk.sign_in(officer(AGENCY))
    for path in ("/console/hr/audit", "/console/hr/outbox", "/console/hr/keys",
                 "/console/hr/status-lists"):  # fmt: skip
        assert desk.client.get(path).status_code == 403, path
