"""The login administrator's console and the operator overview in a real browser: the pages as
a person sees them (the kit's CSS and JavaScript, CSP, no request leaving 127.0.0.1, the
`data-confirm` question before disabling a system), with screenshots. The person is stood in by
overriding `current_viewer`; signing in with the wallet is `test_sign_in.py`'s, and the login
console's own sign-in through its service is `test_login_console_signin.py`'s."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import shot
from fastapi import FastAPI, Request
from issuer_console_kit import issuer_settings, seed_staff
from playwright.sync_api import Dialog, Page, expect
from server_kit import Served, bound_socket, serve_app

from console.viewer import Grant, Viewer
from console.web import current_viewer
from mobileid.app import create_app
from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.login_app import create_login_app, open_login_console, open_login_service
from mobileid.settings import LoginSettings
from vc.private_files import write_private_file
from verifier.central import CentralConfig, RecordBatch
from verifier.oid4vp.outcomes import record_login
from verifier.trust import TrustedIssuer

pytestmark = pytest.mark.slow

ADMIN = Viewer("2019-031415", "김관리", (Grant("login_admin"), Grant("hr_admin")))


def _as(app: FastAPI, viewer: Viewer) -> None:
    async def signed_in(request: Request) -> Viewer:
        request.state.viewer = viewer  # as the kit's sign-in does: the header and nav show them
        return viewer

    app.dependency_overrides[current_viewer] = signed_in


@pytest.fixture
def login_console(tmp_path: Path, database_url: str) -> Iterator[tuple[str, Any]]:
    token = tmp_path / "grant-token"
    write_private_file(token, b"grant-reader-token")
    served = Served(None)
    settings = LoginSettings(
        base_url=f"http://localhost:{served.port}",
        database_url=database_url,
        data_dir=tmp_path / "login",
        client_id_prefix="redirect_uri",
        trusted_issuers=["http://127.0.0.1:9"],
        allow_insecure_loopback=True,
        console_client_id="login-console",
        console_issuer_url="http://127.0.0.1:9",
        console_grant_token_file=token,
    )
    service = open_login_service(settings)
    with service.runtime.unit_of_work() as db:
        for i, (outcome, number) in enumerate(
            [("ok", "2019-031415"), ("revoked", "2020-000123"), ("ok", "2018-004321")]
        ):
            record_login(
                db,
                system="mid_mail",
                session_id=f"s{i}",
                now=time.time() - 60 * i,
                outcome=outcome,
                flow="cross_device",
                employee_number=number,
            )
    served.app = create_login_app(service, purge=False, console=open_login_console(settings))
    _as(served.app, ADMIN)
    served.start()
    try:
        yield settings.base_url, service
    finally:
        served.stop()
        service.engine.dispose()


def test_the_login_administrator_adds_a_system_and_disables_it(
    login_console: tuple[str, Any], page: Page
) -> None:
    url, _ = login_console
    response = page.goto(f"{url}/admin/clients")
    assert (
        response is not None
        and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    )
    expect(page.locator("h1")).to_contain_text("업무시스템")
    expect(page.locator("nav.nav")).to_contain_text("로그인 기록 / Login records")
    page.get_by_label("이름 / Name").fill("전자결재 / e-approval")
    page.locator("textarea[name=redirect_uris]").fill("https://approval.example.go.kr/cb")
    page.locator("input[name=claim][value=grade]").check()
    shot(page, "login-admin-clients")
    page.get_by_role("button", name="등록 / Add").click()
    secret = page.locator("#client-secret")
    expect(secret).to_be_visible()
    assert len(secret.inner_text()) >= 40
    expect(page.locator("p.notice")).to_contain_text("한 번만")
    shot(page, "login-admin-client-added")
    client_id = page.locator("#client-id").inner_text()

    page.get_by_role("link", name="상세 보기 / Details").click()
    expect(page.locator("#state")).to_contain_text("사용 / Enabled")
    questions: list[str] = []

    def answer(dialog: Dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))  # the person changes their mind
    page.locator("#toggle").click()
    expect(page.locator("#state")).to_contain_text("사용 / Enabled")
    page.once("dialog", lambda d: answer(d, True))
    page.locator("#toggle").click()
    expect(page.locator("#state")).to_contain_text("중지 / Disabled")
    assert len(questions) == 2 and "로그인을 중지" in questions[0]
    expect(page.locator("table")).to_contain_text("client.disable")
    shot(page, "login-admin-client")
    assert secret_not_anywhere(page, url, client_id)

    page.goto(f"{url}/admin/records")
    expect(page.locator("#records")).to_contain_text("2020-000123")
    page.locator("select[name=outcome]").select_option("revoked")
    page.get_by_role("button", name="찾기 / Find").click()
    expect(page.locator("p.hint")).to_contain_text("1 건")
    shot(page, "login-admin-records")


def secret_not_anywhere(page: Page, url: str, client_id: str) -> bool:
    """Neither the list nor the system's page shows a secret again."""
    for path in ("/admin/clients", f"/admin/clients/{client_id}", "/admin/audit"):
        page.goto(f"{url}{path}")
        if page.locator("#client-secret").count():
            return False
    return True


def _login_double() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "issuer": "http://localhost", "status_list_ages": []}

    return app


def test_the_operator_overview_shows_a_service_down(
    tmp_path: Path, database_url: str, page: Page
) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
    central = open_central_service(
        CentralConfig(trusted_issuers=(TrustedIssuer("http://127.0.0.1:9"),)),
        engine=engine,
        client=None,
    )
    central.receive_records(RecordBatch(gate_id="sejong-06-east-01", records=[]))
    central.clock = lambda: time.time() - 900
    central.receive_records(RecordBatch(gate_id="seoul-01-west-02", records=[]))
    dead = bound_socket()
    try:
        with (
            serve_app(_login_double()) as login,
            serve_app(create_central_app(central)) as central_served,
        ):
            served = Served(None)
            settings = issuer_settings(
                tmp_path,
                database_url,
                issuer_base_url=served.url,
                console_login_url="http://127.0.0.1:9",  # never asked: the viewer is stood in
                console_client_id="issuer-console",
                ops_login_url=login.url,
                ops_central_url=central_served.url,
                ops_gate_urls=[f"http://127.0.0.1:{dead.getsockname()[1]}"],
            )
            app = create_app(settings, run_outbox=False)
            seed_staff(app)
            _as(app, ADMIN)
            served.app = app
            served.start()
            try:
                page.goto(f"{served.url}/console/ops")
                expect(page.locator('#services tr[data-kind="gate"]')).to_contain_text(
                    "연결 실패 / cannot connect"
                )
                expect(page.locator('#services tr[data-up="true"]')).to_have_count(3)
                expect(page.locator('#gates tr[data-online="false"]')).to_contain_text(
                    "seoul-01-west-02"
                )
                expect(page.locator("#ops")).to_have_attribute("data-autorefresh", "15")
                shot(page, "operator-overview")
            finally:
                served.stop()
    finally:
        dead.close()
        central.close()
        engine.dispose()
