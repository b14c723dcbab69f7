"""The operator overview (`/console/ops`): every service's health, the gates online and offline
as the central verifier knows them, the status lists' ages and the revocation feed, with one
service down (shown down with why, never a 500) and without the role (403, no data)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from console_kit import Roles
from fastapi import FastAPI
from server_kit import bound_socket, serve_app

from console.viewer import Grant, Viewer
from console.web import Console, SignInConfig, current_viewer
from issuer.console.ops import TEMPLATES, ops_router
from mobileid.app import create_app, ops_config
from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.settings import get_settings
from verifier.central import CentralConfig, RecordBatch
from verifier.trust import TrustedIssuer

OPERATOR = Viewer("E1001", "김운영", (Grant("hr_admin"),))
HEALTHY_LOGIN = {"status": "ok", "issuer": "https://login.example", "status_list_ages": []}


@dataclass
class Site:
    url: str
    app: FastAPI
    dead_gate: str


def _login_double() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, object]:
        return HEALTHY_LOGIN

    return app


@pytest.fixture
def site(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("MOBILEID_OUTBOX_CONSOLE", "false")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
    central = open_central_service(
        CentralConfig(trusted_issuers=(TrustedIssuer("http://127.0.0.1:9"),)),
        engine=engine,
        client=None,
    )
    central.receive_records(RecordBatch(gate_id="seoul-1f-east", records=[]))
    central.clock = lambda: time.time() - 3600  # heard from an hour ago
    central.receive_records(RecordBatch(gate_id="busan-2f-west", records=[]))
    dead = bound_socket()  # bound, never listening: connections are refused
    dead_gate = f"http://127.0.0.1:{dead.getsockname()[1]}"
    with (
        serve_app(_login_double()) as login,
        serve_app(create_central_app(central)) as central_served,
    ):
        settings = get_settings(
            database_url=database_url,
            data_dir=tmp_path / "issuer",
            ops_login_url=login.url,
            ops_central_url=central_served.url,
            ops_gate_urls=[f"{dead_gate}/"],
        )
        config = ops_config(settings)
        assert config.gate_urls == (dead_gate,) and config.gate_offline_after_s == 60
        app = create_app(settings, run_outbox=False)
        app.include_router(ops_router(config))
        Console(
            title="운영 / Operations",
            templates=TEMPLATES,
            roles=Roles(),
            signin=SignInConfig("http://127.0.0.1:9", "console", None, "http://testserver"),
            session_secret=b"k" * 32,
            secure_cookies=False,
        ).install(app)
        app.dependency_overrides[current_viewer] = lambda: OPERATOR
        with serve_app(app) as issuer:
            yield Site(issuer.url, app, dead_gate)
    dead.close()
    central.close()
    engine.dispose()


def test_the_overview_shows_each_service_and_one_down_with_why(site: Site) -> None:
    page = httpx.get(f"{site.url}/console/ops", timeout=10)
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    text = page.text
    assert 'data-autorefresh="15"' in text
    assert text.count('data-up="true"') == 3  # issuer, login, central
    down = text.split('data-kind="gate" data-up="false"')
    assert len(down) == 2 and "연결 실패 / cannot connect (ConnectError)" in down[1]
    assert site.dead_gate in text
    assert 'data-gate="seoul-1f-east" data-online="true"' in text
    assert 'data-gate="busan-2f-west" data-online="false"' in text
    assert "온라인 / online 1" in text and "오프라인 / offline 1" in text
    assert "구독 중인 검증기 / Subscribers (this process)</dt><dd>0" in text


def test_without_hr_admin_the_overview_is_403(site: Site) -> None:
    site.app.dependency_overrides[current_viewer] = lambda: Viewer(
        "E2", "박직원", (Grant("login_admin"), Grant("hr_officer", "1741000"))
    )
    page = httpx.get(f"{site.url}/console/ops", timeout=10)
    assert page.status_code == 403 and "forbidden_role" in page.text
    assert "seoul-1f-east" not in page.text
