"""The central verifier relays the change feed: gates at a site follow the central service, which
holds one connection to the issuer's feed between them, and a revocation reaches each gate; a gate
resumes within the relay's window and is told to resync beyond it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate_kit import gate_policy, make_gate, presentation, scan, serve, wait_until
from lifecycle_kit import Office

from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.gate_app import create_gate_app
from vc.status_feed import (
    EVENT_RESYNC,
    EVENT_STATUS_LIST,
    SseDecoder,
    SseEvent,
    StatusListChanged,
    encode_event,
)
from verifier.central import CentralConfig
from verifier.feed_relay import FeedRelay, InvalidLastEventId
from verifier.gate.feed import GateFeed
from verifier.trust import TrustedIssuer


@pytest.mark.slow
def test_gates_follow_the_central_relay_on_one_upstream_connection(
    live_server: Any, tmp_path: Path
) -> None:
    office = Office(live_server, tmp_path)
    issued = office.issue("E1002")
    clock = lambda: live_server.clock().timestamp()  # noqa: E731
    config = CentralConfig(
        trusted_issuers=(TrustedIssuer.from_json({"issuer": live_server.url}),),
        gate_token="site-token-0123456789",
        allow_insecure_loopback=True,
    )
    central = open_central_service(
        config, engine=create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}"), client=None
    )
    relay = FeedRelay([live_server.url], allow_insecure_loopback=True)
    with serve(create_central_app(central, relay=relay)) as site:
        bad = httpx.get(
            site.url + "/status-lists/events",
            headers={"Authorization": "Bearer site-token-0123456789", "Last-Event-ID": "x-y"},
        )
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_last_event_id")
        assert httpx.get(site.url + "/status-lists/events").status_code == 401

        gates = []
        for name in ("east-01", "east-02"):
            policy = gate_policy(
                live_server.url,
                gate_id=name,
                central_url=site.url,
                central_token="site-token-0123456789",
            )
            service = make_gate(policy, tmp_path, clock=clock, name=name)
            app = create_gate_app(service, worker_factory=None, feed=GateFeed(service))
            gates.append((policy, serve(app)))
        with gates[0][1] as first, gates[1][1] as second:
            served = [(gates[0][0], first), (gates[1][0], second)]

            def decide(policy: Any, gate: Any) -> dict[str, Any]:
                shown = presentation(
                    issued.credential, issued.key, audience=policy.audience, iat=clock()
                )
                return scan(gate, shown)

            for policy, gate in served:
                assert decide(policy, gate)["allow"] is True
                health = httpx.get(gate.url + "/health").json()
                assert health["status_feed"][0]["url"] == site.url + "/status-lists/events"
            wait_until(
                lambda: all(
                    httpx.get(g.url + "/health").json()["status_feed"][0]["state"] == "connected"
                    for _, g in served
                ),
                "both gates on the relay",
            )
            wait_until(
                lambda: (
                    httpx.get(site.url + "/health").json()["status_feed"][0]["state"] == "connected"
                ),
                "the relay upstream",
            )
            assert len(relay.upstream) == 1
            assert office.act("revoke", issued, "phone_lost").status_code == 200
            for policy, gate in served:
                wait_until(
                    lambda p=policy, g=gate: decide(p, g)["reason"] == "revoked", "the revocation"
                )
            assert relay.upstream[0].state.events >= 1
    central.close()


def test_the_relay_replays_within_its_window_and_resyncs_beyond_it() -> None:
    upstream = b"".join(
        encode_event(
            EVENT_STATUS_LIST, StatusListChanged(f"https://i.example/{n}", "e", n).to_data(), str(n)
        )
        for n in range(1, 5)
    )
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=upstream, headers={"Content-Type": "text/event-stream"}
        )
    )

    async def first(stream: Any, count: int) -> list[SseEvent]:
        decoder, found = SseDecoder(), []
        async for chunk in stream:
            found += decoder.feed(chunk.decode())
            if len(found) >= count:
                await stream.aclose()
                return found
        raise AssertionError("stream ended")

    async def run() -> None:
        relay = FeedRelay(["https://i.example"], transport=transport, window=3, heartbeat_s=0.05)
        await relay.start()
        try:
            while relay.upstream[0].state.events < 4:
                await asyncio.sleep(0.01)
            (start,) = await first(relay.stream(None), 1)
            assert start.event == EVENT_RESYNC and start.id is not None
            epoch, number = start.id.split("-")
            assert number == "4"
            replayed = await first(relay.stream(relay.position(f"{epoch}-2")), 2)
            assert [json.loads(e.data)["uri"] for e in replayed] == [
                "https://i.example/3",
                "https://i.example/4",
            ]
            (too_old,) = await first(relay.stream(relay.position(f"{epoch}-0")), 1)
            assert too_old.event == EVENT_RESYNC  # event 1 has left the window of 3
            assert relay.position("0000-2") is None  # another run of the relay: resync
            with pytest.raises(InvalidLastEventId):
                relay.position("4")
        finally:
            await relay.stop()

    asyncio.run(asyncio.wait_for(run(), 20))
