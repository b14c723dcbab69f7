"""vc.asgi_guard: which bytes hold a NUL or a lone surrogate (raw, `%00`, JSON escapes), and the
middleware's own contract (body handed on whole, refusals before the app runs, a client gone
mid-body logged once)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vc.asgi_guard import ASGIApp, Receive, RequestGuard, Scope, Send, holds_unsafe_text


@pytest.mark.parametrize(
    ("data", "unsafe"),
    [
        pytest.param(b'{"a": "b"}', False, id="plain_json"),
        pytest.param(b"a\x00b", True, id="raw_nul"),
        pytest.param(b"a=%00", True, id="percent_nul"),
        pytest.param(b'{"a": "\\u0000"}', True, id="json_nul"),
        pytest.param(b'{"a": "\\\\u0000"}', False, id="escaped_backslash_then_text"),
        pytest.param(b'{"a": "\\\\\\u0000"}', True, id="escaped_backslash_then_nul"),
        pytest.param(b'{"a": "\\ud83d\\ude00"}', False, id="surrogate_pair"),
        pytest.param(b'{"a": "\\uD83D\\uDE00"}', False, id="surrogate_pair_upper"),
        pytest.param(b'{"a": "\\ud800"}', True, id="lone_high_at_end_of_string"),
        pytest.param(b'{"a": "\\ud800x"}', True, id="lone_high_then_text"),
        pytest.param(b'{"a": "\\ud800\\u0041"}', True, id="high_then_non_low"),
        pytest.param(b'{"a": "\\ud800\\\\\\udc00"}', True, id="high_backslash_low"),
        pytest.param(b'{"a": "\\udc00"}', True, id="lone_low"),
        pytest.param(b'{"a": "\\\\ud800"}', False, id="escaped_backslash_then_ud800_text"),
        pytest.param(b'{"a": "\\ud64d\\uae38\\ub3d9"}', False, id="korean_escaped"),
        pytest.param(b'{"a": "%00"}', True, id="percent_nul_text_in_json"),
        pytest.param(b"vp_token=%5B%22%5Cu0000%22%5D", False, id="escape_in_a_form_is_routes"),
        pytest.param(b'{"a": "\\ud83d\\ude00\\udc00"}', True, id="pair_then_lone_low"),
        pytest.param(b'{"a": "\\ud83d\\ud83d\\ude00"}', True, id="lone_high_then_pair"),
        pytest.param(b"a=%25%30%30", False, id="percent_encoded_percent"),
        pytest.param(b"\\", False, id="lone_backslash"),
    ],
)
def test_holds_unsafe_text(data: bytes, unsafe: bool) -> None:
    assert holds_unsafe_text(data) is unsafe


NO_PERCENT = st.text(alphabet=st.characters(exclude_characters="%", exclude_categories=("Cs",)))


@given(text=NO_PERCENT, ascii_only=st.booleans())
def test_json_is_refused_exactly_when_its_text_holds_nul(text: str, ascii_only: bool) -> None:
    body = json.dumps({"field": text}, ensure_ascii=ascii_only).encode()
    assert holds_unsafe_text(body) is ("\x00" in text)


@given(text=st.text(alphabet=st.characters(exclude_categories=("Cs",))))
def test_a_form_is_refused_exactly_when_its_text_holds_nul(text: str) -> None:
    body = urlencode({"field": text}).encode()
    assert holds_unsafe_text(body) is ("\x00" in text)


class _App:
    """The app behind the guard: records what it was handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        assert message["more_body"] is False
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _run(
    guard: RequestGuard, messages: list[dict[str, Any]], *, path: str = "/x", query: bytes = b""
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    incoming = list(messages)

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "query_string": query, "headers": []}
    asyncio.run(guard(scope, receive, send))
    return sent


def _chunks(*parts: bytes) -> list[dict[str, Any]]:
    return [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]


def _refuse(_path: str, status: int, _detail: str) -> ASGIApp:
    """A refusal in the bare `{"error": code}` shape: `too_big` with 413, else `invalid_request`."""
    body = json.dumps({"error": "too_big" if status == 413 else "invalid_request"}).encode()

    async def respond(_scope: Scope, _receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return respond


def _guard(app: _App, **kw: Any) -> RequestGuard:
    return RequestGuard(app, max_body_bytes=16, refuse=_refuse, **kw)


def test_the_app_gets_the_whole_body_as_one_message() -> None:
    app = _App()
    sent = _run(_guard(app), _chunks(b"abc", b"de\\u00", b"41"))
    assert app.bodies == [b"abcde\\u0041"] and sent[0]["status"] == 204


def test_a_nul_split_across_chunks_is_refused_before_the_app_runs() -> None:
    app = _App()
    sent = _run(_guard(app), _chunks(b'{"a":"\\u0', b'000"}'))
    assert app.bodies == [] and sent[0]["status"] == 400
    assert json.loads(sent[1]["body"]) == {"error": "invalid_request"}


@pytest.mark.parametrize(("path", "query"), [("/x\x00", b""), ("/x", b"q=a%00")])
def test_nul_in_path_or_query_is_refused(path: str, query: bytes) -> None:
    app = _App()
    assert _run(_guard(app), _chunks(b""), path=path, query=query)[0]["status"] == 400
    assert app.bodies == []


def test_a_binary_path_takes_nul_in_its_body() -> None:
    app = _App()
    _run(_guard(app, binary_paths=("/scan",)), _chunks(b"\x00\x01"), path="/scan")
    assert app.bodies == [b"\x00\x01"]


def test_a_streamed_body_over_the_cap_is_refused_with_413() -> None:
    app = _App()
    sent = _run(_guard(app), _chunks(b"a" * 10, b"a" * 10))
    assert app.bodies == [] and sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "too_big"}


def test_a_path_with_its_own_limit_takes_more_and_no_more() -> None:
    app = _App()
    guard = _guard(app, path_limits={"/upload": 32})
    assert _run(guard, _chunks(b"a" * 20, b"a" * 10), path="/upload")[0]["status"] == 204
    assert _run(guard, _chunks(b"a" * 20, b"a" * 13), path="/upload")[0]["status"] == 413
    assert _run(guard, _chunks(b"a" * 20), path="/other")[0]["status"] == 413
    assert app.bodies == [b"a" * 30]


def test_a_client_gone_mid_body_is_logged_once_and_the_app_never_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _App()
    caplog.set_level(logging.INFO, "vc.asgi_guard")
    sent = _run(_guard(app), [{"type": "http.request", "body": b"abc", "more_body": True}])
    assert app.bodies == [] and sent == []
    (line,) = caplog.records
    assert line.levelno == logging.INFO and line.exc_info is None
    assert "3 of ? bytes" in line.getMessage()
