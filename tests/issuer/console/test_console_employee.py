"""The employee's pages (`/console/me`): HR data, applying, following the application, own
credentials, reporting a lost phone; own data only, CSRF on every form, every action audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from issuer_kit import Holder, link_of, read_sms, tx_code_of
from pages_kit import Pages, console_pages, error_code
from sqlalchemy import select

from issuer.models import Application, Credential, Employee
from vc.keys import Ed25519PrivateKey


@pytest.fixture
def pages(tmp_path: Path, database_url: str) -> Iterator[Pages]:
    with console_pages(tmp_path, database_url) as pages:
        yield pages


def _rows(pages: Pages, table: Any, number: str) -> list[Any]:
    """The employee's applications or credentials, oldest first."""
    with pages.server.runtime.unit_of_work() as session:
        return list(
            session.scalars(
                select(table)
                .join(Employee, Employee.id == table.employee_id)
                .where(Employee.employee_number == number)
                .order_by(table.created_at if table is Application else table.issued_at)
            )
        )


def _applications(pages: Pages, number: str) -> list[Application]:
    return _rows(pages, Application, number)


def _credentials(pages: Pages, number: str) -> list[Credential]:
    return _rows(pages, Credential, number)


def _approve(pages: Pages, comment: str = "확인했습니다") -> None:
    app_id = _applications(pages, "E1001")[-1].id
    r = pages.as_("E1002").post(
        f"/console/inbox/{app_id}",
        {"decision": "approve", "comment": comment},
        page="/console/inbox",
    )
    assert r.status_code == 303, r.text


def _accept_offer(pages: Pages, *, count: int) -> None:
    """The phone takes the newest offer from its SMS, as the wallet does."""
    server = pages.server
    link = link_of(read_sms(server.data_dir, kind="offer_link", count=count)[-1])
    tx = tx_code_of(read_sms(server.data_dir, kind="tx_code", count=count)[-1])
    Holder(server.client, Ed25519PrivateKey.generate(), server.clock).receive(link, tx)


def test_employee_sees_own_hr_data_and_applies(pages: Pages) -> None:
    r = pages.as_("E1001").client.get("/console/me")
    assert r.status_code == 200
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "홍길동" in r.text and "디지털정부과" in r.text and "E1001" in r.text
    assert "아직 발급된 증명서가 없습니다" in r.text
    assert 'action="/console/me/applications"' in r.text

    r = pages.post("/console/me/applications", {"phone": "010-2222-3333"})
    assert r.status_code == 303 and r.headers["location"] == "/console/me?done=applied"
    [application] = _applications(pages, "E1001")
    assert (application.state, application.phone, application.reason) == (
        "pending",
        "01022223333",
        "new",
    )
    assert application.filed_by == "console:E1001"
    assert pages.audit("console:E1001") == [("application.file", "employee:E1001")]

    page = pages.client.get("/console/me?done=applied").text
    assert 'data-notice="applied"' in page
    assert 'data-state="pending"' in page and "010-2222-3333" in page
    assert 'action="/console/me/applications"' not in page  # one open application at a time


def test_apply_without_csrf_token_is_refused_and_changes_nothing(pages: Pages) -> None:
    pages.as_("E1001").client.get("/console/me")
    r = pages.client.post("/console/me/applications", data={"phone": "010-2222-3333"})
    assert r.status_code == 403 and error_code(r.text) == "csrf_failed"
    r = pages.client.post(
        "/console/me/applications", data={"phone": "010-2222-3333", "csrf_token": "forged"}
    )
    assert r.status_code == 403 and error_code(r.text) == "csrf_failed"
    assert _applications(pages, "E1001") == []
    assert pages.audit("console:E1001") == []


@pytest.mark.parametrize(
    ("phone", "code"),
    [("", "invalid_request"), ("02-123-4567", "invalid_request"), ("0" * 41, "invalid_request")],
)
def test_a_bad_phone_is_a_clear_error_and_writes_nothing(
    pages: Pages, phone: str, code: str
) -> None:
    r = pages.as_("E1001").post("/console/me/applications", {"phone": phone})
    assert r.status_code == 400 and error_code(r.text) == code
    assert "Traceback" not in r.text
    assert _applications(pages, "E1001") == []


def test_a_second_application_while_one_is_open_is_refused(pages: Pages) -> None:
    pages.as_("E1001").post("/console/me/applications", {"phone": "010-2222-3333"})
    r = pages.post("/console/me/applications", {"phone": "010-4444-5555"})
    assert r.status_code == 409 and error_code(r.text) == "application_open"
    assert len(_applications(pages, "E1001")) == 1


def test_a_person_without_an_hr_record_gets_a_page_not_data(pages: Pages) -> None:
    r = pages.as_("nobody").client.get("/console/me")
    assert r.status_code == 404 and error_code(r.text) == "employee_not_found"


def test_employee_follows_approval_and_sees_the_credential_valid(pages: Pages) -> None:
    pages.as_("E1001").post("/console/me/applications", {"phone": "010-1234-5678"})
    _approve(pages, comment="확인했습니다")
    page = pages.as_("E1001").client.get("/console/me").text
    assert 'data-state="approved"' in page
    assert "김철수 <small>(E1002)</small>" in page  # decided by, named
    assert "확인했습니다" in page
    assert 'data-offer="active"' in page  # the offer was sent

    _accept_offer(pages, count=1)
    page = pages.client.get("/console/me").text
    assert 'data-state="issued"' in page and 'data-state="valid"' in page
    assert 'data-offer="used"' in page
    assert 'href="/console/me/lost"' in page


def test_rejected_comment_is_shown_to_the_employee(pages: Pages) -> None:
    pages.as_("E1001").post("/console/me/applications", {"phone": "010-1234-5678"})
    app_id = _applications(pages, "E1001")[-1].id
    r = pages.as_("E1002").post(
        f"/console/inbox/{app_id}",
        {"decision": "reject", "comment": "번호를 다시 확인하세요 <b>"},
        page="/console/inbox",
    )
    assert r.status_code == 303
    page = pages.as_("E1001").client.get("/console/me").text
    assert 'data-state="rejected"' in page
    assert "번호를 다시 확인하세요 &lt;b&gt;" in page  # escaped, never markup
    assert 'action="/console/me/applications"' in page  # may apply again


def test_report_lost_phone_suspends_and_files_reissue_then_reissue_supersedes(
    pages: Pages,
) -> None:
    pages.as_("E1001").post("/console/me/applications", {"phone": "010-1234-5678"})
    _approve(pages)
    _accept_offer(pages, count=1)
    [old] = _credentials(pages, "E1001")

    page = pages.as_("E1001").client.get("/console/me/lost").text
    assert "즉시 정지" in page and "within seconds" in page and "reissue application" in page
    assert 'value="010-1234-5678"' in page  # the lost credential's phone, suggested

    r = pages.post("/console/me/lost", {"phone": "010-9999-8888"}, page="/console/me/lost")
    assert r.status_code == 303 and r.headers["location"] == "/console/me?done=reported"
    [old] = _credentials(pages, "E1001")
    assert (old.state, old.suspension_reason) == ("suspended", "phone_lost")
    reissue = _applications(pages, "E1001")[-1]
    assert (reissue.state, reissue.reason, reissue.phone) == ("pending", "reissue", "01099998888")
    actions = pages.audit("console:E1001")
    assert actions[-3:] == [
        ("application.file", "employee:E1001"),
        ("credential.suspend", "employee:E1001"),
        ("credential.report_lost", "employee:E1001"),
    ]
    page = pages.client.get("/console/me?done=reported").text
    assert 'data-state="suspended"' in page and 'data-notice="reported"' in page

    # the department head approves in the inbox; the new phone takes the offer
    _approve(pages, comment="분실 확인")
    _accept_offer(pages, count=2)
    old, new = _credentials(pages, "E1001")
    assert (old.state, old.revocation_reason) == ("revoked", "superseded")
    assert new.state == "active"
    page = pages.as_("E1001").client.get("/console/me").text
    assert 'data-state="valid"' in page and 'data-state="revoked"' in page


def test_report_lost_phone_without_csrf_changes_nothing(pages: Pages) -> None:
    pages.as_("E1001").post("/console/me/applications", {"phone": "010-1234-5678"})
    _approve(pages)
    _accept_offer(pages, count=1)
    r = pages.as_("E1001").client.post("/console/me/lost", data={"phone": "010-9999-8888"})
    assert r.status_code == 403 and error_code(r.text) == "csrf_failed"
    [credential] = _credentials(pages, "E1001")
    assert credential.state == "active"


def test_report_lost_phone_is_all_or_nothing(pages: Pages) -> None:
    """A refused reissue application (a bad phone; an application already open) leaves the
    credential as it was: the suspension and the application are one transaction."""
    pages.as_("E1001").post("/console/me/applications", {"phone": "010-1234-5678"})
    _approve(pages)
    _accept_offer(pages, count=1)
    r = pages.as_("E1001").post("/console/me/lost", {"phone": "12345"}, page="/console/me/lost")
    assert r.status_code == 400 and error_code(r.text) == "invalid_request"
    assert _credentials(pages, "E1001")[0].state == "active"

    pages.post("/console/me/applications", {"phone": "010-7777-6666"})  # a new phone, pending
    before = pages.audit("console:E1001")
    r = pages.post("/console/me/lost", {"phone": "010-9999-8888"}, page="/console/me")
    assert r.status_code == 409 and error_code(r.text) == "application_open"
    assert _credentials(pages, "E1001")[0].state == "active"
    assert pages.audit("console:E1001") == before
    assert 'data-code="application_open"' in pages.client.get("/console/me/lost").text


def test_report_lost_phone_with_no_credential_is_a_clear_error(pages: Pages) -> None:
    page = pages.as_("E1001").client.get("/console/me/lost").text
    assert "You hold no credential to report" in page
    r = pages.post("/console/me/lost", {"phone": "010-9999-8888"})
    assert r.status_code == 404 and error_code(r.text) == "credential_not_found"
    assert _applications(pages, "E1001") == []


def test_a_lost_phone_does_not_lift_another_suspension(pages: Pages) -> None:
    """A credential HR suspended (an investigation) stays suspended: the report is refused and
    no reissue application goes out (issuance would refuse it as well)."""
    from issuer.api_tokens import operator
    from issuer.lifecycle.credentials import suspend_credential

    pages.as_("E1001").post("/console/me/applications", {"phone": "010-1234-5678"})
    _approve(pages)
    _accept_offer(pages, count=1)
    [credential] = _credentials(pages, "E1001")
    runtime, ctx = pages.server.runtime, pages.server.app.state.issuer
    with runtime.unit_of_work() as session:
        suspend_credential(
            session,
            operator(),
            credential.id,
            reason="investigation",
            publisher=ctx.status,
            keyring=ctx.keyring,
            now=runtime.clock(),
        )
    page = pages.as_("E1001").client.get("/console/me").text
    assert 'href="/console/me/lost"' not in page
    r = pages.post("/console/me/lost", {"phone": "010-9999-8888"})
    assert r.status_code == 409 and error_code(r.text) == "credential_suspended"
    assert len(_applications(pages, "E1001")) == 1
    assert _credentials(pages, "E1001")[0].suspension_reason == "investigation"


def test_only_the_employee_reports_their_phone_lost(pages: Pages) -> None:
    """The service refuses any other principal before looking anything up."""
    from issuer.api_tokens import operator
    from issuer.errors import AuthError
    from issuer.hr.inbox import head_principal
    from issuer.lifecycle.lost_phone import report_lost_phone

    runtime, ctx = pages.server.runtime, pages.server.app.state.issuer
    for principal in (operator(), head_principal("console:E1002", "D100")):
        with pytest.raises(AuthError) as refused, runtime.unit_of_work() as session:
            report_lost_phone(
                session,
                principal,
                phone="010-1234-5678",
                publisher=ctx.status,
                keyring=ctx.keyring,
                now=runtime.clock(),
            )
        assert refused.value.code == "forbidden_role"
