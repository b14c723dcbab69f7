"""Test kit for the edge of every HTTP app: NUL (and lone surrogates) in each path parameter,
query parameter and body field of every route an app serves, and a client leaving mid-body.

Routes come from the app's OpenAPI document plus `app.routes` (what the schema leaves out);
each test module gives a `Baseline` per route (real ids, a valid body, its authentication), and
the kit derives one request per place a NUL can go: each path parameter, each documented query
parameter (or an undocumented one), each JSON string field of the documented body schema and of
the baseline body, each form field.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest

NUL = "\x00"
LONE_SURROGATE = "\ud800"
_PARAM = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """The template, e.g. `/hr/applications/{application_id}`."""
    operation: Mapping[str, Any] | None
    """Its OpenAPI operation; None for a route the schema leaves out."""
    schema: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The whole OpenAPI document (for `$ref`s)."""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Baseline:
    """A request to a route that the app would take (or refuse on its merits)."""

    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    json_body: Any = None
    form: Mapping[str, str] | None = None
    auth: Mapping[str, str] = field(default_factory=dict)
    """Headers that authenticate (sent in one variant, left out in the other)."""
    body_schema: Mapping[str, Any] | None = None
    """The JSON Schema of a body the OpenAPI document does not describe (a route that reads
    the request itself): its string fields are attacked too."""


@dataclass(frozen=True)
class Attack:
    route: Route
    where: str
    url_path: str
    query: Mapping[str, str]
    content: bytes | None
    content_type: str | None

    @property
    def id(self) -> str:
        return f"{self.route.key} [{self.where}]"


def routes_of(app: Any) -> list[Route]:
    """Every (method, path) the app serves: its OpenAPI document, then `app.routes` beyond it."""
    with warnings.catch_warnings():  # the login app's /userinfo is one route for GET and POST
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        schema = app.openapi()
    found: dict[str, Route] = {}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            route = Route(method.upper(), path, operation, schema)
            found[route.key] = route
    for served in app.routes:
        for method in sorted(getattr(served, "methods", None) or ()):
            route = Route(method, served.path, None, schema)
            if method != "HEAD" and route.key not in found:
                found[route.key] = route
    return sorted(found.values(), key=lambda r: r.key)


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _string_fields(
    schema: Mapping[str, Any], node: Mapping[str, Any], at: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    node = _resolve(schema, node)
    for option in (*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())):
        yield from _string_fields(schema, option, at)
    kind = node.get("type")
    if kind == "string":
        yield at
    elif kind == "array" and "items" in node:
        yield from _string_fields(schema, node["items"], (*at, 0))
    for name, sub in node.get("properties", {}).items():
        yield from _string_fields(schema, sub, (*at, name))


def _leaf_strings(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield at
    elif isinstance(value, dict):
        for name, sub in value.items():
            yield from _leaf_strings(sub, (*at, name))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _leaf_strings(sub, (*at, i))


def _with(value: Any, at: tuple[Any, ...], text: str) -> Any:
    """A copy of `value` whose string at `at` holds `text` (made where missing)."""
    if not at:
        return (value if isinstance(value, str) else "x") + text + "x"
    head, rest = at[0], at[1:]
    if isinstance(head, int):
        items = list(value) if isinstance(value, list) else []
        if not items:
            items.append({} if rest and not isinstance(rest[0], int) else "")
        items[0] = _with(items[0], rest, text)
        return items
    copy = dict(value) if isinstance(value, dict) else {}
    copy[head] = _with(copy.get(head), rest, text)
    return copy


def _documented(route: Route, place: str) -> list[str]:
    parameters = (route.operation or {}).get("parameters", ())
    return [p["name"] for p in parameters if p.get("in") == place]


def _json_fields(route: Route, baseline: Baseline) -> list[tuple[Any, ...]]:
    content = ((route.operation or {}).get("requestBody") or {}).get("content", {})
    fields: list[tuple[Any, ...]] = []
    if "application/json" in content:
        fields += _string_fields(route.schema, content["application/json"]["schema"])
    if baseline.body_schema is not None:
        fields += _string_fields(baseline.body_schema, baseline.body_schema)
    fields += _leaf_strings(baseline.json_body)
    return list(dict.fromkeys(fields))


def _form_fields(route: Route, baseline: Baseline) -> list[str]:
    content = ((route.operation or {}).get("requestBody") or {}).get("content", {})
    form = content.get("application/x-www-form-urlencoded", {}).get("schema", {})
    return list(dict.fromkeys([*form.get("properties", {}), *(baseline.form or {})]))


def attacks(route: Route, baseline: Baseline) -> list[Attack]:
    """One request per place a NUL can go; JSON fields also get a lone surrogate."""
    params = dict(baseline.path_params)
    missing = set(_PARAM.findall(route.path)) - set(params)
    assert not missing, f"{route.key}: baseline lacks path parameters {missing}"

    def url_path(values: Mapping[str, str]) -> str:
        return _PARAM.sub(lambda m: quote(values[m.group(1)], safe=""), route.path)

    def body() -> tuple[bytes | None, str | None]:
        if baseline.form is not None:
            return urlencode(baseline.form).encode(), "application/x-www-form-urlencoded"
        if baseline.json_body is not None:
            return json.dumps(baseline.json_body).encode(), "application/json"
        return None, None

    content, media = body()
    out: list[Attack] = []

    def add(where: str, path_values: Mapping[str, str], query: Mapping[str, str], c: Any) -> None:
        data, kind = c
        out.append(Attack(route, where, url_path(path_values), query, data, kind))

    for name, value in params.items():
        add(f"path {name}", {**params, name: value + NUL}, baseline.query, (content, media))
    for name in _documented(route, "query") or [*baseline.query] or ["q"]:
        query = {**baseline.query, name: baseline.query.get(name, "x") + NUL}
        add(f"query {name}", params, query, (content, media))
    for at in _json_fields(route, baseline):
        for label, text in (("NUL", NUL), ("lone surrogate", LONE_SURROGATE)):
            data = json.dumps(_with(baseline.json_body, at, text)).encode()
            where = f"json {'.'.join(map(str, at)) or 'body'} {label}"
            add(where, params, baseline.query, (data, "application/json"))
    for name in _form_fields(route, baseline):
        form = {**(baseline.form or {}), name: (baseline.form or {}).get(name, "x") + NUL}
        add(f"form {name}", params, baseline.query, (urlencode(form).encode(), media))
    return out


def send(http: httpx.Client, base: str, attack: Attack, auth: Mapping[str, str]) -> httpx.Response:
    headers = dict(auth)
    if attack.content_type:
        headers["Content-Type"] = attack.content_type
    return http.request(
        attack.route.method,
        base + attack.url_path,
        params=dict(attack.query),
        content=attack.content,
        headers=headers,
    )


def assert_refused(response: httpx.Response, code: str, what: str) -> None:
    """400 with the endpoint's error code in its JSON shape, and no trace of an exception."""
    assert response.status_code == 400, (what, response.status_code, response.text[:300])
    assert response.json()["error"] == code, (what, response.text[:300])
    assert "Traceback" not in response.text, what


def run_attacks(
    http: httpx.Client,
    base: str,
    routes: list[Route],
    baselines: Mapping[str, Baseline],
    code_for: Any,
) -> int:
    """Every attack on every route, with and without its authentication; the count sent."""
    sent = 0
    for route in routes:
        baseline = baselines.get(route.key)
        if baseline is None:
            assert route.method == "GET" and not _PARAM.search(route.path), (
                f"{route.key}: give it a Baseline"
            )
            baseline = Baseline()
        variants = (baseline.auth, {}) if baseline.auth else ({},)
        for attack in attacks(route, baseline):
            for auth in variants:
                assert_refused(send(http, base, attack, auth), code_for(route.path), attack.id)
                sent += 1
    return sent


@contextlib.contextmanager
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """`caplog`, also fed by uvicorn's loggers (which do not propagate), from INFO up."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    try:
        yield caplog
    finally:
        uvicorn.removeHandler(caplog.handler)


def assert_no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [(r.name, r.getMessage()) for r in bad]
    assert "Traceback" not in caplog.text


def leave_mid_body(base: str, path: str, head: bytes, *, declared: int = 4096) -> None:
    """Send the headers and the first bytes of a body, then hang up."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n".encode()
            + head
        )


def assert_one_line_for_leaving(
    caplog: pytest.LogCaptureFixture, base: str, path: str, head: bytes
) -> None:
    """A client gone mid-body: exactly one log line, below ERROR, without a traceback."""
    caplog.clear()
    leave_mid_body(base, path, head)
    deadline = time.monotonic() + 10
    while not [r for r in caplog.records if path in r.getMessage()]:
        assert time.monotonic() < deadline, "the disconnect was never logged"
        time.sleep(0.02)
    mentions = [r for r in caplog.records if path in r.getMessage()]
    assert len(mentions) == 1, [r.getMessage() for r in mentions]
    (line,) = mentions
    assert line.levelno < logging.ERROR and line.exc_info is None, line.getMessage()
    assert "\n" not in line.getMessage()
    assert_no_tracebacks(caplog)
