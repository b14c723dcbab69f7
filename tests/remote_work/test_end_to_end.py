"""End to end over real HTTP: the login service (OpenID4VP + OIDC bridge) with an issuer double,
the wallet simulator, and the remote-work system served as `mobileid remote-work serve` builds
it. An employee with an approved plan signs in with the phone (Authlib checks the ID token), the
work session opens; the credential is suspended at the issuer, the login service sends a logout
token, and the work record closes by back-channel logout within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from console_kit import csrf_of
from gate_kit import wait_until
from login_kit import Login, login_world, make_wallet
from oidc_kit import wallet_answers
from server_kit import Served
from sqlalchemy import select

from mobileid.remote_work_app import create_remote_work_app, open_remote_work
from mobileid.settings import RemoteWorkSettings
from remote_work.models import signins
from remote_work.plans import HOME, PlanRequest, decide_plan, file_plan, today
from remote_work.work import WorkRecord, work_records
from vc.status_list import SUSPENDED
from verifier.login.clients import register_client

EMPLOYEE = "E3001"
HEAD = "E3002"
DEPARTMENT = "디지털정부과"  # the issuer double's department


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[tuple[Login, Served, Any]]:
    with login_world(tmp_path, database_url, purge_every_s=0.3) as login:
        served = Served(None)
        with login.db() as db:
            client = register_client(
                db,
                name="원격근무 / Remote work",
                redirect_uris=[f"{served.url}/work/callback"],
                allowed_claims=["name", "department"],
                subject_type="employee_number",
                backchannel_logout_uri=f"{served.url}/backchannel-logout",
                now=time.time(),
            )
        secret_file = tmp_path / "rw.secret"
        secret_file.write_text(client.secret or "")
        secret_file.chmod(0o600)
        opened = open_remote_work(
            RemoteWorkSettings(
                base_url=served.url,
                data_dir=tmp_path / "remote-work",
                database_url=f"sqlite:///{tmp_path / 'rw.sqlite3'}",
                login_url=login.url,
                client_id=client.client.client_id,
                client_secret_file=secret_file,
                department_heads={DEPARTMENT: [HEAD]},
            ),
            clock=login.clock,
        )
        served.app = create_remote_work_app(opened)
        served.start()
        try:
            yield login, served, opened
        finally:
            served.stop()
            opened.close()


def _approve_today(opened: Any) -> None:
    rw = opened.remote_work
    with rw.unit_of_work() as db:
        day = today(rw.clock())
        plan = file_plan(
            db,
            employee_number=EMPLOYEE,
            employee_name="직원",
            department=DEPARTMENT,
            request=PlanRequest(day, day, HOME, "원격 업무"),
            centres=frozenset(),
            now=rw.clock(),
        )
        decide_plan(
            db,
            rw.heads,
            plan_id=plan.id,
            head=HEAD,
            decision="approved",
            comment="",
            now=rw.clock(),
        )


def _records(opened: Any) -> list[WorkRecord]:
    with opened.remote_work.unit_of_work() as db:
        return work_records(db, EMPLOYEE)


@pytest.mark.slow
def test_sign_in_with_the_phone_then_suspension_closes_the_work_record(
    world: tuple[Login, Served, Any], tmp_path: Path
) -> None:
    login, served, opened = world
    _approve_today(opened)
    wallet, idx = make_wallet(tmp_path / "phone", login.issuer, number=EMPLOYEE)
    with httpx.Client(base_url=served.url, timeout=20) as browser:
        first = browser.get("/work")
        assert first.status_code == 303
        page = browser.get(first.headers["location"])
        started = browser.post(
            "/work/signin", data={"csrf_token": csrf_of(page.text), "next": "/work"}
        )
        assert started.status_code == 303 and started.headers["location"].startswith(login.url)
        attempt = SimpleNamespace(page=browser.get(started.headers["location"]), browser=browser)
        callback = wallet_answers(login, attempt, wallet, same_device=False)  # type: ignore[arg-type]
        back = browser.get(callback)
        assert back.status_code == 303 and back.headers["location"] == "/work", back.text
        home = browser.get("/work")
        assert home.status_code == 200 and 'data-state="open"' in home.text

        with opened.remote_work.unit_of_work() as db:
            [signin] = list(db.execute(select(signins)))
        assert (signin.employee_number, signin.department) == (EMPLOYEE, DEPARTMENT)
        assert signin.amr and signin.sid

        login.issuer.set_status(idx, SUSPENDED)
        login.status_changed()  # the sweep sees it; the logout token follows
        [record] = wait_until(
            lambda: [r for r in _records(opened) if r.how == "backchannel_logout"],
            "the work record closed by back-channel logout",
        )
        assert record.ended_at is not None
        after = browser.get("/work")
        assert after.status_code == 401 and "session_ended" in after.text
