"""`GET /console/api/grants/{employee_number}` on the served issuer: a `grant_reader` token (or
`hr_admin`) reads grants and nothing else; every other token is refused (issue 19)."""

from __future__ import annotations

from pathlib import Path

from issuer_kit import AGENCY, bearer, seed
from sqlalchemy import update
from typer.testing import CliRunner

from issuer.grants import grant_role, revoke_grant
from issuer.models import Employee
from mobileid.cli import app as cli
from schemas.console_api import EmployeeGrantsView


def _reader_token(server) -> str:
    result = CliRunner().invoke(
        cli, ["admin", "grant-reader-token", "--label", "gate-1"], env=server.env
    )
    assert result.exit_code == 0, result.output
    assert "grant_reader" in result.output
    return result.output.strip().splitlines()[-1]


def test_grant_readers_read_grants(live_server, tmp_path: Path) -> None:
    tokens = seed(live_server, tmp_path)
    reader = _reader_token(live_server)
    rt = live_server.runtime
    with rt.unit_of_work() as s:
        for role, scope in (
            ("hr_officer", AGENCY),
            ("department_head", "D100"),
            ("gate_operator", None),
        ):
            grant_role(
                s, employee_number="E1001", role=role, scope=scope, actor="cli", now=rt.clock()
            )
    for token in (reader, tokens.admin):
        r = live_server.client.get("/console/api/grants/E1001", headers=bearer(token))
        assert r.status_code == 200, r.text
        view = EmployeeGrantsView.model_validate(r.json())
        assert (view.employee_number, view.name) == ("E1001", "홍길동")
        assert [(g.role, g.scope) for g in view.grants] == [
            ("department_head", "D100"),
            ("gate_operator", None),
            ("hr_officer", AGENCY),
        ]
    with rt.unit_of_work() as s:  # a revocation shows at the next read
        revoke_grant(
            s, employee_number="E1001", role="gate_operator", scope=None, actor="cli",
            now=rt.clock(),
        )  # fmt: skip
        grant_role(
            s, employee_number="E1002", role="hr_admin", scope=None, actor="cli", now=rt.clock()
        )
        s.flush()  # E1002 leaves: the grant stays as history and counts for nothing
        s.execute(
            update(Employee)
            .where(Employee.employee_number == "E1002")
            .values(employment_status="retired")
        )
    r = live_server.client.get("/console/api/grants/E1001", headers=bearer(reader))
    assert [g["role"] for g in r.json()["grants"]] == ["department_head", "hr_officer"]
    r = live_server.client.get("/console/api/grants/E1002", headers=bearer(reader))
    assert r.json() == {"employee_number": "E1002", "name": "김철수", "grants": []}
    r = live_server.client.get("/console/api/grants/E0000", headers=bearer(reader))
    assert (r.status_code, r.json()["error"]) == (404, "employee_not_found")
    r = live_server.client.get("/console/api/grants/" + "9" * 300, headers=bearer(reader))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_other_tokens_are_refused(live_server, tmp_path: Path) -> None:
    tokens = seed(live_server, tmp_path)
    reader = _reader_token(live_server)
    for token in (tokens.head_d100, tokens.officer, tokens.e1001):
        r = live_server.client.get("/console/api/grants/E1001", headers=bearer(token))
        assert (r.status_code, r.json()["error"]) == (403, "forbidden_role"), r.text
    r = live_server.client.get("/console/api/grants/E1001")
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    r = live_server.client.get("/console/api/grants/E1001", headers=bearer("mid_forged"))
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    # A grant reader may read grants and nothing else.
    for method, path in (
        ("GET", "/hr/me"),
        ("GET", "/hr/applications"),
        ("GET", "/hr/employees/E1001"),
        ("GET", "/hr/employees/E1001/credentials"),
    ):
        r = live_server.client.request(method, path, headers=bearer(reader))
        assert (r.status_code, r.json()["error"]) == (403, "forbidden_role"), (path, r.text)
    r = live_server.client.post(
        "/hr/applications", json={"employee_number": "E1001", "phone": "010-1234-5678"},
        headers=bearer(reader),
    )  # fmt: skip
    assert (r.status_code, r.json()["error"]) == (403, "forbidden_role")
