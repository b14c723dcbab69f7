"""Garbage at every endpoint of the login service: an answer below 500, never a stack trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from login_kit import Login, login_world

ENDPOINTS = [
    ("GET", "/authorize"),
    ("POST", "/authorize"),
    ("POST", "/token"),
    ("GET", "/userinfo"),
    ("POST", "/oid4vp/response"),
    ("POST", "/oid4vp/sessions"),
    ("GET", "/oid4vp/request/{sid}"),
    ("POST", "/oid4vp/request/{sid}"),
    ("GET", "/oid4vp/qr/{sid}.svg"),
    ("GET", "/oid4vp/sessions/{sid}"),
    ("POST", "/oid4vp/sessions/{sid}/result"),
    ("GET", "/login/status/{sid}"),
    ("GET", "/login/continue/{sid}"),
    ("GET", "/end_session"),
    ("POST", "/end_session"),
]
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
PRINTABLE = st.text(alphabet="".join(map(chr, range(0x20, 0x7F))), max_size=40)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    with login_world(tmp, f"sqlite:///{tmp / 'login.sqlite3'}") as login:
        yield login


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    sid=st.one_of(st.just("x"), TEXT.filter(bool)),
    query=st.dictionaries(TEXT, TEXT, max_size=4),
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "text/plain", ""]
    ),
    authorization=st.one_of(
        st.none(), PRINTABLE.map(lambda t: "Bearer " + t), PRINTABLE.map(lambda t: "Basic " + t)
    ),
)
def test_garbage_never_breaks_the_service(
    world: Login,
    endpoint: tuple[str, str],
    sid: str,
    query: dict[str, str],
    body: bytes,
    content_type: str,
    authorization: str | None,
) -> None:
    method, path = endpoint
    headers = {"Content-Type": content_type} if content_type else {}
    if authorization is not None:
        headers["Authorization"] = authorization.strip()
    response = world.http.request(
        method,
        world.url + path.replace("{sid}", quote(sid, safe="")),
        params=query,
        content=body if method == "POST" else None,
        headers=headers,
    )
    assert response.status_code < 500, (endpoint, response.text[:300])
    assert "Traceback" not in response.text
