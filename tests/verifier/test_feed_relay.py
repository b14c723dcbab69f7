"""The central verifier relays the change feed: gates at a site follow the central service, which
holds one connection to the issuer's feed between them, and a revocation reaches each gate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate_kit import gate_policy, make_gate, presentation, scan, serve, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from lifecycle_kit import Office

from mobileid.db import create_db_engine
from verifier.central import CentralConfig, CentralService, create_central_app
from verifier.feed_relay import FeedRelay
from verifier.gate.api import create_gate_app
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
    central = CentralService(
        config, engine=create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}"), client=None
    )
    central.create_tables()
    relay = FeedRelay([live_server.url], allow_insecure_loopback=True)
    with serve(create_central_app(central, relay=relay)) as site:
        bad = httpx.get(
            site.url + "/status-lists/events",
            headers={"Authorization": "Bearer site-token-0123456789", "Last-Event-ID": "x-y"},
        )
        assert (bad.status_code, bad.json()) == (400, {"error": "invalid_last_event_id"})
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
            wait_until(lambda: relay.upstream[0].state.state == "connected", "the relay upstream")
            assert len(relay.upstream) == 1
            assert office.act("revoke", issued, "phone_lost").status_code == 200
            for policy, gate in served:
                wait_until(
                    lambda p=policy, g=gate: decide(p, g)["reason"] == "revoked", "the revocation"
                )
            assert relay.upstream[0].state.events >= 1
    central.close()
