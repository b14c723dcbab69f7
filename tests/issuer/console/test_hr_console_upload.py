"""HR export upload in the console: the dry run shows who is added, what changed field by field,
who of the file's agencies is not in it and every problem with its line; "apply" applies exactly
the reviewed file (a changed one is refused), within the person's agencies, under a size cap."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hr_console_kit import AGENCY, OTHER_AGENCY, admin, csrf_of, hr_desk, officer
from issuer_kit import employee, standard_staff
from sqlalchemy import select

from issuer.models import AuditEntry, Employee


@pytest.fixture
def desk(server_env, monkeypatch, tmp_path: Path):
    env = dict(server_env, MOBILEID_CONSOLE_HR_UPLOAD_MAX_BYTES=str(64 * 1024))
    with hr_desk(env, monkeypatch, tmp_path) as desk:
        yield desk


def _csv(rows: list[dict[str, str]], *, comment: str = "") -> bytes:
    out = io.StringIO()
    if comment:
        out.write(f"# {comment}\n")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _upload(desk, data: bytes, name: str = "staff.csv"):
    token = csrf_of(desk.client.get("/console/hr/upload"))
    return desk.client.post(
        "/console/hr/upload",
        data={"csrf_token": token, "source": "central"},
        files={"file": (name, data, "text/csv")},
    )


def _digest(review) -> str:
    found = re.search(r'action="/console/hr/upload/([0-9a-f]{64})/apply"', review.text)
    assert found, review.text[:2000]
    return found.group(1)


def _apply(desk, digest: str, review_page: str = "/console/hr/upload"):
    token = csrf_of(desk.client.get(review_page))
    return desk.client.post(
        f"/console/hr/upload/{digest}/apply", data={"csrf_token": token, "confirmed": "yes"}
    )


def _employee(desk, number: str) -> Employee | None:
    with desk.server.runtime.unit_of_work() as s:
        found = s.scalar(select(Employee).where(Employee.employee_number == number))
        if found is not None:
            s.expunge(found)
        return found


def _staff_file() -> list[dict[str, str]]:
    """The agency's staff as HR exports them next: E1001 moved to 인사과, E1002 gone from the
    file, E7001 new; the rest as they were."""
    rows = [r for r in standard_staff() if r["employee_number"] != "E1002"]
    for row in rows:
        if row["employee_number"] == "E1001":
            row.update(department="인사과", department_code="D200")
    return [*rows, employee("E7001", name="신입사원")]


def test_dry_run_then_apply_exactly_that_file(desk) -> None:
    issued = desk.office.issue("E1001")
    desk.sign_in(admin("A7"))
    review = _upload(desk, _csv(_staff_file()))
    assert review.status_code == 200, review.text[:1000]
    text = review.text
    assert "E7001" in text and "신입사원" in text  # added
    assert "디지털정부과" in text and "인사과" in text and "D100" in text  # before -> after
    assert "E1002" in text and "김철수" in text  # left: in the agency, not in the file
    assert "revoke_and_reoffer" in text  # E1001's credential carries the department
    assert _employee(desk, "E7001") is None, "a dry run writes nothing"
    assert _employee(desk, "E1001").department_code == "D100"

    applied = _apply(desk, _digest(review))
    assert applied.status_code == 200, applied.text[:1000]
    assert "적용했습니다" in applied.text
    assert _employee(desk, "E7001") is not None
    assert _employee(desk, "E1001").department_code == "D200"
    assert _employee(desk, "E1002") is not None, "left employees stay as they were"
    assert desk.office.state_of(issued) == "revoked"
    with desk.server.runtime.unit_of_work() as s:
        imports = s.scalars(select(AuditEntry).where(AuditEntry.action == "hr.import")).all()
        assert [e.actor for e in imports][-1] == "console:A7"
        assert "console:A7" not in [e.actor for e in imports][:-1], "the dry run left none"
    again = _apply(desk, _digest(review))  # applied once: the upload is gone
    assert again.status_code == 404 and "hr_upload_not_found" in again.text


def test_problems_are_named_by_their_line_and_nothing_can_be_applied(desk) -> None:
    desk.sign_in(admin())
    rows = [
        employee("E7001"),
        employee("E7002", agency_code="12"),
        employee("E7001", name="중복"),
    ]
    review = _upload(desk, _csv(rows, comment="e-사람 export"))
    assert review.status_code == 422
    text = review.text
    # line 1 is the comment, 2 the header: the records are lines 3, 4 and 5
    assert re.search(r"<td>4</td><td>agency_code</td>", text), text
    assert re.search(r"<td>5</td><td>employee_number</td><td>duplicate of line 3", text)
    assert "/apply" not in text
    bad_header = _upload(desk, b"employee_number,shoe_size\nE1,42\n")
    assert bad_header.status_code == 422 and "unknown column" in bad_header.text
    not_utf8 = _upload(desk, "employee_number\n홍길동".encode("euc-kr"))
    assert not_utf8.status_code == 422 and "not UTF-8" in not_utf8.text


def test_a_file_changed_after_its_review_is_refused(desk) -> None:
    desk.sign_in(admin())
    review = _upload(desk, _csv([employee("E7001")]))
    digest = _digest(review)
    stored = desk.server.data_dir / "hr-uploads" / f"{digest}.csv"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert stored.parent.stat().st_mode & 0o777 == 0o700
    stored.write_bytes(_csv([employee("E7001"), employee("E7666", name="끼워넣기")]))
    refused = _apply(desk, digest)
    assert refused.status_code == 409 and "hr_upload_changed" in refused.text
    assert _employee(desk, "E7666") is None and _employee(desk, "E7001") is None
    assert _apply(desk, "0" * 64).status_code == 404
    assert _apply(desk, "../../etc").status_code == 404
    desk.sign_in(admin("A2"))  # somebody else's upload is not theirs to apply
    assert _apply(desk, digest).status_code == 404


def test_an_upload_expires(desk) -> None:
    desk.sign_in(admin())
    digest = _digest(_upload(desk, _csv([employee("E7001")])))
    desk.server.clock.advance(3600)  # MOBILEID_CONSOLE_HR_UPLOAD_TTL_S
    expired = _apply(desk, digest)
    assert expired.status_code == 404 and "hr_upload_not_found" in expired.text
    _upload(desk, _csv([employee("E7002")]))  # the next upload clears it away
    assert not (desk.server.data_dir / "hr-uploads" / f"{digest}.csv").exists()


def test_an_officer_uploads_their_agency_only(desk) -> None:
    desk.sign_in(officer(OTHER_AGENCY))
    rows = [
        employee("E5001", name="남궁외부", agency="통일부", agency_code=OTHER_AGENCY,
                 department="정책과", department_code="U200"),
        employee("E7001"),  # of AGENCY
        employee("E1001", agency="통일부", agency_code=OTHER_AGENCY),  # would take AGENCY's
    ]  # fmt: skip
    review = _upload(desk, _csv(rows))
    assert review.status_code == 422
    assert re.search(r"<td>3</td><td>agency_code</td><td>outside your agencies", review.text)
    assert re.search(r"<td>4</td><td>employee_number</td><td>an employee of another", review.text)
    alone = _upload(desk, _csv(rows[:1]))
    assert alone.status_code == 200 and "U200" in alone.text
    assert AGENCY not in alone.text.split("Left")[-1].split("</table>")[0]
    assert _apply(desk, _digest(alone)).status_code == 200
    assert _employee(desk, "E5001").department_code == "U200"


def test_size_cap_and_csrf(desk) -> None:
    desk.sign_in(admin())
    big = _csv([employee(f"E{n:05d}", name="가" * 40) for n in range(400)])
    assert len(big) > 64 * 1024
    refused = _upload(desk, big)
    assert refused.status_code == 413 and "hr_upload_too_large" in refused.text
    assert not list((desk.server.data_dir / "hr-uploads").glob("*.csv"))
    forged = desk.client.post(
        "/console/hr/upload",
        data={"csrf_token": "forged", "source": "central"},
        files={"file": ("a.csv", _csv([employee("E7001")]), "text/csv")},
    )
    assert forged.status_code == 403 and "csrf_failed" in forged.text
