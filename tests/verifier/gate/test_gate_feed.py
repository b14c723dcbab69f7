"""The gate on the status-list change feed: a revocation at the real issuer reaches a running gate
long before the list's `ttl`; a forged or replayed announcement changes nothing (the gate trusts
only the signed token); with the feed down the gate falls back to the `ttl`; `/health` shows the
feed's state and each list's age."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate_kit import (
    WAIT_S,
    Clock,
    gate_policy,
    make_gate,
    presentation,
    running_issuer,
    scan,
    serve,
    wait_until,
)
from lifecycle_kit import Office

from mobileid.gate_app import create_gate_app
from vc.keys import Ed25519PrivateKey
from vc.status_feed import EVENT_STATUS_LIST, StatusListChanged, encode_event
from vc.status_list import INVALID
from verifier.gate.feed import GateFeed
from verifier.gate.service import GateService


def _health(gate: Any) -> dict[str, Any]:
    return dict(httpx.get(gate.url + "/health", timeout=10).json())


@pytest.mark.slow
def test_a_revocation_reaches_a_running_gate_through_the_feed(
    live_server: Any, tmp_path: Path
) -> None:
    office = Office(live_server, tmp_path)
    issued = office.issue("E1002")
    clock = lambda: live_server.clock().timestamp()  # noqa: E731
    policy = gate_policy(live_server.url)
    service = make_gate(policy, tmp_path, clock=clock)
    feed = GateFeed(service)
    with serve(create_gate_app(service, worker_factory=None, feed=feed)) as gate:

        def decide() -> dict[str, Any]:
            shown = presentation(
                issued.credential, issued.key, audience=policy.audience, iat=clock()
            )
            return scan(gate, shown)

        assert decide()["allow"] is True
        connected = wait_until(
            lambda: [f for f in _health(gate)["status_feed"] if f["state"] == "connected"],
            "the feed to connect",
        )
        assert connected[0]["url"] == live_server.url + "/status-lists/events"
        assert office.act("revoke", issued, "phone_lost").status_code == 200
        # no clock advanced: the list's ttl (300 s) is far away; only the feed can tell the gate
        assert wait_until(lambda: decide()["reason"] == "revoked", "the revocation at the gate")
        health = _health(gate)
        (state,) = health["status_feed"]
        assert state["state"] == "connected" and state["events"] >= 1
        assert state["last_event_id"] is not None and state["last_event_id"].isdigit()
        (listed,) = health["status_list_ages"]
        assert listed["uri"] == issued.uri and listed["age_s"] >= 0


def _feed_of(events: list[bytes]) -> httpx.MockTransport:
    """A feed that sends `events` on every connection (a forger's, or a replaying one)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=b"".join(events), headers={"Content-Type": "text/event-stream"}
        )

    return httpx.MockTransport(handler)


def _follow(service: GateService, events: list[bytes], until: Callable[[GateFeed], bool]) -> None:
    feed = GateFeed(service, sources=[("http://127.0.0.1:9/feed", {})], transport=_feed_of(events))

    async def run() -> None:
        await feed.start()
        try:
            while not until(feed):
                await asyncio.sleep(0.02)
        finally:
            await feed.stop()

    asyncio.run(asyncio.wait_for(run(), WAIT_S))


def test_forged_and_replayed_announcements_change_nothing(tmp_path: Path) -> None:
    clock = Clock()
    with running_issuer(clock) as (issuer, _):
        holder = Ed25519PrivateKey.generate()
        credential, idx = issuer.issue(holder)
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock=clock)
        assert service.scan(
            presentation(credential, holder, audience=policy.audience, iat=clock())
        ).allow
        held = service.status.entries()[0]
        fetches = issuer.fetches

        def event(uri: str, iat: int, n: int) -> bytes:
            data = StatusListChanged(uri, "forged", iat).to_data()
            return encode_event(EVENT_STATUS_LIST, data, str(n))

        replayed = [event(issuer.status_uri, held.verified.iat - 60, n) for n in range(1, 4)]
        _follow(service, replayed, lambda f: f.subscriptions[0].state.events >= 3)
        assert issuer.fetches == fetches  # an announcement older than the token held: no fetch

        elsewhere = [event("http://127.0.0.1:1/status-lists/1", 2**40, 9)]
        _follow(service, elsewhere, lambda f: f.subscriptions[0].state.events >= 1)
        assert issuer.fetches == fetches and len(service.status) == 1  # no trusted issuer there

        forged = [event(issuer.status_uri, 2**40, 10)]  # "changed, far in the future": it did not
        _follow(service, forged, lambda f: issuer.fetches > fetches)
        after = service.status.entries()[0]
        assert after.token == held.token and after.verified.iat == held.verified.iat
        assert service.scan(
            presentation(credential, holder, audience=policy.audience, iat=clock())
        ).allow

        issuer.set_status(idx, INVALID)  # the real change the issuer would announce
        clock.advance(1)
        issuer.publish()
        genuine = [event(issuer.status_uri, int(clock()), 11)]
        _follow(service, genuine, lambda f: service.status.entries()[0].token != held.token)
        decision = service.scan(
            presentation(credential, holder, audience=policy.audience, iat=clock())
        )
        assert decision.reason == "revoked"


def test_with_the_feed_down_the_gate_falls_back_to_the_ttl(tmp_path: Path) -> None:
    clock = Clock()
    with running_issuer(clock, ttl=60) as (issuer, _):
        holder = Ed25519PrivateKey.generate()
        credential, idx = issuer.issue(holder)
        closed = httpx.MockTransport(lambda request: httpx.Response(503))
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock=clock)
        feed = GateFeed(
            service, sources=[(issuer.url + "/status-lists/events", {})], transport=closed
        )
        with serve(create_gate_app(service, worker_factory=None, feed=feed)) as gate:

            def decide() -> dict[str, Any]:
                return scan(
                    gate, presentation(credential, holder, audience=policy.audience, iat=clock())
                )

            assert decide()["allow"] is True
            wait_until(
                lambda: _health(gate)["status_feed"][0]["state"] == "down", "the feed to be down"
            )
            issuer.set_status(idx, INVALID)
            assert decide()["allow"] is True  # the list held is still within its ttl
            clock.advance(61)
            service.refresher.run_once()  # the ttl ran out: the refresher fetches, as always
            assert decide()["reason"] == "revoked"
            assert _health(gate)["status_feed"][0]["state"] == "down"


def test_gate_sync_updates_the_running_gate_at_once(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mobileid.cli import app as cli
    from verifier.gate.reload import BundleWatch

    clock = Clock()
    with running_issuer(clock) as (issuer, _):
        holder = Ed25519PrivateKey.generate()
        credential, idx = issuer.issue(holder)
        data = {
            "gate_id": "sejong-06-east-01",
            "site": "sejong",
            "trusted_issuers": [{"issuer": issuer.url, "status_lists": [issuer.status_uri]}],
            "allow_insecure_loopback": True,
            "status_feed": "off",
        }
        policy_file = tmp_path / "policy.json"
        policy_file.write_text(json.dumps(data))
        policy = gate_policy(issuer.url, **data)
        service = make_gate(policy, tmp_path, clock=clock)
        watch = BundleWatch(service, tmp_path / "gate", every_s=0.05)
        watch.start()
        try:
            with serve(create_gate_app(service, worker_factory=None)) as gate:

                def decide() -> dict[str, Any]:
                    shown = presentation(credential, holder, audience=policy.audience, iat=clock())
                    return scan(gate, shown)

                assert decide()["allow"] is True
                issuer.set_status(idx, INVALID)
                assert decide()["allow"] is True  # within the list's ttl, and no feed
                args = ["gate", "sync", "--policy", str(policy_file), "--from-issuers"]
                result = CliRunner().invoke(cli, [*args, "--data-dir", str(tmp_path / "gate")])
                assert result.exit_code == 0, result.output
                assert "running gate" in result.output and "picked it up" in result.output
                assert decide()["reason"] == "revoked"
        finally:
            watch.stop()
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(tmp_path / "gate")])
    assert "no gate is running" in result.output


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, [("https://issuer.example/status-lists/events", {})]),
        ({"status_feed": "off"}, []),
        (
            {"central_url": "https://site.example", "central_token": "t0123456789abcdef"},
            [
                (
                    "https://site.example/status-lists/events",
                    {"Authorization": "Bearer t0123456789abcdef"},
                )
            ],
        ),
        ({"status_feed": "https://relay.example/feed"}, [("https://relay.example/feed", {})]),
    ],
    ids=["auto-issuer", "off", "auto-central-relay", "url"],
)
def test_which_feed_a_gate_follows(overrides: dict[str, Any], expected: list[Any]) -> None:
    from verifier.gate.feed import feed_sources

    assert feed_sources(gate_policy("https://issuer.example", **overrides)) == expected


@pytest.mark.parametrize("value", ["sometimes", "ftp://feed.example", 5])
def test_a_status_feed_that_is_no_choice_is_refused(value: Any) -> None:
    from verifier.policy import PolicyError

    with pytest.raises(PolicyError, match="status_feed"):
        gate_policy("https://issuer.example", status_feed=value)
