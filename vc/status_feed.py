"""The status-list change feed on the wire: Server-Sent Events (WHATWG HTML §9.2) announcing
Token Status List publications.

An event names a list and its new token only (`uri`, `etag`, `iat`); it carries no status and no
trust of its own: a subscriber fetches the signed Status List Token and verifies it as always.
Event `status_list` announces a publication; `resync` tells the subscriber to revalidate every
list it holds (no position given, a position the feed no longer replays, or one it never
issued). The `id:` of each event is the feed position a reconnecting subscriber sends back in
`Last-Event-ID`. Lines starting with `:` are heartbeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from vc.errors import Code, FormatError

__all__ = [
    "EVENT_RESYNC",
    "EVENT_STATUS_LIST",
    "MAX_EVENT_ID_CHARS",
    "STATUS_FEED_MEDIA_TYPE",
    "SseDecoder",
    "SseEvent",
    "StatusListChanged",
    "encode_comment",
    "encode_event",
    "parse_status_list_changed",
]

STATUS_FEED_MEDIA_TYPE = "text/event-stream"
EVENT_STATUS_LIST = "status_list"
EVENT_RESYNC = "resync"
MAX_EVENT_ID_CHARS = 40
MAX_LINE_CHARS = 4096
"""No legitimate line is longer (a URI of at most 2,000 characters, an ETag, a number); a longer
one ends the connection rather than growing a buffer without bound."""
_MAX_URI_CHARS = 2000
_MAX_ETAG_CHARS = 200


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None


@dataclass(frozen=True, slots=True)
class StatusListChanged:
    """A list was published anew: fetch `uri`; a token with an older `iat` than one held is old."""

    uri: str
    etag: str
    iat: int

    def to_data(self) -> str:
        return orjson.dumps({"uri": self.uri, "etag": self.etag, "iat": self.iat}).decode()


def encode_event(event: str, data: str, event_id: str | None = None) -> bytes:
    """One event: `id:` (if any), `event:`, one `data:` line per line of `data`, blank line."""
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def encode_comment(text: str) -> bytes:
    """A comment line (ignored by subscribers; keeps idle connections and proxies alive)."""
    return f": {text}\n\n".encode()


def parse_status_list_changed(data: str) -> StatusListChanged:
    """The `data` of a `status_list` event; raises `FormatError` on anything else."""
    try:
        body: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise FormatError(Code.malformed, "event data is not JSON") from None
    if not isinstance(body, dict):
        raise FormatError(Code.malformed, "event data is not an object")
    uri, etag, iat = body.get("uri"), body.get("etag"), body.get("iat")
    if not isinstance(uri, str) or not 0 < len(uri) <= _MAX_URI_CHARS:
        raise FormatError(Code.malformed, "event uri missing or too long")
    if not isinstance(etag, str) or len(etag) > _MAX_ETAG_CHARS:
        raise FormatError(Code.malformed, "event etag missing or too long")
    if isinstance(iat, bool) or not isinstance(iat, int) or iat < 0:
        raise FormatError(Code.malformed, "event iat is not a non-negative integer")
    return StatusListChanged(uri, etag, iat)


class SseDecoder:
    """Text in, events out (the spec's line parsing and dispatch); one per connection."""

    def __init__(self) -> None:
        self._buffer = ""
        self._held_cr = ""
        self._event = ""
        self._data: list[str] = []
        self.last_id: str | None = None
        """The last event id seen: what a reconnect sends as `Last-Event-ID`."""

    def feed(self, text: str) -> list[SseEvent]:
        """Events completed by `text`; raises `FormatError` on a line longer than allowed."""
        text = self._held_cr + text
        self._held_cr = "\r" if text.endswith("\r") else ""  # may be half of a CRLF
        text = text.removesuffix("\r")
        self._buffer += text.replace("\r\n", "\n").replace("\r", "\n")
        *lines, self._buffer = self._buffer.split("\n")
        if len(self._buffer) > MAX_LINE_CHARS:
            raise FormatError(Code.input_too_large, "feed line too long")
        events = []
        for line in lines:
            if len(line) > MAX_LINE_CHARS:
                raise FormatError(Code.input_too_large, "feed line too long")
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value and len(value) <= MAX_EVENT_ID_CHARS:
            self.last_id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:
            return None
        return SseEvent(event, "\n".join(data), self.last_id)
