"""Every console route of every app, enumerated from the app's router (so a new route is checked
without being named here): each POST checks the CSRF token, each page needs a signed-in viewer
(except the ways in), and the refusals are what a person should see."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from console_kit import csrf_of
from display_kit import display_app, operator_roles
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from gate_kit import Clock, gate_policy, make_gate
from issuer_console_kit import served_issuer
from pages_kit import error_code
from server_kit import Served
from test_login_console import login_settings

from console.viewer import Grant, Viewer
from console.web import Console, check_csrf, current_viewer
from mobileid.login_app import create_login_app, open_login_console, open_login_service

OPEN = {
    # the ways in (no one is signed in yet), under the console's home
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("GET", "/callback"),
    ("POST", "/signout"),
    ("GET", "/signin/code"),
    ("POST", "/signin/code"),
    ("POST", "/signin/code/verify"),
    ("GET", "/link/{token}"),
    ("POST", "/link/{token}"),
}
REDIRECTS = {("GET", "/console")}
"""The gate's `/console` only sends the person on to `/display` (no data)."""
EVERY_ROLE = Viewer(
    "E1002",
    "모든권한",
    tuple(
        Grant(role)
        for role in (
            "employee",
            "department_head",
            "hr_admin",
            "hr_officer",
            "gate_operator",
            "login_admin",
        )
    ),
)
NOBODY = Viewer("X0000", "외부인", ())


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _flat(routes: list[Any]) -> Iterator[Any]:
    """Routes as served: FastAPI keeps an included router whole and resolves its routes (path
    with prefix, dependencies with the router's) as `effective_candidates`."""
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from _flat(route.effective_candidates())
        elif getattr(route, "dependant", None) is not None:
            yield route


def console_routes(app: FastAPI) -> list[tuple[str, str, Any]]:
    """(method, path, route) of every route on the app's console pages."""
    console = app.state.console
    assert isinstance(console, Console)
    return [
        (method, route.path, route)
        for route in _flat(app.routes)
        if console.is_page(route.path)
        for method in sorted(route.methods)
    ]


def _guarded(app: FastAPI) -> list[tuple[str, str, Any]]:
    """The console routes that are not a way in."""
    home = app.state.console.home
    return [
        (m, p, route)
        for m, p, route in console_routes(app)
        if (m, p.removeprefix(home)) not in OPEN and (m, p) not in REDIRECTS and m != "HEAD"
    ]


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(params=["issuer", "gate", "login"])
def app(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> Iterator[tuple[FastAPI, str]]:
    """Each console app served on 127.0.0.1: (app, its URL)."""
    if request.param == "issuer":
        with served_issuer(
            tmp_path, database_url, login_url="http://127.0.0.1:9", client_id="c", secret="s"
        ) as (served, issuer):
            yield issuer, served.url
    elif request.param == "gate":
        service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, Clock(), online=False)
        served = Served(display_app(service, operator_roles())).start()
        try:
            yield served.app, served.url
        finally:
            served.stop()
    else:
        settings = login_settings(tmp_path, database_url)
        login = open_login_service(settings, clock=Clock())
        console = open_login_console(settings)
        assert console is not None
        served = Served(create_login_app(login, purge=False, console=console)).start()
        try:
            yield served.app, served.url.replace("127.0.0.1", "localhost")
        finally:
            served.stop()
            login.engine.dispose()


def test_every_console_post_checks_the_csrf_token(app: tuple[FastAPI, str]) -> None:
    routes = [r for r in console_routes(app[0]) if r[0] not in ("GET", "HEAD")]
    assert routes
    unchecked = [(m, p) for m, p, route in routes if check_csrf not in _calls(route.dependant)]
    assert unchecked == []


def test_every_console_page_needs_a_signed_in_viewer(app: tuple[FastAPI, str]) -> None:
    unguarded = [
        (m, p) for m, p, route in _guarded(app[0]) if current_viewer not in _calls(route.dependant)
    ]
    assert unguarded == []


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_post_without_its_token_is_refused_on_every_route(
    app: tuple[FastAPI, str], token: str | None
) -> None:
    """Signed in with every role: each POST without the session's token is the 403 page."""
    served, url = app
    served.dependency_overrides[current_viewer] = lambda: EVERY_ROLE
    with httpx.Client(base_url=url, timeout=30) as browser:
        browser.get("/console/signin")  # the session (and its token) exists
        for method, path, _ in console_routes(served):
            if method in ("GET", "HEAD"):
                continue
            data = {"csrf_token": token} if token else {}
            page = browser.request(method, _filled(path), data=data)
            assert page.status_code == 403, (path, page.status_code)
            assert "<code>csrf_failed</code>" in page.text, path


def test_no_session_no_page_and_no_role_no_data(app: tuple[FastAPI, str]) -> None:
    """Not signed in: every page is a redirect to sign in (GET) or the 401 page (others);
    signed in without any role: the 403 page (or the home page that says so), never data."""
    served, url = app
    home = served.state.console.home
    guarded = [(m, p) for m, p, _ in _guarded(served)]
    with httpx.Client(base_url=url, timeout=30) as browser:
        for method, path in guarded:
            page = browser.request(method, _filled(path))
            if method == "GET":
                assert page.status_code == 303, (path, page.status_code)
                assert page.headers["location"].startswith(f"{home}/signin?next="), path
            else:  # no session, so no token either: refused before anything is read
                assert page.status_code in (401, 403), (path, page.status_code)
                assert re.search("<code>(signin_required|csrf_failed)</code>", page.text), path
    served.dependency_overrides[current_viewer] = lambda: NOBODY
    with httpx.Client(base_url=url, timeout=30) as browser:
        for method, path in guarded:
            if method != "GET" or path == home:  # the home page says what the person may do
                continue
            page = browser.get(_filled(path))
            # 404: the employee's own pages of a person HR does not know
            assert (page.status_code, error_code(page.text)) in {
                (403, "forbidden_role"),
                (404, "employee_not_found"),
            }, (path, page.status_code)


def _fields(route: Any) -> list[str]:
    """The form fields a route reads (its own and its dependencies')."""
    names = [p.alias for p in route.dependant.body_params]
    return [n for n in names if n != "csrf_token"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("A\x00B", id="nul"),
        pytest.param("가" * 20_000, id="huge"),
        pytest.param("<script>alert(1)</script>\"'", id="markup"),
        pytest.param("\udcff", id="lone_surrogate"),
    ],
)
def test_hostile_form_values_on_every_post_are_pages_never_500(
    app: tuple[FastAPI, str], value: str
) -> None:
    """Signed in with every role and the right token: each POST given a NUL byte, a huge field,
    markup or a broken character in every field answers with a page (a stable code when refused),
    never a 500, never the markup unescaped."""
    served, url = app
    served.dependency_overrides[current_viewer] = lambda: EVERY_ROLE
    with httpx.Client(base_url=url, timeout=30) as browser:
        page = browser.get(f"{served.state.console.home}/signin")
        token = csrf_of(page.text)
        for method, path, route in console_routes(served):
            if method in ("GET", "HEAD"):
                continue
            body = "&".join(
                f"{name}={quote(value, errors='surrogateescape')}" for name in _fields(route)
            )
            answer = browser.request(
                method,
                _filled(path),
                content=f"csrf_token={token}&{body}".encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
            assert "<script>alert(1)" not in answer.text, path
            if answer.status_code >= 400:  # a page, even when the edge refused the body
                assert answer.headers["content-type"].startswith("text/html"), path
                assert error_code(answer.text) or 'role="alert"' in answer.text, (
                    path,
                    answer.text[:500],
                )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("multipart/form-data; boundary=zz", b"--zz\r\ngarbage", id="cut_multipart"),
        pytest.param("multipart/form-data", b"no boundary at all", id="no_boundary"),
        pytest.param("application/x-www-form-urlencoded", b"%ZZ=%&&=\xff", id="bad_urlencoded"),
        pytest.param("application/json", b'{"csrf_token": 1}', id="json"),
        pytest.param(
            "multipart/form-data; boundary=zz",
            b'--zz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nTOKEN\r\n'
            b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            b"\x00\xff=cmd|x\r\n--zz--\r\n",
            id="a_file_with_the_token",
        ),
    ],
)
def test_malformed_bodies_on_every_post_are_refused_pages(
    app: tuple[FastAPI, str], content_type: str, body: bytes
) -> None:
    served, url = app
    served.dependency_overrides[current_viewer] = lambda: EVERY_ROLE
    with httpx.Client(base_url=url, timeout=30) as browser:
        token = csrf_of(browser.get(f"{served.state.console.home}/signin").text)
        for method, path, _ in console_routes(served):
            if method in ("GET", "HEAD"):
                continue
            answer = browser.request(
                method,
                _filled(path),
                content=body.replace(b"TOKEN", token.encode()),
                headers={"content-type": content_type},
            )
            assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
            if answer.status_code >= 400:  # the error page with its code, or the form again
                assert answer.headers["content-type"].startswith("text/html"), path
                shown = re.search(r"<code>[a-z_]+</code>|name=\"csrf_token\"", answer.text)
                assert shown, (path, answer.text)
