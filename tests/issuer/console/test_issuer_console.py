"""The issuer's console: mounted when a login service is configured, people signed in with the
mobile ID, their roles from HR data (and grants), the home page by role, and the settings."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from issuer_console_kit import issuer_settings, seed_staff, served_issuer, write_secret
from issuer_kit import employee
from login_kit import login_world
from server_kit import Served, serve_app
from signin_kit import World, register_console

from console.viewer import Grant, Viewer
from console.web import current_viewer
from issuer.console.roles import console_grants
from mobileid.app import create_app
from mobileid.console_setup import SESSION_KEY_FILE
from mobileid.settings import SettingsError


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    login_db = f"sqlite:///{tmp_path / 'login.sqlite3'}"
    with login_world(tmp_path, login_db) as login:
        served = Served(None)
        new = register_console(login, served.url)
        with (
            served_issuer(
                tmp_path,
                database_url,
                login_url=login.url,
                client_id=new.client.client_id,
                secret=new.secret,
                served=served,
            ),
            httpx.Client(timeout=10) as browser,
        ):
            yield World(login, served.url, browser)


def test_an_employee_signs_in_with_the_mobile_id(world: World, tmp_path: Path) -> None:
    home = world.sign_in(tmp_path, "/console", number="E1001")
    assert home.status_code == 200
    assert "홍길동" in home.text and "E1001" in home.text
    assert 'href="/console/me"' in home.text and "내 모바일 공무원증 / My mobile ID" in home.text
    assert 'href="/console/inbox"' not in home.text and 'href="/console/hr"' not in home.text
    assert "직원 / Employee" in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert world.session()["who"]["amr"] == ["vc"]


def test_someone_on_leave_signs_in_to_no_role(world: World, tmp_path: Path) -> None:
    home = world.sign_in(tmp_path, "/console", number="E4001")  # 휴직 in HR data
    assert home.status_code == 200
    assert "권한이 없습니다" in home.text and 'class="card"' not in home.text


def test_the_home_page_shows_each_role_its_areas(tmp_path: Path, database_url: str) -> None:
    settings = issuer_settings(
        tmp_path, database_url, console_login_url="http://127.0.0.1:9", console_client_id="c"
    )
    app = create_app(settings, run_outbox=False)
    try:
        grants = (Grant("employee"), Grant("department_head", "D100"), Grant("gate_operator"))
        app.dependency_overrides[current_viewer] = lambda: Viewer("E1001", "홍길동", grants)
        with serve_app(app) as served, httpx.Client(base_url=served.url) as client:
            page = client.get("/console")
        assert page.status_code == 200
        for href in ("/console/me", "/console/inbox"):
            assert f'href="{href}"' in page.text
        assert 'href="/console/hr"' not in page.text and 'href="/console/ops"' not in page.text
        assert "부서장 / Department head · D100" in page.text
    finally:
        app.state.runtime.close()


def test_roles_come_from_hr_data(tmp_path: Path, database_url: str) -> None:
    app = create_app(issuer_settings(tmp_path, database_url), run_outbox=False)
    try:
        seed_staff(app, [employee("E1001"), employee("E4001", employment_status="휴직")])
        seed_staff(app, [employee("E7001", retirement_date="2020-06-30")])
        now = datetime(2026, 12, 1, tzinfo=UTC)
        with app.state.runtime.unit_of_work() as session:
            assert console_grants(session, "E1001", now) == [Grant("employee")]
            assert console_grants(session, "E4001", now) == []  # on leave
            assert console_grants(session, "E7001", now) == []  # retired
            assert console_grants(session, "E0000", now) == []  # unknown
    finally:
        app.state.runtime.close()


def test_without_a_login_service_there_is_no_console(tmp_path: Path, database_url: str) -> None:
    app = create_app(issuer_settings(tmp_path, database_url), run_outbox=False)
    try:
        with serve_app(app) as served, httpx.Client(base_url=served.url) as client:
            answer = client.get("/console")
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"
        assert not (tmp_path / "data" / SESSION_KEY_FILE).exists()
    finally:
        app.state.runtime.close()


def test_the_session_key_is_private_and_shared(tmp_path: Path, database_url: str) -> None:
    values = {"console_login_url": "http://127.0.0.1:9", "console_client_id": "c"}
    keys = []
    for _ in range(2):  # two workers of one deployment
        app = create_app(issuer_settings(tmp_path, database_url, **values), run_outbox=False)
        keys.append(app.state.console.session_secret)
        app.state.runtime.close()
    path = tmp_path / "data" / SESSION_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys[0] == keys[1] and len(keys[0]) == 32


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"console_client_id": None}, "client id"),
        ({"console_client_secret_file": "missing"}, "cannot read"),
        ({"console_client_secret_file": "open"}, "open to group or others"),
    ],
)
def test_a_console_set_up_wrong_stops_the_start(
    tmp_path: Path, database_url: str, values: dict[str, str | None], message: str
) -> None:
    settings = {"console_login_url": "http://127.0.0.1:9", "console_client_id": "c", **values}
    if values.get("console_client_secret_file") == "open":
        settings["console_client_secret_file"] = str(
            write_secret(tmp_path / "open", "s3cret", mode=0o644)
        )
    elif values.get("console_client_secret_file") == "missing":
        settings["console_client_secret_file"] = str(tmp_path / "missing")
    with pytest.raises(SettingsError, match=message):
        create_app(issuer_settings(tmp_path, database_url, **settings), run_outbox=False)


def test_cookies_are_secure_unless_the_issuer_is_on_loopback_http(
    tmp_path: Path, database_url: str
) -> None:
    values = {"console_login_url": "https://login.example.go.kr", "console_client_id": "c"}
    for base, secure in (("http://127.0.0.1:8000", False), ("https://id.example.go.kr", True)):
        settings = issuer_settings(tmp_path, database_url, issuer_base_url=base, **values)
        app = create_app(settings, run_outbox=False)
        assert app.state.console.secure_cookies is secure
        app.state.runtime.close()
