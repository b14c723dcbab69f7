"""A gate over real HTTP on 127.0.0.1: issuer (double) -> presentation -> `POST /scan`.

The issuer double serves the issuer's public contract (metadata, status list with ETag); the
gate and the central verifier service are the real apps. Clocks are injected; no test asserts a
timing.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate_kit import (
    OTHER_AGENCY,
    Clock,
    Served,
    gate_policy,
    make_gate,
    presentation,
    records,
    running_issuer,
    scan,
    serve,
)

from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.gate_app import create_gate_app
from schemas.employee_id import Purpose
from vc.keys import Ed25519PrivateKey
from vc.qr_compact import encode_presentation
from vc.status_list import INVALID, SUSPENDED, VALID
from verifier.central import CentralConfig
from verifier.fetch import new_http_client
from verifier.gate.sync import SyncError, pull_bundle, upload_records
from verifier.trust import TrustedIssuer

HOLDER = Ed25519PrivateKey.generate()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_fresh_qr_allowed_recorded_then_replayed(clock: Clock, tmp_path: Path) -> None:
    with running_issuer(clock) as (issuer, _):
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock)
        credential, _ = issuer.issue(HOLDER)
        qr = encode_presentation(
            presentation(credential, HOLDER, audience=policy.audience, iat=clock())
        )
        with serve(create_gate_app(service, worker_factory=None)) as gate:
            first = scan(gate, qr)
            assert first["allow"] is True and first["reason"] == "ok"
            assert first["displayed_claims"]["employee_number"] == "E1001"
            again = scan(gate, qr)
            assert again == {**again, "allow": False, "reason": "replayed"}
            plain = presentation(credential, HOLDER, audience=policy.audience, iat=clock())
            assert scan(gate, plain)["allow"] is True  # the plain compact string works too
        rows = records(service)
        assert [(r["allow"], r["reason"]) for r in rows] == [
            (True, "ok"),
            (False, "replayed"),
            (True, "ok"),
        ]
        assert rows[0]["employee_number"] == "E1001" and rows[0]["agency_code"] == "1741000"
        assert rows[1]["employee_number"] is None  # who, only when allowed


def test_old_qr_other_audience_untrusted_and_garbage(clock: Clock, tmp_path: Path) -> None:
    with running_issuer(clock) as (issuer, _), running_issuer(clock) as (stranger, _):
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock)
        credential, _ = issuer.issue(HOLDER)
        with serve(create_gate_app(service, worker_factory=None)) as gate:
            old = presentation(credential, HOLDER, audience=policy.audience, iat=clock() - 120)
            assert scan(gate, encode_presentation(old))["reason"] == "kb_too_old"
            other = presentation(credential, HOLDER, audience="gate:sejong:other-gate", iat=clock())
            wrong = scan(gate, encode_presentation(other))
            assert wrong["reason"] == "wrong_audience" and "detail" not in wrong  # malformed only
            foreign, _ = stranger.issue(HOLDER)
            alien = presentation(foreign, HOLDER, audience=policy.audience, iat=clock())
            assert scan(gate, alien)["reason"] == "untrusted_issuer"
            good = presentation(credential, HOLDER, audience=policy.audience, iat=clock())
            jwt, rest = good.split(".", 1)
            payload, tail = rest.split(".", 1)
            flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
            assert scan(gate, f"{jwt}.{flipped}.{tail}")["reason"] in (
                "invalid_signature",
                "malformed",
            )
            tampered_qr = bytearray(encode_presentation(good))
            tampered_qr[10] ^= 0x40
            assert scan(gate, bytes(tampered_qr))["reason"] in ("invalid_signature", "malformed")
            for junk in (
                b"",
                b"\x00\xff" * 300,
                secrets.token_bytes(900),
                b"MI\x01\x01junk",
                b"eyJ" + secrets.token_bytes(50),
                "홍길동".encode(),
            ):
                answer = scan(gate, junk)
                assert answer["reason"] == "malformed" and answer["displayed_claims"] == {}
                assert 0 < len(answer["detail"]) <= 200  # for the operator: what was wrong
            assert scan(gate, "홍길동".encode())["detail"] == (
                "not a QR payload: neither the compact encoding nor SD-JWT text"
            )
            no_kb = good[: good.rindex("~") + 1]  # the KB-JWT left out
            answer = scan(gate, no_kb)
            assert (answer["reason"], "detail" in answer) == ("key_binding_missing", False)
            too_big = httpx.post(gate.url + "/scan", content=b"x" * 20000, timeout=10)
            assert too_big.status_code == 413
            assert too_big.json()["error"] == "scan_too_large"


def test_revocation_seen_once_the_cache_passes_ttl(clock: Clock, tmp_path: Path) -> None:
    with running_issuer(clock, ttl=60) as (issuer, _):
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock)
        credential, idx = issuer.issue(HOLDER)
        with serve(create_gate_app(service, worker_factory=None)) as gate:

            def fresh() -> dict[str, Any]:
                return scan(
                    gate,
                    encode_presentation(
                        presentation(credential, HOLDER, audience=policy.audience, iat=clock())
                    ),
                )

            assert fresh()["allow"] is True
            issuer.set_status(idx, INVALID)
            assert fresh()["allow"] is True  # cached list still within its ttl
            clock.advance(61)
            assert fresh()["allow"] is True  # due: held until the refresher revalidates it
            service.refresher.run_once()
            assert fresh()["reason"] == "revoked"
            assert issuer.fetches == 2


def test_a_list_published_with_ttl_5_is_fetched_again_after_5_s(
    clock: Clock, tmp_path: Path
) -> None:
    """Issue point 10: the issuer says `ttl` 5 because a revocation must reach its gates within
    5 s; a gate that keeps its list longer (a refresh floor of its own) lets the revoked in."""
    with running_issuer(clock, ttl=5) as (issuer, _):
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock)
        credential, idx = issuer.issue(HOLDER)

        def shown() -> Any:
            return service.scan(
                presentation(credential, HOLDER, audience=policy.audience, iat=clock())
            )

        assert shown().allow and issuer.fetches == 1
        issuer.set_status(idx, INVALID)
        clock.advance(4)
        service.refresher.run_once()
        assert shown().allow and issuer.fetches == 1  # within its ttl: the list held
        clock.advance(1)
        service.refresher.run_once()
        assert shown().reason == "revoked" and issuer.fetches == 2
        clock.advance(5)
        service.refresher.run_once()
        assert shown().reason == "revoked" and issuer.not_modified == 1  # every 5 s, with ETag


def test_suspension_and_reinstatement_with_etag(clock: Clock, tmp_path: Path) -> None:
    with running_issuer(clock, ttl=30) as (issuer, _):
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock)
        credential, idx = issuer.issue(HOLDER)
        with serve(create_gate_app(service, worker_factory=None)) as gate:

            def fresh() -> dict[str, Any]:
                return scan(
                    gate, presentation(credential, HOLDER, audience=policy.audience, iat=clock())
                )

            assert fresh()["allow"] is True
            clock.advance(31)
            service.refresher.run_once()
            assert fresh()["allow"] is True
            assert issuer.not_modified == 1  # unchanged list: revalidated with If-None-Match
            issuer.set_status(idx, SUSPENDED)
            clock.advance(31)
            service.refresher.run_once()
            assert fresh()["reason"] == "suspended"
            issuer.set_status(idx, VALID)
            clock.advance(31)
            service.refresher.run_once()
            assert fresh()["allow"] is True


def test_agency_policy_and_library_member_id(clock: Clock, tmp_path: Path) -> None:
    with running_issuer(clock) as (issuer, _):
        gate = make_gate(gate_policy(issuer.url, allowed_agencies=["1741000"]), tmp_path, clock)
        outsider, _ = issuer.issue(HOLDER, number="E3001", agency=OTHER_AGENCY)
        p = presentation(outsider, HOLDER, audience=gate.policy.audience, iat=clock())
        assert gate.scan(p).reason == "agency_not_allowed"

        library = make_gate(
            gate_policy(
                issuer.url,
                gate_id="lib-1",
                site="building:national-library",
                purpose="library",
                member_id_secret_env="LIB_SECRET",
            ),
            tmp_path,
            clock,
            name="library",
        )
        credential, _ = issuer.issue(HOLDER)
        decisions = [
            library.scan(
                presentation(
                    credential,
                    HOLDER,
                    audience=library.policy.audience,
                    iat=clock() + i,
                    purpose=Purpose.library,
                )
            )
            for i in range(2)
        ]
        assert all(d.allow for d in decisions)
        assert decisions[0].member_id == decisions[1].member_id  # stable per library
        assert decisions[0].employee_number is None  # the library never learns it
        gate_p = presentation(
            credential, HOLDER, audience=library.policy.audience, iat=clock(), purpose=Purpose.gate
        )
        assert library.scan(gate_p).reason == "missing_claim"  # no opaque_id disclosed


def _central(tmp_path: Path, issuer_url: str, clock: Clock, port: int | None = None) -> Served:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
    config = CentralConfig(
        trusted_issuers=(TrustedIssuer(issuer_url),),
        gate_token="gate-token-for-tests",
        allow_insecure_loopback=True,
    )
    service = open_central_service(config, engine=engine, client=new_http_client(), clock=clock)
    served = Served(create_central_app(service), port=port)
    served.central = service  # type: ignore[attr-defined]
    return served


def test_a_gate_with_nothing_to_upload_still_tells_the_central_service_it_is_alive(
    clock: Clock, tmp_path: Path
) -> None:
    with running_issuer(clock) as (issuer, _):
        central = _central(tmp_path, issuer.url, clock).start()
        held = central.central  # type: ignore[attr-defined]
        try:
            policy = gate_policy(
                issuer.url, central_url=central.url, central_token="gate-token-for-tests"
            )
            gate = make_gate(policy, tmp_path, clock)
            assert held.gates() == []
            assert upload_records(gate).sent == 0  # nothing to send: a heartbeat
            [heard] = held.gates()
            assert heard == {"gate_id": policy.gate_id, "last_contact_at": pytest.approx(clock())}
            clock.advance(120)
            upload_records(gate)
            assert held.gates()[0]["last_contact_at"] == pytest.approx(clock())
            assert held.records(since=0) == []  # a heartbeat stores no record
            assert httpx.get(f"{central.url}/health").json()["gates"] == held.gates()
        finally:
            central.stop()
            held.close()


@pytest.mark.parametrize("mode", ["fail_closed", "fail_open"])
def test_network_cut_bundle_staleness_and_exactly_once_upload(
    mode: str, clock: Clock, tmp_path: Path
) -> None:
    with running_issuer(clock, ttl=60) as (issuer, issuer_server):
        central = _central(tmp_path, issuer.url, clock).start()
        policy = gate_policy(
            issuer.url,
            stale_status=mode,
            central_url=central.url,
            central_token="gate-token-for-tests",
        )
        online = make_gate(policy, tmp_path, clock)
        credential, _ = issuer.issue(HOLDER)

        def fresh() -> str:
            return presentation(credential, HOLDER, audience=policy.audience, iat=clock())

        assert online.scan(fresh()).allow  # learns keys and the status list
        result = pull_bundle(online)  # `gate sync`: bundle from the central service, saved
        assert result.rejected == 0 and result.status_lists == 1
        online.close()

        issuer_server.stop()  # the network is cut: no issuer
        central.stop()  # ... and no central service
        central.central.close()  # type: ignore[attr-defined]
        gate = make_gate(policy, tmp_path, clock)  # a restart: only the saved bundle
        assert gate.scan(fresh()).allow  # decides from its bundle
        clock.advance(30 * 60)
        assert gate.scan(fresh()).allow  # status 30 min old: fine
        clock.advance(31 * 60)  # now over max staleness (1 h)
        late = gate.scan(fresh())
        if mode == "fail_closed":
            assert (late.allow, late.reason) == (False, "stale_status")
        else:
            assert late.allow and late.stale_status
        with pytest.raises(SyncError):
            upload_records(gate)
        # central comes back on the same port with the same database
        central = _central(tmp_path, issuer.url, clock, port=central.port).start()
        try:
            first = upload_records(gate)
            assert first.sent == first.acknowledged == 4  # every scan, before and after the cut
            again = upload_records(gate)
            assert again.sent == 0
            held = central.central.records(since=0)  # type: ignore[attr-defined]
            assert len(held) == 4 and len({r["id"] for r in held}) == 4
            assert [r["reason"] for r in held][-1] == (
                "stale_status" if mode == "fail_closed" else "ok"
            )
        finally:
            central.stop()
            central.central.close()  # type: ignore[attr-defined]
            gate.close()
