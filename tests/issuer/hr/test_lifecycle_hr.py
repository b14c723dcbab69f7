"""HR changes drive the lifecycle: a changed claim revokes and re-offers, retirement and dismissal
revoke, leave suspends and the return reinstates; by HR API and by re-import, each with a dry run
that changes nothing. Mass revocation of a department."""

from __future__ import annotations

from pathlib import Path

from issuer_kit import bearer, employee, standard_staff, write_csv
from lifecycle_kit import Office
from typer.testing import CliRunner

from mobileid.cli import app as cli
from vc.status_list import INVALID, SUSPENDED


def _put(office: Office, record: dict, *, dry_run: bool = False, token: str | None = None):
    return office.client.put(
        f"/hr/employees/{record['employee_number']}",
        json=record,
        params={"dry_run": "true"} if dry_run else None,
        headers=bearer(token or office.tokens.admin),
    )


def _actions(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.text
    return [(a["employee_number"], a["action"], a["reason"]) for a in response.json()["actions"]]


def test_each_hr_change_over_the_api(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    moved, retired, dismissed, leave, promoted, same = (
        office.issue(n) for n in ("E1002", "E9000", "E9001", "E9002", "E9003", "E9004")
    )
    uri = moved.uri
    transfer = employee("E1002", name="김철수", department_code="D200", department="인사과")

    # dry run: the plan, and nothing changes
    etag = office.fetch(uri).headers["etag"]
    r = _put(office, transfer, dry_run=True)
    assert _actions(r) == [("E1002", "revoke_and_reoffer", "info_changed")]
    assert r.json()["dry_run"] is True
    assert set(r.json()["changed_fields"]) == {"department", "department_code"}
    assert office.fetch(uri).headers["etag"] == etag
    assert office.state_of(moved) == "active"
    hr = office.client.get("/hr/employees/E1002", headers=bearer(office.tokens.admin)).json()
    assert hr["department"] == "디지털정부과"
    assert office.pending_offers() == office.offers_seen

    # department change: revoked at once, a new offer goes to the phone it was issued to
    r = _put(office, transfer)
    assert _actions(r) == [("E1002", "revoke_and_reoffer", "info_changed")]
    assert r.json()["actions"][0]["application_id"]
    office.assert_published(uri, {moved.idx: INVALID})
    new = office.accept_offer("E1002")
    claims = office.verify(new)
    assert (claims["department"], claims["employee_number"]) == ("인사과", "E1002")
    office.assert_published(uri, {moved.idx: INVALID})

    expected = {moved.idx: INVALID}
    for issued, change, action in [
        (retired, {"employment_status": "퇴직"}, ("E9000", "revoke", "retired")),
        (dismissed, {"employment_status": "dismissed"}, ("E9001", "revoke", "dismissed")),
        (leave, {"employment_status": "휴직"}, ("E9002", "suspend", "leave_of_absence")),
        (
            promoted,
            {"grade": "5급", "position": "사무관"},
            ("E9003", "revoke_and_reoffer", "info_changed"),
        ),
    ]:
        number = issued.employee_number
        record = employee(number, name=f"직원{int(number[2:])}", **change)
        assert _actions(_put(office, record, dry_run=True)) == [action]
        office.assert_published(uri, expected)
        assert _actions(_put(office, record)) == [action]
        expected[issued.idx] = SUSPENDED if action[1] == "suspend" else INVALID
        office.assert_published(uri, expected)
    promoted_new = office.accept_offer("E9003")
    assert office.verify(promoted_new)["grade"] == "5급"

    # back from leave: reinstated
    back = employee("E9002", name="직원2")
    assert _actions(_put(office, back)) == [("E9002", "reinstate", "leave_ended")]
    del expected[leave.idx]
    office.assert_published(uri, expected)
    # an unchanged record, or a change to a field the credential does not carry: nothing
    assert _actions(_put(office, employee("E9004", name="직원4"))) == []
    assert _actions(_put(office, employee("E9004", name="직원4", phone="010-5555-4444"))) == []
    assert office.state_of(same) == "active"
    office.assert_published(uri, expected)

    # refusals: role, bad record, number mismatch; nothing changed
    etag = office.fetch(uri).headers["etag"]
    bad = [
        (
            _put(office, employee("E9004", name="x"), token=office.tokens.head_d100),
            403,
            "forbidden_role",
        ),
        (_put(office, employee("E9004", agency_code="12")), 400, "invalid_request"),
        (_put(office, employee("E9004", employment_status="vacation")), 400, "invalid_request"),
        (
            office.client.put(
                "/hr/employees/E9004", json=employee("E9005"), headers=bearer(office.tokens.admin)
            ),
            400,
            "invalid_request",
        ),
        (
            office.client.put(
                "/hr/employees/E9004", json=["x"], headers=bearer(office.tokens.admin)
            ),
            400,
            "invalid_request",
        ),
    ]
    for r, status, code in bad:
        assert (r.status_code, r.json()["error"]) == (status, code)
    assert office.fetch(uri).headers["etag"] == etag
    hr = office.client.get("/hr/employees/E9004", headers=bearer(office.tokens.admin)).json()
    assert hr["name"] == "직원4"


def test_reimport_with_dry_run_then_for_real(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    moved, retired, leave, untouched = (
        office.issue(n) for n in ("E1002", "E9000", "E9001", "E9002")
    )
    staff = standard_staff()
    for row in staff:
        match row["employee_number"]:
            case "E1002":
                row["department"] = "정보공개과"
            case "E9000":
                row["employment_status"] = "retired"
            case "E9001":
                row["employment_status"] = "leave"
    hr_file = write_csv(tmp_path / "hr2.csv", staff)
    runner = CliRunner()
    etag = office.fetch(moved.uri).headers["etag"]
    dry = runner.invoke(cli, ["hr", "import", str(hr_file), "--dry-run"], env=live_server.env)
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    assert "dry run" in text and "updated 3" in text
    for number, action in [
        ("E1002", "revoke_and_reoffer"),
        ("E9000", "revoke"),
        ("E9001", "suspend"),
    ]:
        assert number in text and action in text
    assert "E9002" not in text
    assert office.fetch(moved.uri).headers["etag"] == etag
    hr = office.client.get("/hr/employees/E1002", headers=bearer(office.tokens.admin)).json()
    assert hr["department"] == "디지털정부과"  # nothing written

    real = runner.invoke(cli, ["hr", "import", str(hr_file)], env=live_server.env)
    assert real.exit_code == 0, real.output
    office.assert_published(
        moved.uri, {moved.idx: INVALID, retired.idx: INVALID, leave.idx: SUSPENDED}
    )
    assert office.state_of(untouched) == "active"
    assert office.verify(office.accept_offer("E1002"))["department"] == "정보공개과"
    again = runner.invoke(cli, ["hr", "import", str(hr_file)], env=live_server.env)
    assert again.exit_code == 0 and "unchanged 17" in " ".join(again.output.split())


def test_mass_revocation_of_a_department(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    d100 = [office.issue(n) for n in ("E1001", "E1002", "E9000")]
    d200 = office.issue("E2001")
    assert office.act("suspend", d100[2], "investigation").status_code == 200
    uri = d200.uri
    runner = CliRunner()

    dry = runner.invoke(
        cli,
        ["issuer", "mass-revoke", "--department", "D100", "--reason", "other", "--dry-run"],
        env=live_server.env,
    )
    assert dry.exit_code == 0, dry.output
    assert "3 credential(s) of department:D100" in dry.output and "nothing changed" in dry.output
    office.assert_published(uri, {d100[2].idx: SUSPENDED})

    # the HR API: dry run, refusals
    def mass(**body):
        return office.client.post(
            "/hr/mass-actions", json=body, headers=bearer(body.pop("token", office.tokens.admin))
        )

    r = mass(action="revoke", department_code="D100", reason="other", dry_run=True)
    assert r.status_code == 200 and r.json()["matched"] == 3 and r.json()["changed"] == 0
    for body, status, code in [
        ({"action": "revoke", "reason": "other"}, 400, "invalid_scope"),
        (
            {
                "action": "revoke",
                "department_code": "D100",
                "agency_code": "1741000",
                "reason": "other",
            },
            400,
            "invalid_scope",
        ),
        (
            {"action": "delete", "department_code": "D100", "reason": "other"},
            400,
            "invalid_request",
        ),
        (
            {"action": "suspend", "department_code": "D100", "reason": "retired"},
            400,
            "invalid_reason",
        ),
        (
            {
                "action": "revoke",
                "department_code": "D100",
                "reason": "other",
                "token": office.tokens.head_d100,
            },
            403,
            "forbidden_role",
        ),
    ]:
        r = mass(**body)
        assert (r.status_code, r.json()["error"]) == (status, code)
    office.assert_published(uri, {d100[2].idx: SUSPENDED})

    done = runner.invoke(
        cli,
        [
            "issuer",
            "mass-revoke",
            "--department",
            "D100",
            "--reason",
            "other",
            "--batch-size",
            "2",
            "--comment",
            "보안 사고",
        ],
        env=live_server.env,
    )
    assert done.exit_code == 0, done.output
    assert "3 changed in 2 batch(es)" in done.output
    office.assert_published(uri, {i.idx: INVALID for i in d100})
    assert office.state_of(d200) == "active"
    again = mass(action="revoke", department_code="D100", reason="other")
    assert again.json() | {} == {
        "action": "revoke",
        "scope": "department:D100",
        "dry_run": False,
        "matched": 0,
        "changed": 0,
        "batches": 0,
    }

    # an agency-wide emergency suspension over the API
    r = mass(action="suspend", agency_code="1741000", reason="emergency")
    assert r.status_code == 200 and (r.json()["matched"], r.json()["changed"]) == (1, 1)
    office.assert_published(uri, {**{i.idx: INVALID for i in d100}, d200.idx: SUSPENDED})
