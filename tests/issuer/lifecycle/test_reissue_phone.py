"""Only the employee directs a credential to a phone: a department head (or HR) who tries to
send a subordinate's credential to a phone of their choosing is refused by every path, with a
stable code and nothing written; the employee's own application, approved by the head, is how a
credential reaches a new phone, and the audit names both; HR and heads still revoke or suspend
alone; the issuer's own re-offers go to the phone on record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from issuer_kit import bearer, employee, read_sms
from lifecycle_kit import Office
from sqlalchemy import func, select

from issuer.models import Application, AuditEntry, Credential, Offer, OutboxMessage
from vc.status_list import INVALID, SUSPENDED

CHOSEN_PHONE = "010-6666-7777"  # not the employee's: the attacker's


def _written(server: Any) -> dict[str, Any]:
    """What a reissue could have written: applications, offers, SMS, credential states and the
    audit entries of filing, reissuing and revoking."""
    with server.runtime.unit_of_work() as s:
        count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
        return {
            "applications": count(Application),
            "offers": count(Offer),
            "outbox": count(OutboxMessage),
            "states": sorted(s.scalars(select(Credential.state))),
            "audit": sorted(
                s.scalars(
                    select(AuditEntry.action).where(
                        AuditEntry.action.in_(
                            ("application.file", "credential.reissue", "credential.revoke")
                        )
                    )
                )
            ),
        }


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["error"]) == (status, code), response.text


def test_department_head_cannot_direct_credential_to_a_phone(
    live_server: Any, tmp_path: Path
) -> None:
    """The attack: the head of the employee's department reissues the employee's credential to a
    phone the head holds (which would revoke the employee's and give the head one in the
    employee's name). Every path is refused and nothing is written."""
    office = Office(live_server, tmp_path)
    issued = office.issue("E1001")
    head, client = bearer(office.tokens.head_d100), office.client
    before, etag = _written(live_server), office.fetch(issued.uri).headers["etag"]

    for reason in ("phone_lost", "phone_changed"):
        reissue = {"phone": CHOSEN_PHONE, "reason": reason}
        r = client.post("/hr/employees/E1001/reissue", json=reissue, headers=head)
        _refused(r, 403, "reissue_requires_employee_application")
    r = client.post("/hr/employees/E1001/reissue", json={"reason": "phone_lost"}, headers=head)
    _refused(r, 403, "reissue_requires_employee_application")  # not even to the phone on record
    application = {"employee_number": "E1001", "phone": CHOSEN_PHONE, "reason": "reissue"}
    _refused(client.post("/hr/applications", json=application, headers=head), 403, "forbidden_role")
    record = employee("E1001", phone=CHOSEN_PHONE, department="기획과")
    _refused(client.put("/hr/employees/E1001", json=record, headers=head), 403, "forbidden_role")
    # HR names no phone either, by reissue or by an application on the employee's behalf
    admin = bearer(office.tokens.admin)
    reissue = {"phone": CHOSEN_PHONE, "reason": "phone_lost"}
    r = client.post("/hr/employees/E1001/reissue", json=reissue, headers=admin)
    _refused(r, 403, "phone_not_on_record")
    r = client.post("/hr/applications", json=application, headers=admin)
    _refused(r, 403, "phone_not_on_record")

    assert _written(live_server) == before
    assert office.fetch(issued.uri).headers["etag"] == etag
    assert office.state_of(issued) == "active"

    # the employee applies with the new phone, the head approves: the offer goes there
    mine = {"phone": CHOSEN_PHONE, "reason": "reissue"}
    r = client.post("/hr/applications", json=mine, headers=bearer(office.tokens.e1001))
    assert r.status_code == 201, r.text
    application_id = r.json()["id"]
    r = client.post(
        f"/hr/applications/{application_id}/approve", json={"comment": "확인"}, headers=head
    )
    assert r.status_code == 200, r.text
    new = office.accept_offer("E1001")
    assert read_sms(live_server.data_dir, kind="offer_link", count=2)[-1]["to"] == "01066667777"
    assert office.state_of(issued) == "revoked"  # superseded by the new phone's
    with live_server.runtime.unit_of_work() as s:
        entries = {
            e.action: e
            for e in s.scalars(select(AuditEntry).where(AuditEntry.subject == "employee:E1001"))
            if json.loads(e.detail).get("application") == application_id
        }
    filed, approved = entries["application.file"], entries["application.approve"]
    assert (filed.role, approved.role) == ("employee", "department_head")
    assert filed.actor.endswith("(E1001)") and approved.actor.endswith("(D100)")
    assert json.loads(approved.detail)["filed_by"] == filed.actor

    # HR suspends and reinstates alone; the head revokes a lost phone's credential alone
    assert office.act("suspend", new, "investigation").status_code == 200
    office.assert_published(new.uri, {issued.idx: INVALID, new.idx: SUSPENDED})
    assert office.act("reinstate", new, "investigation_closed").status_code == 200
    r = office.act("revoke", new, "phone_lost", token=office.tokens.head_d100)
    assert r.status_code == 200, r.text
    office.assert_published(new.uri, {issued.idx: INVALID, new.idx: INVALID})


def test_hr_reissue_goes_to_the_phone_on_record_and_needs_a_second_person(
    live_server: Any, tmp_path: Path
) -> None:
    """HR's reissue on the employee's behalf is an application to the phone on record; HR
    cannot approve its own filing, the department head does."""
    office = Office(live_server, tmp_path)
    issued = office.issue("E1002")
    r = office.client.post(
        "/hr/employees/E1002/reissue",
        json={"reason": "phone_changed"},
        headers=bearer(office.tokens.admin),
    )
    assert r.status_code == 201, r.text
    application_id = r.json()["application"]["id"]
    assert r.json()["application"]["state"] == "pending"
    before = _written(live_server)
    path = f"/hr/applications/{application_id}/approve"
    r = office.client.post(path, json={"comment": "셀프"}, headers=bearer(office.tokens.admin))
    _refused(r, 403, "approver_is_filer")
    assert _written(live_server) == before
    r = office.client.post(path, json={"comment": "확인"}, headers=bearer(office.tokens.head_d100))
    assert r.status_code == 200, r.text
    office.accept_offer("E1002")
    assert read_sms(live_server.data_dir, kind="offer_link", count=2)[-1]["to"] == "01012345678"
    assert office.state_of(issued) == "revoked"


def test_automatic_reoffer_goes_to_the_phone_on_record(live_server: Any, tmp_path: Path) -> None:
    """A claim change re-offers by itself; an HR record changed to another phone in the same
    breath does not redirect it: it goes to the phone the credential was issued to."""
    office = Office(live_server, tmp_path)
    r = office.client.post(
        "/hr/applications",
        json={"phone": "010-2222-3333", "reason": "new"},
        headers=bearer(office.tokens.e1002),
    )
    assert r.status_code == 201, r.text
    r = office.client.post(
        f"/hr/applications/{r.json()['id']}/approve",
        json={"comment": "확인"},
        headers=bearer(office.tokens.head_d100),
    )
    assert r.status_code == 200, r.text
    office.accept_offer("E1002")
    moved = employee(
        "E1002", name="김철수", department_code="D200", department="인사과", phone=CHOSEN_PHONE
    )
    r = office.client.put("/hr/employees/E1002", json=moved, headers=bearer(office.tokens.admin))
    assert r.status_code == 200, r.text
    assert [a["action"] for a in r.json()["actions"]] == ["revoke_and_reoffer"]
    assert read_sms(live_server.data_dir, kind="offer_link", count=2)[-1]["to"] == "01022223333"
