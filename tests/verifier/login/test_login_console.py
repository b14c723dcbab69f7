"""The login administrator's console (`/admin`): business systems and login records, with the
signed-in person stood in by overriding `current_viewer` (sign-in itself is the kit's, tested
there and in the browser scenarios)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from gate_kit import Clock
from server_kit import Served
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from console.viewer import Grant, Viewer
from console.web import current_viewer
from mobileid.login_app import create_login_app, open_login_console, open_login_service
from mobileid.settings import LoginSettings
from verifier.login.audit import admin_actions
from verifier.login.clients import get_client
from verifier.login.console import KST
from verifier.login.models import login_audit
from verifier.login.service import LoginService
from verifier.oid4vp.models import login_records
from verifier.oid4vp.outcomes import record_login

ADMIN = Viewer("E1001", "김관리", (Grant("login_admin"),))
HR = Viewer("E2002", "이인사", (Grant("hr_admin"), Grant("gate_operator")))
RP = "https://rp.example.go.kr/callback"


@dataclass
class Admin:
    app: FastAPI
    service: LoginService
    browser: httpx.Client
    clock: Clock

    def as_(self, viewer: Viewer) -> None:
        self.app.dependency_overrides[current_viewer] = lambda: viewer

    def csrf(self, path: str = "/admin/clients") -> str:
        page = self.browser.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)

    def post(self, path: str, data: dict[str, Any], *, csrf: bool = True) -> Any:
        body = {**data, "csrf_token": self.csrf()} if csrf else data
        return self.browser.post(path, data=body, follow_redirects=False)

    def add(self, **values: Any) -> tuple[str, str | None]:
        values.setdefault("name", "전자결재 / e-approval")
        values.setdefault("redirect_uris", RP)
        values.setdefault("claim", ["name", "department"])
        page = self.post("/admin/clients", values)
        assert page.status_code == 201, page.text
        client_id = re.search(r'id="client-id">([^<]+)<', page.text)
        secret = re.search(r'id="client-secret">([^<]+)<', page.text)
        assert client_id is not None
        return client_id.group(1), secret.group(1) if secret else None

    def audit(self) -> list[Any]:
        with self.service.runtime.unit_of_work() as db:
            return admin_actions(db)[0]


def login_settings(tmp_path: Path, database_url: str, **values: Any) -> LoginSettings:
    token = tmp_path / "grant-token"
    token.write_text("grant-reader-token\n")
    token.chmod(0o600)
    defaults: dict[str, Any] = {
        "base_url": "http://localhost:8300",
        "database_url": database_url,
        "data_dir": tmp_path / "login",
        "client_id_prefix": "redirect_uri",
        "console_client_id": "login-console",
        "console_issuer_url": "http://127.0.0.1:9",
        "console_grant_token_file": token,
        "allow_insecure_loopback": True,
        "trusted_issuers": ["http://127.0.0.1:9"],  # never asked: no wallet answers here
    }
    return LoginSettings(**{**defaults, **values})


@pytest.fixture
def admin(tmp_path: Path, database_url: str) -> Iterator[Admin]:
    clock = Clock()
    settings = login_settings(tmp_path, database_url)
    service = open_login_service(settings, clock=clock)
    console = open_login_console(settings)
    assert console is not None
    app = create_login_app(service, purge=False, console=console)
    served = Served(app).start()
    try:
        url = served.url.replace("127.0.0.1", "localhost")
        with httpx.Client(base_url=url, timeout=10) as browser:
            world = Admin(app, service, browser, clock)
            world.as_(ADMIN)
            yield world
    finally:
        served.stop()
        service.engine.dispose()


def test_a_new_systems_secret_is_shown_once_and_kept_only_as_a_digest(admin: Admin) -> None:
    page = admin.post(
        "/admin/clients",
        {"name": "인사 시스템 / HR", "redirect_uris": RP, "claim": ["name", "picture"]},
    )
    assert page.status_code == 201 and "no-store" in page.headers["cache-control"]
    client_id = re.search(r'id="client-id">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="client-secret">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    assert "한 번만" in page.text and len(secret) >= 40
    with admin.service.runtime.unit_of_work() as db:
        stored = get_client(db, client_id)
    assert stored is not None and secret not in stored.secret_hash
    assert stored.allowed_claims == ("name", "picture") and stored.redirect_uris == (RP,)
    for path in ("/admin/clients", f"/admin/clients/{client_id}", "/admin/audit"):
        shown = admin.browser.get(path)
        assert shown.status_code == 200 and client_id in shown.text and secret not in shown.text
    [entry] = admin.audit()
    assert (entry.actor, entry.action, entry.target) == ("console:E1001", "client.add", client_id)
    assert secret not in str(entry.details) and entry.details["allowed_claims"] == [
        "name",
        "picture",
    ]
    public_id, public_secret = admin.add(public="on")
    assert public_secret is None and public_id != client_id
    for rewrite in (update(login_audit).values(actor="someone else"), delete(login_audit)):
        with (  # the database refuses, too
            pytest.raises(DBAPIError, match="append-only"),
            admin.service.runtime.unit_of_work() as db,
        ):
            db.execute(rewrite)
    assert len(admin.audit()) == 2


def test_a_system_disabled_in_the_console_cannot_log_in(admin: Admin) -> None:
    client_id, _ = admin.add()
    authorize = {
        "response_type": "code",
        "client_id": client_id,
        "scope": "openid",
        "redirect_uri": RP,
        "state": "s1",
        "code_challenge": "A" * 43,
        "code_challenge_method": "S256",
    }
    first = admin.browser.get("/authorize", params=authorize)
    assert first.status_code == 200, first.headers.get("location")
    done = admin.post(f"/admin/clients/{client_id}/enabled", {"enabled": "false"})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/clients/{client_id}"
    assert "중지 / Disabled" in admin.browser.get(f"/admin/clients/{client_id}").text
    admin.clock.advance(admin.service.config.client_cache_s + 1)
    refused = admin.browser.get("/authorize", params=authorize)
    assert refused.status_code == 400 and "로그인할 수 없습니다" in refused.text
    admin.post(f"/admin/clients/{client_id}/enabled", {"enabled": "true"})
    admin.clock.advance(admin.service.config.client_cache_s + 1)
    assert admin.browser.get("/authorize", params=authorize).status_code == 200
    actions = [(e.actor, e.action) for e in admin.audit()]
    assert actions[:2] == [("console:E1001", "client.enable"), ("console:E1001", "client.disable")]


def test_claims_and_redirect_uris_are_validated_and_audited(admin: Admin) -> None:
    client_id, _ = admin.add()
    path = f"/admin/clients/{client_id}"
    refused = admin.post(f"{path}/claims", {"claim": ["name", "home_address"]})
    assert refused.status_code == 400 and "unknown_claims" in refused.text
    assert "home_address" in refused.text and "성명 / Name" in refused.text
    bad_uri = admin.post(f"{path}/redirect-uris", {"redirect_uris": "http://rp.example.go.kr/cb"})
    assert bad_uri.status_code == 400 and "invalid_client_metadata" in bad_uri.text
    empty = admin.post(f"{path}/redirect-uris", {"redirect_uris": "  \n "})
    assert empty.status_code == 400 and "invalid_client_metadata" in empty.text
    assert [e.action for e in admin.audit()] == ["client.add"]  # nothing half-written
    saved = admin.post(f"{path}/claims", {"claim": ["name", "grade", "employee_number"]})
    assert saved.status_code == 303
    uris = f"{RP}\nhttp://127.0.0.1:8080/cb\n{RP}"
    assert admin.post(f"{path}/redirect-uris", {"redirect_uris": uris}).status_code == 303
    with admin.service.runtime.unit_of_work() as db:
        stored = get_client(db, client_id)
    assert stored is not None and stored.allowed_claims == ("name", "grade", "employee_number")
    assert stored.redirect_uris == (RP, "http://127.0.0.1:8080/cb")
    uris_entry, claims_entry, _ = admin.audit()
    assert claims_entry.details == {
        "before": ["name", "department"],
        "after": ["name", "grade", "employee_number"],
    }
    assert uris_entry.action == "client.redirect_uris" and uris_entry.details["before"] == [RP]
    assert admin.browser.get("/admin/clients/mid_nobody").status_code == 404
    missing = admin.post("/admin/clients/mid_nobody/claims", {"claim": ["name"]})
    assert missing.status_code == 404 and "client_not_found" in missing.text


def test_a_bad_registration_is_refused_with_its_code_and_the_form_kept(admin: Admin) -> None:
    page = admin.post(
        "/admin/clients", {"name": "회계 / Accounting", "redirect_uris": RP, "claim": ["ssn"]}
    )
    assert page.status_code == 400 and "unknown_claims" in page.text and "ssn" in page.text
    assert "회계 / Accounting" in page.text and 'id="client-secret"' not in page.text
    with admin.service.runtime.unit_of_work() as db:
        assert db.execute(select(login_audit)).first() is None
    no_name = admin.post("/admin/clients", {"name": " ", "redirect_uris": RP})
    assert no_name.status_code == 400 and "invalid_client_metadata" in no_name.text


def test_without_the_role_every_page_is_403_and_shows_no_data(admin: Admin) -> None:
    client_id, _ = admin.add(name="비밀 시스템 / Hidden system")
    admin.as_(HR)
    for path in ("/admin", "/admin/clients", f"/admin/clients/{client_id}", "/admin/records"):
        page = admin.browser.get(path, follow_redirects=False)
        assert page.status_code == 403 and "forbidden_role" in page.text, path
        assert "Hidden system" not in page.text and client_id not in page.text
    refused = admin.browser.post(
        f"/admin/clients/{client_id}/enabled", data={"enabled": "false"}, follow_redirects=False
    )
    assert refused.status_code == 403
    admin.as_(ADMIN)
    assert "사용 / Enabled" in admin.browser.get(f"/admin/clients/{client_id}").text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(admin: Admin) -> None:
    client_id, _ = admin.add()
    admin.csrf()  # the session has a token; the form below does not carry it
    for path, data in (
        ("/admin/clients", {"name": "x", "redirect_uris": RP}),
        (f"/admin/clients/{client_id}/enabled", {"enabled": "false"}),
        (f"/admin/clients/{client_id}/claims", {"claim": ["name"]}),
        (f"/admin/clients/{client_id}/claims", {"claim": ["name"], "csrf_token": "forged"}),
    ):
        refused = admin.post(path, data, csrf=False)
        assert refused.status_code == 403 and "csrf_failed" in refused.text, path
    with admin.service.runtime.unit_of_work() as db:
        stored = get_client(db, client_id)
    assert stored is not None and stored.enabled and stored.allowed_claims == ("name", "department")
    assert [e.action for e in admin.audit()] == ["client.add"]


def _kst_noon(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=KST).timestamp()


def test_login_records_are_found_by_system_employee_date_and_outcome(admin: Admin) -> None:
    first, _ = admin.add(name="전자결재 / e-approval")
    second, _ = admin.add(name="메일 / Mail")
    with admin.service.runtime.unit_of_work() as db:
        for i in range(60):
            record_login(
                db,
                system=first,
                session_id=f"s{i}",
                now=_kst_noon("2026-11-02") + i,
                outcome="ok",
                flow="cross_device",
                employee_number="E3003",
            )
        record_login(
            db,
            system=second,
            session_id="r1",
            now=_kst_noon("2026-11-03"),
            outcome="revoked",
            flow="same_device",
            employee_number="E4004",
        )
    everything = admin.browser.get("/admin/records")
    assert everything.status_code == 200 and "61 건" in everything.text
    assert 'rel="next"' in everything.text and "1 / 2" in everything.text
    assert "폐지된 공무원증 / credential revoked" in everything.text  # the reason, labelled
    second_page = admin.browser.get("/admin/records", params={"page": "2"})
    assert second_page.text.count("E3003") == 11
    revoked = admin.browser.get("/admin/records", params={"outcome": "revoked"})
    assert "1 건" in revoked.text and "E4004" in revoked.text and "E3003" not in revoked.text
    by_system = admin.browser.get("/admin/records", params={"client": second, "employee": "E4004"})
    assert "1 건" in by_system.text
    by_day = admin.browser.get("/admin/records", params={"from": "2026-11-03", "to": "2026-11-03"})
    assert "1 건" in by_day.text and "2026-11-03 12:00:00" in by_day.text
    day_before = admin.browser.get("/admin/records", params={"to": "2026-11-02"})
    assert "60 건" in day_before.text
    for params in ({"from": "11/03/2026"}, {"page": "0"}, {"page": "x"}, {"to": "2026-13-01"}):
        bad = admin.browser.get("/admin/records", params=params)
        assert bad.status_code == 400 and "invalid_filter" in bad.text, params
    with admin.service.runtime.unit_of_work() as db:
        assert len(db.execute(select(login_records)).all()) == 61


def test_the_console_is_off_unless_configured(tmp_path: Path, database_url: str) -> None:
    settings = login_settings(tmp_path, database_url, console_client_id=None)
    assert open_login_console(settings) is None
    service = open_login_service(settings)
    served = Served(create_login_app(service, purge=False)).start()
    try:
        assert httpx.get(f"{served.url}/admin/clients").status_code == 404
    finally:
        served.stop()
        service.engine.dispose()
