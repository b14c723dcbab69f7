"""The status-list change feed (`GET /status-lists/events`): an event per publication, resumption
after `Last-Event-ID` (compacted: one event per list published since), `resync` when the position
is beyond what the feed replays, and a clear 400 for a position that is not one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from lifecycle_kit import Issued, Office

from issuer.status.feed import replay_after
from vc.status_feed import EVENT_RESYNC, EVENT_STATUS_LIST, SseDecoder, SseEvent

FEED = "/status-lists/events"


class FeedReader:
    """One open feed connection, read event by event (heartbeats skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.iter_text()
        self._decoder = SseDecoder()
        self._ready: list[SseEvent] = []

    def next(self) -> SseEvent:
        while not self._ready:
            self._ready += self._decoder.feed(next(self._chunks))
        return self._ready.pop(0)


def _open(server: Any, last_event_id: str | None = None) -> Any:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    return server.client.stream(
        "GET", FEED, headers=headers, timeout=httpx.Timeout(10.0, read=20.0)
    )


def _data(event: SseEvent) -> dict[str, Any]:
    return dict(orjson.loads(event.data))


@pytest.fixture
def office(live_server: Any, tmp_path: Path) -> Office:
    return Office(live_server, tmp_path)


def _issued_pair(office: Office) -> tuple[Issued, Issued]:
    first, second = office.issue("E1001"), office.issue("E1002")
    assert first.uri == second.uri  # one list: both changes publish it
    office.fetch(first.uri)  # the list's first token exists (signed when first asked for)
    return first, second


def test_an_event_per_publication_then_resumption_after_last_event_id(
    live_server: Any, office: Office
) -> None:
    first, second = _issued_pair(office)
    with _open(live_server) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        feed = FeedReader(response)
        start = feed.next()
        assert start.event == EVENT_RESYNC and _data(start) == {"reason": "start"}
        assert start.id is not None and start.id.isdigit()

        assert office.act("revoke", first, "phone_lost").status_code == 200
        revoked = feed.next()
        assert revoked.event == EVENT_STATUS_LIST
        assert int(revoked.id or 0) == int(start.id) + 1
        published = office.published(first.uri)
        assert _data(revoked) == {
            "uri": first.uri,
            "etag": office.fetch(first.uri, **{"Accept-Encoding": "identity"}).headers["etag"][
                1:-1
            ],
            "iat": published.iat,
        }

        assert office.act("suspend", second, "investigation").status_code == 200
        suspended = feed.next()
        assert int(suspended.id or 0) == int(revoked.id or 0) + 1

    assert office.act("reinstate", second, "investigation_closed").status_code == 200
    with _open(live_server, suspended.id) as response:  # missed one publication: replayed
        missed = FeedReader(response).next()
        assert missed.event == EVENT_STATUS_LIST
        assert int(missed.id or 0) == int(suspended.id or 0) + 1
        assert _data(missed)["uri"] == first.uri

    with _open(live_server, start.id) as response:  # three publications of one list: one event
        caught_up = FeedReader(response).next()
        assert caught_up.id == missed.id and _data(caught_up)["uri"] == first.uri


def test_a_position_beyond_the_feed_is_told_to_resync(live_server: Any, office: Office) -> None:
    _issued_pair(office)
    with _open(live_server, "999999999") as response:
        event = FeedReader(response).next()
    assert event.event == EVENT_RESYNC and _data(event) == {"reason": "replay_unavailable"}
    with live_server.runtime.unit_of_work() as session:
        assert replay_after(session, 0, limit=0).events is None  # more lists than the window
        assert replay_after(session, 0, limit=10).events is not None


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "1e3", "9" * 41, "9" * 500])
def test_a_last_event_id_that_is_no_position_is_a_400(live_server: Any, bad: str) -> None:
    response = live_server.client.get(FEED, headers={"Last-Event-ID": bad})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_last_event_id"


def test_closing_the_feed_waits_for_the_poll_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issuer closes its database after the feed: a poll still reading then would leave its
    connection to the garbage collector, so `close` waits for it and no poll starts after."""
    import asyncio
    import contextlib
    import threading

    from issuer.status import feed as feed_module

    polling, release, reads = threading.Event(), threading.Event(), []

    def head(_session: Any) -> int:
        reads.append(1)
        if len(reads) > 1:  # the stream's own read first, then the poller's
            polling.set()
            release.wait(10)
        return 0

    monkeypatch.setattr(feed_module, "feed_head", head)
    feed = feed_module.StatusFeed(contextlib.nullcontext, poll_s=0.01)  # type: ignore[arg-type]

    async def scenario() -> None:
        stream = feed.stream(None)
        await anext(stream)  # the opening resync; the poller has started
        await asyncio.to_thread(polling.wait, 10)
        closing = asyncio.create_task(feed.close())
        await asyncio.sleep(0.1)
        assert not closing.done()  # waiting for the read in progress
        release.set()
        await asyncio.wait_for(closing, 10)
        await stream.aclose()
        count = len(reads)
        again = feed.stream(None)
        await anext(again)
        await asyncio.sleep(0.1)
        await again.aclose()
        assert len(reads) == count + 1  # the new stream's own read; no poller after close

    asyncio.run(scenario())
