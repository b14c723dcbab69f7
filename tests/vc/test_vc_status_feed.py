"""The change feed's wire format (`vc.status_feed`): Server-Sent Events as WHATWG HTML §9.2 parses
them, and the `status_list` event's data refused unless exactly its shape."""

from __future__ import annotations

import pytest

from vc.errors import Code, FormatError
from vc.status_feed import (
    MAX_LINE_CHARS,
    SseDecoder,
    SseEvent,
    StatusListChanged,
    encode_comment,
    encode_event,
    parse_status_list_changed,
)


def test_events_round_trip_in_any_chunking_and_line_ending() -> None:
    changed = StatusListChanged("https://issuer.example/status-lists/1", "abc", 1_700_000_000)
    wire = (
        encode_comment("heartbeat")
        + encode_event("status_list", changed.to_data(), "7")
        + encode_event("resync", "a\nb")
    ).decode()
    for text in (wire, wire.replace("\n", "\r\n"), wire.replace("\n", "\r")):
        decoder = SseDecoder()
        events = [e for ch in text for e in decoder.feed(ch)]  # one character at a time
        events += decoder.feed(": the next heartbeat\n")  # a final CR may be half a CRLF
        assert events == [
            SseEvent("status_list", changed.to_data(), "7"),
            SseEvent("resync", "a\nb", "7"),  # the last id stays until another is given
        ]
        assert parse_status_list_changed(events[0].data) == changed
        assert decoder.last_id == "7"


def test_an_endless_line_ends_the_stream() -> None:
    with pytest.raises(FormatError) as caught:
        SseDecoder().feed("data: " + "x" * MAX_LINE_CHARS)
    assert caught.value.code == Code.input_too_large


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[]",
        '{"uri": "", "etag": "e", "iat": 1}',
        '{"uri": "u", "etag": 1, "iat": 1}',
        '{"uri": "u", "etag": "e", "iat": true}',
        '{"uri": "u", "etag": "e", "iat": -1}',
        '{"uri": "u", "etag": "e"}',
    ],
)
def test_status_list_event_data_is_refused_unless_well_formed(data: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_status_list_changed(data)
    assert caught.value.code == Code.malformed
