"""Signing in to the issuer's console without a mobile ID, in the browser: a one-time code by
SMS to the phone on the HR record (the session holds `employee` only), and the single-use link
`mobileid admin login-link` prints (nothing is spent by opening it)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_kit import csrf_of
from issuer_console_kit import served_issuer
from issuer_kit import AGENCY, read_sms

from console.web import SESSION_COOKIE
from issuer.console_auth import SIGNIN_CODE_SMS, create_login_link
from issuer.grants import grant_role
from mobileid.log_redaction import redact_offer_references


@pytest.fixture
def issuer(tmp_path: Path, database_url: str) -> Iterator[tuple[Any, httpx.Client]]:
    with (
        served_issuer(
            tmp_path,
            database_url,
            login_url="http://127.0.0.1:9",  # not used by these ways in
            client_id="console",
            secret=None,
            run_outbox=True,
        ) as (served, app),
        httpx.Client(base_url=served.url, timeout=10) as browser,
    ):
        yield app, browser


def _grant(app: Any, number: str, role: str, scope: str | None = None) -> None:
    runtime = app.state.runtime
    with runtime.unit_of_work() as session:
        grant_role(
            session,
            employee_number=number,
            role=role,
            scope=scope,
            actor="cli",
            now=runtime.clock(),
            reason="test",
        )


def _session(browser: httpx.Client) -> dict[str, Any]:
    payload = browser.cookies[SESSION_COOKIE].split(".")[0]
    return dict(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4))))


def _ask_code(browser: httpx.Client, number: str) -> httpx.Response:
    page = browser.get("/console/signin/code")
    assert page.status_code == 200
    return browser.post(
        "/console/signin/code",
        data={"csrf_token": csrf_of(page.text), "employee_number": number},
    )


def _code(data_dir: Path) -> str:
    sms = read_sms(data_dir, kind=SIGNIN_CODE_SMS)
    assert sms, "no sign-in code SMS"
    found = re.search(r"code: (\d{6})", sms[-1]["body"])
    assert found, sms
    return found.group(1)


def test_an_employee_without_a_mobile_id_signs_in_with_a_code(
    issuer: tuple[Any, httpx.Client], tmp_path: Path
) -> None:
    app, browser = issuer
    _grant(app, "E1001", "hr_officer", AGENCY)  # a code signs in as `employee` all the same
    signin = browser.get("/console/signin")
    assert 'href="/console/signin/code"' in signin.text
    sent = _ask_code(browser, "E1001")
    assert sent.status_code == 200 and "a code is on its way" in sent.text
    answer = browser.post(
        "/console/signin/code/verify",
        data={
            "csrf_token": csrf_of(sent.text),
            "employee_number": "E1001",
            "code": _code(tmp_path / "data"),
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/me"
    who = _session(browser)["who"]
    assert who["n"] == "E1001" and who["only"] == ["employee"] and who["amr"] == ["sms"]
    home = browser.get("/console")
    assert home.status_code == 200 and "홍길동" in home.text
    assert 'href="/console/me"' in home.text and 'href="/console/hr"' not in home.text
    assert browser.get("/console/hr").status_code != 200


def test_a_wrong_code_is_refused_on_the_form(issuer: tuple[Any, httpx.Client]) -> None:
    _, browser = issuer
    sent = _ask_code(browser, "E1001")
    answer = browser.post(
        "/console/signin/code/verify",
        data={"csrf_token": csrf_of(sent.text), "employee_number": "E1001", "code": "000000"},
    )
    assert answer.status_code == 400
    assert "signin_code_invalid" in answer.text and 'name="code"' in answer.text
    assert browser.get("/console").status_code == 303  # nobody signed in


def test_asking_for_a_code_tells_nobody_who_exists(issuer: tuple[Any, httpx.Client]) -> None:
    _, browser = issuer
    known, unknown = _ask_code(browser, "E1001"), _ask_code(browser, "E0000")
    assert known.status_code == unknown.status_code == 200
    strip = lambda page: re.sub(r'value="[^"]*"', "", page.text)  # noqa: E731
    assert strip(known) == strip(unknown)


def test_asking_for_a_code_needs_the_form_token(issuer: tuple[Any, httpx.Client]) -> None:
    _, browser = issuer
    answer = browser.post("/console/signin/code", data={"employee_number": "E1001"})
    assert answer.status_code == 403 and "csrf_failed" in answer.text


def test_a_login_link_signs_in_once_with_every_role(issuer: tuple[Any, httpx.Client]) -> None:
    app, browser = issuer
    _grant(app, "E2001", "hr_admin")
    with app.state.runtime.unit_of_work() as session:
        token, _ = create_login_link(session, "E2001", "cli", datetime.now(UTC))
    page = browser.get(f"/console/link/{token}")
    assert page.status_code == 200 and browser.get(f"/console/link/{token}").status_code == 200
    answer = browser.post(f"/console/link/{token}", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    home = browser.get("/console")
    assert "이영희" in home.text and 'href="/console/hr"' in home.text
    assert _session(browser)["who"]["amr"] == ["link"]

    with httpx.Client(base_url=str(browser.base_url), timeout=10) as other:
        again = other.get(f"/console/link/{token}")
        used = other.post(f"/console/link/{token}", data={"csrf_token": csrf_of(again.text)})
    assert used.status_code == 400 and "login_link_used" in used.text


def test_an_unknown_link_is_a_page(issuer: tuple[Any, httpx.Client]) -> None:
    _, browser = issuer
    page = browser.get("/console/link/nope")
    answer = browser.post("/console/link/nope", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 400 and "login_link_invalid" in answer.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '"GET /console/link/AbC-12_x HTTP/1.1" 200',
            '"GET /console/link/[redacted] HTTP/1.1" 200',
        ),
        ("POST /console/link/AbC-12_x", "POST /console/link/[redacted]"),
        ("GET /console/linkage", "GET /console/linkage"),
    ],
)
def test_sign_in_links_never_reach_the_logs(line: str, expected: str) -> None:
    assert redact_offer_references(line) == expected
