"""Revoke, suspend, reinstate and reissue over the HR API; after each, the published status list
token (verified and decoded with `vc/`) holds the right value at the right index and nothing else
changed. Bad input gets a stable error code and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from issuer_kit import Holder, apply_and_approve, bearer, link_of, read_sms, tx_code_of
from lifecycle_kit import Office
from sqlalchemy import func, select

from issuer.models import AuditEntry
from vc.keys import Ed25519PrivateKey
from vc.status_list import INVALID, SUSPENDED, VALID


def _audit(server, action: str) -> list[AuditEntry]:
    with server.runtime.unit_of_work() as s:
        return list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


def test_suspend_reinstate_revoke_published_at_once(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    a, b, c = (office.issue(n) for n in ("E1001", "E1002", "E9000"))
    assert a.uri == b.uri == c.uri and len({a.idx, b.idx, c.idx}) == 3
    office.assert_published(a.uri, {})

    r = office.act("suspend", b, "investigation", comment="감사 중")
    assert r.status_code == 200, r.text
    assert r.json() | {"credential_id": None} == {
        "credential_id": None,
        "employee_number": "E1002",
        "before": "active",
        "after": "suspended",
        "reason": "investigation",
        "status_list_id": 1,
        "status_idx": b.idx,
    }
    office.assert_published(a.uri, {b.idx: SUSPENDED})

    r = office.act("reinstate", b, "investigation_closed")
    assert r.status_code == 200 and r.json()["after"] == "active"
    office.assert_published(a.uri, {})

    r = office.act("revoke", a, "phone_lost")
    assert r.status_code == 200 and r.json()["after"] == "revoked"
    office.assert_published(a.uri, {a.idx: INVALID})
    r = office.act("suspend", c, "leave_of_absence")
    assert r.status_code == 200
    office.assert_published(a.uri, {a.idx: INVALID, c.idx: SUSPENDED})
    r = office.act("revoke", c, "retired")  # a suspended credential may be revoked
    assert r.status_code == 200 and r.json()["before"] == "suspended"
    office.assert_published(a.uri, {a.idx: INVALID, c.idx: INVALID})
    assert [office.state_of(x) for x in (a, b, c)] == ["revoked", "active", "revoked"]

    revokes = _audit(live_server, "credential.revoke")
    assert [e.subject for e in revokes] == ["employee:E1001", "employee:E9000"]
    assert '"reason":"phone_lost"' in revokes[0].detail and a.credential_id in revokes[0].detail
    assert len(_audit(live_server, "credential.suspend")) == 2
    assert '"comment":"감사 중"' in _audit(live_server, "credential.suspend")[0].detail
    assert len(_audit(live_server, "credential.reinstate")) == 1
    # the credential itself still verifies; its status is what verifiers must check
    assert office.verify(a)["employee_number"] == "E1001"


def test_bad_input_has_stable_codes_and_changes_nothing(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    a, b = office.issue("E1001"), office.issue("E2001")
    assert office.act("revoke", a, "app_deleted").status_code == 200
    assert office.act("suspend", b, "investigation").status_code == 200

    def snapshot() -> tuple[str, int, list[str]]:
        etag = office.fetch(a.uri).headers["etag"]
        with live_server.runtime.unit_of_work() as s:
            audit = s.scalar(select(func.count()).select_from(AuditEntry))
        return etag, audit, [office.state_of(a), office.state_of(b)]

    before = snapshot()
    cases = [
        (office.act("revoke", "0" * 32, "phone_lost"), 404, "credential_not_found"),
        (office.act("revoke", "x" * 5000, "phone_lost"), 404, "credential_not_found"),
        (office.act("revoke", a, "phone_lost"), 409, "credential_already_revoked"),
        (office.act("reinstate", a, "other"), 409, "credential_revoked"),
        (office.act("suspend", a, "investigation"), 409, "credential_revoked"),
        (office.act("suspend", b, "investigation"), 409, "credential_already_suspended"),
        (office.act("revoke", b, "stolen_by_aliens"), 400, "invalid_reason"),
        (office.act("revoke", b, ""), 400, "invalid_reason"),
        (office.act("suspend", b, "phone_lost"), 400, "invalid_reason"),
        (office.act("reinstate", b, "retired"), 400, "invalid_reason"),
        (office.act("revoke", b, "superseded"), 400, "invalid_reason"),  # system-only reason
        (office.act("revoke", b, "phone_lost", token="mid_nope"), 401, "unauthorized"),
        (office.act("revoke", b, "phone_lost", token=office.tokens.e1001), 403, "forbidden_role"),
        # a department head: own department only (another's is as if it did not exist), and
        # only operational reasons
        (
            office.act("revoke", b, "phone_lost", token=office.tokens.head_d100),
            404,
            "credential_not_found",
        ),
        (
            office.act("revoke", b, "dismissed", token=office.tokens.head_d200),
            403,
            "forbidden_role",
        ),
        (
            office.client.post(
                f"/hr/credentials/{b.credential_id}/revoke",
                json={},
                headers=bearer(office.tokens.admin),
            ),
            400,
            "invalid_request",
        ),
        (
            office.client.post(
                f"/hr/credentials/{b.credential_id}/revoke",
                json={"reason": "other", "extra": 1},
                headers=bearer(office.tokens.admin),
            ),
            400,
            "invalid_request",
        ),
        (
            office.client.post(
                f"/hr/credentials/{b.credential_id}/revoke",
                content=b"{",
                headers=bearer(office.tokens.admin),
            ),
            400,
            "invalid_request",
        ),
        (
            office.client.get(
                "/hr/employees/E0000/credentials", headers=bearer(office.tokens.admin)
            ),
            404,
            "employee_not_found",
        ),
    ]
    for n, (response, status, code) in enumerate(cases):
        assert (n, response.status_code, response.json()["error"]) == (n, status, code)
        assert "Traceback" not in response.text
    assert snapshot() == before
    # reinstating an active credential, then the head of D200 reinstating their own
    assert (
        office.act(
            "reinstate", b, "investigation_closed", token=office.tokens.head_d200
        ).status_code
        == 200
    )
    r = office.act("reinstate", b, "other")
    assert (r.status_code, r.json()["error"]) == (409, "credential_not_suspended")


def _approve(office: Office, application_id: str, token: str) -> None:
    r = office.client.post(
        f"/hr/applications/{application_id}/approve",
        json={"comment": "승인"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text


def test_reissue_lost_phone_revokes_at_once(live_server, tmp_path: Path) -> None:
    """HR files the reissue to the phone on record and revokes the lost one at once; the offer
    waits for the department head's approval."""
    office = Office(live_server, tmp_path)
    old, other = office.issue("E1001"), office.issue("E1002")
    r = office.client.post(
        "/hr/employees/E1001/reissue",
        json={"reason": "phone_lost"},
        headers=bearer(office.tokens.admin),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["application"]["state"] == "pending" and body["application"]["reason"] == "reissue"
    assert body["application"]["phone"] == "010-****-5678"  # the phone on record
    assert body["revoked"]["credential_id"] == old.credential_id
    # revoked before the new credential is even approved
    office.assert_published(old.uri, {old.idx: INVALID})
    assert body["application"]["offer"] is None
    _approve(office, body["application"]["id"], office.tokens.head_d100)
    new = office.accept_offer("E1001")
    assert new.idx not in (old.idx, other.idx)
    office.assert_published(old.uri, {old.idx: INVALID})
    assert [c["state"] for c in office.credentials("E1001")] == ["active", "revoked"]
    assert office.verify(new)["employee_number"] == "E1001"


def test_reissue_changed_phone_revokes_when_new_is_issued(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    old = office.issue("E1002")
    r = office.client.post(
        "/hr/employees/E1002/reissue",
        json={"phone": "010-1234-5678", "reason": "phone_changed"},
        headers=bearer(office.tokens.admin),
    )
    assert r.status_code == 201, r.text
    assert r.json()["revoked"] is None
    _approve(office, r.json()["application"]["id"], office.tokens.head_d100)
    office.assert_published(old.uri, {})  # the old phone still works meanwhile
    assert office.state_of(old) == "active"
    new = office.accept_offer("E1002")
    office.assert_published(old.uri, {old.idx: INVALID, new.idx: VALID})
    assert office.state_of(old) == "revoked"
    with live_server.runtime.unit_of_work() as s:
        reason = s.scalar(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "credential.issue")
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        )
    assert '"superseded":1' in reason


@pytest.mark.parametrize(
    "case",
    [
        "unknown_employee",
        "bad_phone",
        "bad_reason",
        "suspended",
        "not_active",
        "open_application",
        "new_phone",
        "department_head",
    ],
)
def test_reissue_refusals(live_server, tmp_path: Path, case: str) -> None:
    office = Office(live_server, tmp_path)
    issued = office.issue("E1001")
    body = {"reason": "phone_lost"}
    number, status, code, token = "E1001", 400, "invalid_reason", office.tokens.admin
    match case:
        case "unknown_employee":
            number, status, code = "E0000", 404, "employee_not_found"
        case "bad_phone":
            body["phone"], code = "02-123-4567", "invalid_request"
        case "bad_reason":
            body["reason"] = "bored"
        case "suspended":
            assert office.act("suspend", issued, "investigation").status_code == 200
            status, code = 409, "credential_suspended"
        case "not_active":
            number, status, code = "E4001", 409, "employee_not_active"
        case "open_application":
            r = office.client.post(
                "/hr/applications",
                json={"phone": "010-1111-2222", "reason": "reissue"},
                headers=bearer(office.tokens.e1001),
            )
            assert r.status_code == 201
            status, code = 409, "application_open"
        case "new_phone":
            body["phone"], status, code = "010-9999-8888", 403, "phone_not_on_record"
        case "department_head":
            status, code = 403, "reissue_requires_employee_application"
            token = office.tokens.head_d100
    etag = office.fetch(issued.uri).headers["etag"]
    r = office.client.post(f"/hr/employees/{number}/reissue", json=body, headers=bearer(token))
    assert (r.status_code, r.json()["error"]) == (status, code)
    assert office.fetch(issued.uri).headers["etag"] == etag
    assert office.state_of(issued) in ("active", "suspended")


def test_suspended_employee_cannot_get_a_new_credential(live_server, tmp_path: Path) -> None:
    """A suspension is not side-stepped by an ordinary application."""
    office = Office(live_server, tmp_path)
    issued = office.issue("E1001")
    apply_and_approve(office.client, office.tokens, applicant=office.tokens.e1001, reason="reissue")
    assert office.act("suspend", issued, "investigation").status_code == 200
    office.offers_seen += 1
    n = office.offers_seen
    link = link_of(read_sms(live_server.data_dir, kind="offer_link", count=n)[n - 1])
    tx = tx_code_of(read_sms(live_server.data_dir, kind="tx_code", count=n)[n - 1])
    holder = Holder(office.client, Ed25519PrivateKey.generate(), live_server.clock)
    access = holder.access_token(link, tx)
    r = holder.credential(access, holder.request(holder.proof(holder.nonce())))
    assert (r.status_code, r.json()["error"]) == (400, "credential_request_denied")
    office.assert_published(issued.uri, {issued.idx: SUSPENDED})


LIFECYCLE_ENDPOINTS = [
    ("POST", "/hr/credentials/{cid}/revoke"),
    ("POST", "/hr/credentials/{cid}/suspend"),
    ("POST", "/hr/credentials/{cid}/reinstate"),
    ("POST", "/hr/employees/E1001/reissue"),
    ("PUT", "/hr/employees/E1001"),
    ("POST", "/hr/mass-actions"),
]
GARBAGE = [
    b"",
    b"null",
    b"[]",
    b"0",
    b'"x"',
    b"{",
    b'{"reason": 1}',
    b'{"reason": null}',
    b'{"reason": "phone_lost", "comment": 7}',
    b'{"reason": "' + b"a" * 200 + b'"}',
    b'{"phone": [], "reason": "phone_lost"}',
    b'{"action": "revoke", "department_code": 5}',
    b'{"employee_number": "E1001", "name": {"a": 1}}',
    b"\xff\xfe",
    b'{"reason": "\\ud800"}',
]


@pytest.mark.parametrize(("method", "path"), LIFECYCLE_ENDPOINTS)
def test_garbage_never_500_and_changes_nothing(
    live_server, tmp_path: Path, method: str, path: str
) -> None:
    office = Office(live_server, tmp_path)
    issued = office.issue("E1001")
    etag = office.fetch(issued.uri).headers["etag"]
    for body in GARBAGE:
        r = office.client.request(
            method,
            path.format(cid=issued.credential_id),
            content=body,
            headers={**bearer(office.tokens.admin), "Content-Type": "application/json"},
        )
        assert r.status_code in (400, 404, 409), (body, r.status_code, r.text)
        assert r.json()["error"] in ("invalid_request", "invalid_reason", "invalid_scope"), body
    assert office.fetch(issued.uri).headers["etag"] == etag
    assert office.state_of(issued) == "active"
    hr = office.client.get("/hr/employees/E1001", headers=bearer(office.tokens.admin)).json()
    assert hr["name"] == "홍길동"
