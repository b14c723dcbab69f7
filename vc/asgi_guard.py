"""The edge of every HTTP app (ASGI 3 middleware): body size, NUL and lone surrogates, and clients
that leave mid-body, handled once before any route runs.

- A body over `max_body_bytes` is refused with 413 (declared `Content-Length` first, then the
  bytes as they stream in). This is the one body-size limit of each app; a route may cap lower,
  and a path named in `path_limits` has its own (the console's HR export upload).
- NUL (U+0000) in the path, the query string or the body is refused with 400, whether raw,
  percent-encoded (`%00`) or a JSON escape (`\\u0000`), and so is the JSON escape of a lone
  surrogate (`\\ud800` without its pair; the standard `json` module, which FastAPI uses, decodes
  it). PostgreSQL refuses NUL in text where SQLite stores it, and neither driver can encode a
  lone surrogate: each was a 500, or a value one database keeps and the other refuses.
- A client that disconnects before its body is complete is logged in one INFO line; the app is
  never called (no half-read request, no traceback).

Only NUL: other control characters are text both databases store and JSON may escape, some are
legitimate (a newline in a comment), and fields that must not hold them say so in their own
validators. `%00` is refused in any body, JSON included: a route may read a form whatever the
declared media type, and no field we take holds that text. What the edge cannot see is the
routes' to check: JSON inside a form field (`vp_token`, its escapes sent as `%5Cu0000`) or inside
an encrypted response; the OpenID4VP parser checks `state` and `error` there, and nothing of a
presentation is stored before its issuer's signature is verified. Bodies of `binary_paths` (the
gate's `POST /scan`: a QR payload's raw bytes) are size checked but not scanned; their decoder
answers garbage in its own shape.

Why here, standard library only, and why every app builds its own refusal: the issuer's app is
assembled in `mobileid/`, the verifier's login, gate and central apps in `verifier/`, which may
not import `mobileid/` nor the issuer (`tests/test_layering.py`). Like `vc.private_files`, this
module needs no framework (ASGI messages are dicts), so every party uses the same rule, and
each app passes `refuse(path, status, detail)` returning the ASGI response in that endpoint's
error shape (OAuth's `{"error", "error_description"}` at protocol endpoints).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, MutableMapping
from typing import Any

__all__ = ["RequestGuard", "holds_unsafe_text"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Refuse = Callable[[str, int, str], ASGIApp]
"""`refuse(path, status, detail)`: the response for a request refused at the edge."""

log = logging.getLogger(__name__)

_HIGH, _LOW = rb"[dD][89abAB][0-9a-fA-F]{2}", rb"[dD][c-fC-F][0-9a-fA-F]{2}"
_SURROGATE_PAIR = re.compile(rb"\\u" + _HIGH + rb"\\u" + _LOW)
_NUL_OR_SURROGATE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSAFE_DETAIL = "NUL or a lone surrogate in the request"


def holds_unsafe_text(data: bytes) -> bool:
    """True if `data` holds NUL, raw or `%00`, or a JSON escape of NUL or of a surrogate outside
    a high-low pair (RFC 8259 §7).

    An escaped backslash is text: each `\\\\` becomes a neutral byte first, so every backslash
    left starts an escape. Byte operations and regular expressions only, linear in the length:
    at worst (2 MB of nothing but escapes) 0.1 s, 3 ms for the issuer's 64 KiB cap.
    """
    if b"\x00" in data or b"%00" in data:
        return True
    if b"\\" not in data:
        return False
    escapes = _SURROGATE_PAIR.sub(b".", data.replace(b"\\\\", b"."))
    return _NUL_OR_SURROGATE.search(escapes) is not None


class RequestGuard:
    """ASGI middleware: refuse oversized bodies (413) and unsafe text (400) before the app runs.

    The body is read in full (at most `max_body_bytes`) before the app is called, then handed
    to it as one message.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        refuse: Refuse,
        binary_paths: Collection[str] = (),
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path_limits = dict(path_limits or {})
        self.refuse = refuse
        self.binary_paths = frozenset(binary_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        raw_path: bytes = scope.get("raw_path") or path.encode("utf-8", "surrogatepass")
        if holds_unsafe_text(raw_path) or holds_unsafe_text(scope.get("query_string", b"")):
            await self.refuse(path, 400, _UNSAFE_DETAIL)(scope, receive, send)
            return
        limit = self.path_limits.get(path, self.max_body_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                log.info(
                    "client left before its body was complete: %s %r (%d of %s bytes)",
                    scope.get("method"),
                    path,
                    size,
                    "?" if declared is None else declared,
                )
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, receive, send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if path not in self.binary_paths and holds_unsafe_text(body):
            await self.refuse(path, 400, _UNSAFE_DETAIL)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        detail = f"request body larger than {limit} bytes"
        await self.refuse(scope.get("path", ""), 413, detail)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` that first hands over the body already read, then the connection's own."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
