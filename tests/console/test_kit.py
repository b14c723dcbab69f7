"""The console kit on a small app: security headers, the session cookie, the idle timeout, CSRF,
and the 401/403/error pages (stable codes, Korean and English, no data, no trace)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from console_kit import Clock, Roles, browser_on, csrf_of, kit_app, make_console, signed_in

from console.viewer import Grant, Viewer
from console.web import Console, current_viewer, safe_next

EMPLOYEE = Grant("employee")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def roles() -> Roles:
    return Roles(
        {
            "1000001": [EMPLOYEE],
            "1000002": [EMPLOYEE, Grant("hr_officer", "1741000")],
        }
    )


@pytest.fixture
def client(roles: Roles, clock: Clock) -> Iterator[httpx.Client]:
    with browser_on(kit_app(make_console(roles, clock))) as browser:
        yield browser


def test_pages_carry_the_security_headers(client: httpx.Client) -> None:
    signed_in(client, "1000001")
    for path in ("/console", "/console/signin", "/console/static/console.css", "/console/nope"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "form-action 'self' http://localhost:9" in csp
        assert "base-uri 'none'" in csp and "object-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"


def test_the_rest_of_the_app_is_left_alone(client: httpx.Client) -> None:
    response = client.get("/api/thing")
    assert response.json() == {"thing": "json"}
    assert "content-security-policy" not in response.headers


def test_the_session_cookie_is_httponly_and_samesite(client: httpx.Client) -> None:
    response = client.get("/test-signin/1000001")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # loopback development


def test_the_session_cookie_is_secure_outside_development(roles: Roles, clock: Clock) -> None:
    with browser_on(kit_app(make_console(roles, clock, secure_cookies=True))) as client:
        cookie = client.get("/test-signin/1000001").headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie


def test_a_signed_in_person_sees_the_page_with_name_and_roles(client: httpx.Client) -> None:
    signed_in(client, "1000002")
    page = client.get("/console/hr")
    assert page.status_code == 200
    assert "hr 1741000" in page.text
    assert "직원 1000002" in page.text
    assert "인사 담당자 / HR officer" in page.text
    assert 'href="/console/hr"' in page.text  # the nav shows what the viewer may use
    assert "로그아웃 / Sign out" in page.text


def test_grants_are_read_on_every_request(client: httpx.Client, roles: Roles) -> None:
    signed_in(client, "1000002")
    assert client.get("/console/hr").status_code == 200
    roles.grants["1000002"] = [EMPLOYEE]  # revoked
    page = client.get("/console/hr")
    assert page.status_code == 403
    assert "forbidden_role" in page.text


def test_not_signed_in_a_get_goes_to_the_signin_page(client: httpx.Client) -> None:
    response = client.get("/console/hr")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/signin?next=%2Fconsole%2Fhr"
    page = client.get(response.headers["location"])
    assert "모바일 공무원증으로 로그인 / Sign in with the mobile ID" in page.text
    assert 'name="next" value="/console/hr"' in page.text


def test_not_signed_in_a_post_gets_the_401_page(client: httpx.Client) -> None:
    client.get("/console/signin")  # a session with a CSRF token, nobody signed in
    token = csrf_of(client.get("/console/signin").text)
    page = client.post("/console/act", data={"csrf_token": token})
    assert page.status_code == 401
    assert "signin_required" in page.text
    assert "로그인이 필요합니다 / Please sign in" in page.text


def test_without_the_role_the_403_page_shows_no_data(client: httpx.Client) -> None:
    signed_in(client, "1000001")
    page = client.get("/console/hr")
    assert page.status_code == 403
    assert "forbidden_role" in page.text
    assert "이 화면을 볼 권한이 없습니다" in page.text and "You do not have the role" in page.text
    assert "1741000" not in page.text and "hr " not in page.text


def test_an_sms_session_holds_the_employee_role_only(client: httpx.Client) -> None:
    signed_in(client, "1000002", only="employee")
    assert client.get("/console").status_code == 200
    assert client.get("/console/hr").status_code == 403


def test_the_idle_timeout_signs_the_person_out(client: httpx.Client, clock: Clock) -> None:
    signed_in(client, "1000001")
    clock.advance(800)
    assert client.get("/console").status_code == 200  # activity: the idle time starts again
    clock.advance(800)
    assert client.get("/console").status_code == 200
    clock.advance(901)
    response = client.get("/console")
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    page = client.get(response.headers["location"])
    assert "오래 사용하지 않아 로그아웃되었습니다" in page.text
    assert client.get("/console").status_code == 303  # the session is gone, not only hidden


@pytest.mark.parametrize("how", ["none", "wrong", "other_session"])
def test_a_post_without_the_session_token_is_refused(
    client: httpx.Client, roles: Roles, clock: Clock, how: str
) -> None:
    signed_in(client, "1000001")
    data = {}
    if how == "wrong":
        data["csrf_token"] = "x" * 43
    elif how == "other_session":
        with browser_on(kit_app(make_console(roles, clock))) as other:
            signed_in(other, "1000001")
            data["csrf_token"] = csrf_of(other.get("/console").text)
    page = client.post("/console/act", data=data)
    assert page.status_code == 403
    assert "csrf_failed" in page.text
    assert "acted by" not in page.text


def test_a_post_with_the_token_in_the_form_or_header_passes(client: httpx.Client) -> None:
    signed_in(client, "1000001")
    token = csrf_of(client.get("/console").text)
    assert (
        "acted by console:1000001" in client.post("/console/act", data={"csrf_token": token}).text
    )
    answer = client.post("/console/act", headers={"X-CSRF-Token": token})
    assert answer.status_code == 200


def test_sign_out_needs_the_token_and_ends_the_session(client: httpx.Client) -> None:
    signed_in(client, "1000001")
    assert client.post("/console/signout").status_code == 403
    token = csrf_of(client.get("/console").text)
    response = client.post("/console/signout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/signin?signed_out=1"
    assert client.get("/console").status_code == 303


def test_errors_on_console_pages_are_pages_with_stable_codes(client: httpx.Client) -> None:
    page = client.get("/console/boom")
    assert page.status_code == 409
    assert "already_decided" in page.text and "이미 처리됨 / Already decided" in page.text
    assert page.headers["content-type"].startswith("text/html")
    missing = client.get("/console/no/such/page")
    assert missing.status_code == 404 and "not_found" in missing.text
    assert "찾을 수 없습니다 / Not found" in missing.text


def test_an_unexpected_error_is_a_page_without_a_trace(client: httpx.Client) -> None:
    page = client.get("/console/crash")
    assert page.status_code == 500
    assert "server_error" in page.text
    assert "/etc/passwd" not in page.text and "Traceback" not in page.text


def test_pages_can_be_tested_with_an_overridden_viewer(roles: Roles, clock: Clock) -> None:
    app = kit_app(make_console(roles, clock))
    app.dependency_overrides[current_viewer] = lambda: Viewer(
        "2000001", "김인사", (Grant("hr_officer", None),)
    )
    with browser_on(app) as client:
        page = client.get("/console/hr")
    assert page.status_code == 200 and "hr *" in page.text


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/hr?x=1", "/console/hr?x=1"),
        ("https://evil.example/", "/console"),
        ("//evil.example/", "/console"),
        ("/\\evil.example", "/console"),
        ("/console\r\nSet-Cookie: x", "/console"),
        ("", "/console"),
        (None, "/console"),
    ],
)
def test_after_sign_in_only_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target, "/console") == expected


def test_viewer_grants_and_scopes() -> None:
    viewer = Viewer(
        "1", "a", (Grant("department_head", "D1"), Grant("gate_operator"), Grant("employee"))
    )
    assert viewer.has("department_head") and viewer.has("department_head", "D1")
    assert not viewer.has("department_head", "D2")
    assert viewer.has("gate_operator", "any-gate")  # unscoped: every gate
    assert not viewer.has("hr_officer")
    assert viewer.scopes("department_head") == frozenset({"D1"})
    assert viewer.scopes("gate_operator") == frozenset({None})
    assert viewer.actor == "console:1"


def test_every_asset_is_served_by_the_app(client: httpx.Client) -> None:
    """No CDN: pages load only our own script and style sheet, which the app serves."""
    signed_in(client, "1000002")
    page = client.get("/console/hr").text
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert sorted(assets) == ["/console/static/console.css", "/console/static/console.js"]
    assert "<style" not in page and " style=" not in page and "<script>" not in page
    kinds = {"js": "text/javascript", "css": "text/css"}
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(kinds[asset.rsplit(".", 1)[1]])


def test_a_console_without_sign_in_or_roles(clock: Clock) -> None:
    """`signin=None`: no mobile-ID sign-in here (its POST and callback are not routes);
    `roles=None`: nobody holds a role. For pages tested with the viewer overridden."""
    console = Console(
        title="t",
        templates=None,
        roles=None,
        signin=None,
        session_secret=b"k" * 32,
        secure_cookies=False,
        clock=clock,
    )
    with browser_on(kit_app(console)) as client:
        page = client.get("/console/signin")
        assert page.status_code == 200 and "Sign in with the mobile ID" not in page.text
        csp = page.headers["content-security-policy"]
        assert "form-action 'self';" in csp
        assert client.get("/console/callback").status_code == 404
        signed_in(client, "1000001")
        forbidden = client.get("/console")
        assert forbidden.status_code == 403
        refused = client.post("/console/signin", data={"csrf_token": csrf_of(forbidden.text)})
        assert refused.status_code == 405 and "method_not_allowed" in refused.text


def test_a_copied_cookie_is_dead_after_sign_out(client: httpx.Client) -> None:
    """Sign-out ends the session itself, not only the browser's copy of it."""
    signed_in(client, "1000001")
    copied = dict(client.cookies)
    token = csrf_of(client.get("/console").text)
    assert client.post("/console/signout", data={"csrf_token": token}).status_code == 303
    client.cookies.clear()
    client.cookies.update(copied)
    assert client.get("/console").status_code == 303


def test_a_session_ends_at_its_lifetime_however_active(roles: Roles, clock: Clock) -> None:
    with browser_on(kit_app(make_console(roles, clock, max_session_s=3600))) as client:
        signed_in(client, "1000001")
        for _ in range(4):
            clock.advance(800)
            assert client.get("/console").status_code == 200
        clock.advance(800)  # 4000 s after signing in, never idle
        assert client.get("/console").status_code == 303
