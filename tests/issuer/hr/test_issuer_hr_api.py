"""HR API roles and scopes, application states, and concurrent approval."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from issuer_kit import apply_and_approve, bearer, seed
from sqlalchemy import func, select

from issuer.models import Offer, OutboxMessage


@pytest.fixture
def hr(live_server, tmp_path: Path):
    return live_server, seed(live_server, tmp_path)


def _error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == code, r.text


def _apply(client, token: str, **body) -> httpx.Response:
    return client.post(
        "/hr/applications", json={"phone": "010-1234-5678", **body}, headers=bearer(token)
    )


def test_authentication(hr) -> None:
    server, _tokens = hr
    r = server.client.get("/hr/applications")
    _error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    _error(server.client.get("/hr/applications", headers=bearer("mid_nope")), 401, "unauthorized")
    _error(
        server.client.get("/hr/applications", headers={"Authorization": "Basic eA=="}),
        401,
        "unauthorized",
    )


def test_whoami(hr) -> None:
    server, tokens = hr
    me = server.client.get("/hr/me", headers=bearer(tokens.head_d100)).json()
    assert me == {
        "role": "department_head",
        "department_code": "D100",
        "agency_code": None,
        "employee_number": None,
    }


def test_employee_applies_for_self_only(hr) -> None:
    server, tokens = hr
    _error(_apply(server.client, tokens.e1001, employee_number="E1002"), 403, "forbidden_scope")
    r = _apply(server.client, tokens.e1001)
    assert r.status_code == 201 and r.json()["employee_number"] == "E1001"
    _error(_apply(server.client, tokens.e1001), 409, "application_open")


def test_department_head_cannot_apply_and_employee_cannot_approve(hr) -> None:
    server, tokens = hr
    _error(_apply(server.client, tokens.head_d100, employee_number="E1001"), 403, "forbidden_role")
    app_id = _apply(server.client, tokens.e1001).json()["id"]
    _error(
        server.client.post(
            f"/hr/applications/{app_id}/approve", json={}, headers=bearer(tokens.e1001)
        ),
        403,
        "forbidden_role",
    )


def test_head_of_another_department_cannot_decide(hr) -> None:
    server, tokens = hr
    app_id = _apply(server.client, tokens.e1001).json()["id"]
    for action in ("approve", "reject"):
        _error(
            server.client.post(
                f"/hr/applications/{app_id}/{action}",
                json={"comment": "x"},
                headers=bearer(tokens.head_d200),
            ),
            404,
            "application_not_found",
        )
    _error(
        server.client.get(f"/hr/applications/{app_id}", headers=bearer(tokens.head_d200)),
        404,
        "application_not_found",
    )
    assert server.client.get("/hr/applications", headers=bearer(tokens.head_d200)).json() == []
    listed = server.client.get("/hr/applications", headers=bearer(tokens.head_d100)).json()
    assert [a["id"] for a in listed] == [app_id]


def test_agency_officer_scope(hr) -> None:
    server, tokens = hr
    r = _apply(server.client, tokens.officer, employee_number="E3001")
    assert r.status_code == 201, r.text
    _error(
        _apply(server.client, tokens.officer, employee_number="E1002"), 404, "employee_not_found"
    )
    _error(_apply(server.client, tokens.officer), 400, "invalid_request")


def test_application_rules(hr) -> None:
    server, tokens = hr
    _error(_apply(server.client, tokens.admin, employee_number="E4001"), 409, "employee_not_active")
    _error(_apply(server.client, tokens.admin, employee_number="X0000"), 404, "employee_not_found")
    _error(_apply(server.client, tokens.e1001, phone="02-123-4567"), 400, "invalid_request")
    _error(_apply(server.client, tokens.e1001, reason="because"), 400, "invalid_request")
    app_id = _apply(server.client, tokens.e1001).json()["id"]
    path = f"/hr/applications/{app_id}"
    _error(
        server.client.post(
            path + "/reject", json={"comment": " "}, headers=bearer(tokens.head_d100)
        ),
        400,
        "invalid_request",
    )
    r = server.client.post(
        path + "/reject", json={"comment": "사진 불일치"}, headers=bearer(tokens.head_d100)
    )
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert r.json()["decision_comment"] == "사진 불일치" and r.json()["offer"] is None
    _error(
        server.client.post(path + "/approve", json={}, headers=bearer(tokens.head_d100)),
        409,
        "application_not_pending",
    )
    _error(
        server.client.get("/hr/applications/nope", headers=bearer(tokens.admin)),
        404,
        "application_not_found",
    )
    assert _apply(server.client, tokens.e1001).status_code == 201  # rejected is not open


def test_approved_application_blocks_until_offer_dies(hr) -> None:
    server, tokens = hr
    apply_and_approve(server.client, tokens, applicant=tokens.e1002)
    _error(_apply(server.client, tokens.e1002), 409, "application_open")
    server.clock.advance(72 * 3600 + 1)  # the offer expired unused: the application lapses
    assert _apply(server.client, tokens.e1002).status_code == 201
    states = sorted(
        a["state"]
        for a in server.client.get("/hr/applications", headers=bearer(tokens.e1002)).json()
    )
    assert states == ["lapsed", "pending"]


def test_concurrent_double_approval_yields_one_offer(hr) -> None:
    server, tokens = hr
    app_id = _apply(server.client, tokens.e1001).json()["id"]
    barrier = threading.Barrier(2)
    results: list[httpx.Response] = []

    def approve(token: str) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            barrier.wait()
            results.append(
                client.post(
                    f"/hr/applications/{app_id}/approve",
                    json={"comment": "ok"},
                    headers=bearer(token),
                )
            )

    threads = [
        threading.Thread(target=approve, args=(t,)) for t in (tokens.head_d100, tokens.admin)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 409]
    assert [r.json()["error"] for r in results if r.status_code == 409] == [
        "application_not_pending"
    ]
    with server.runtime.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Offer)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_employee_view(hr) -> None:
    server, tokens = hr
    r = server.client.get("/hr/employees/E1001", headers=bearer(tokens.e1001))
    assert r.status_code == 200 and r.json()["hr_source"] == "e-saram"
    _error(
        server.client.get("/hr/employees/E1002", headers=bearer(tokens.e1001)),
        404,
        "employee_not_found",
    )
