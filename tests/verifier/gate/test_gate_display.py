"""The guard display over real HTTP: a scan's decision reaches an open event stream, with what
the gate's purpose discloses and nothing more; who may watch; a stuck display slows no scan."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest
from console_kit import csrf_of
from display_kit import GATE_ID, OPERATOR, display_app, operator_roles, signed_in, sse, watching
from gate_kit import Clock, gate_policy, make_gate, presentation, running_issuer, scan, serve

from schemas.employee_id import Purpose
from vc.keys import Ed25519PrivateKey
from vc.qr_compact import encode_presentation
from verifier.gate import console as gate_console_module
from verifier.gate.lane import LaneBroadcast, LaneEvent
from verifier.pipeline import Decision
from verifier.reasons import Reason

HOLDER = Ed25519PrivateKey.generate()
PHOTO = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ=="


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.parametrize(
    ("purpose", "shown", "hidden"),
    [
        pytest.param(
            Purpose.gate, ["E1001"], ["홍길동", "디지털정부과"], id="gate_shows_number_only"
        ),
        pytest.param(
            Purpose.identity, ["홍길동", "디지털정부과"], ["E1001"], id="identity_shows_name"
        ),
    ],
)
def test_a_scan_reaches_the_open_display(
    clock: Clock, tmp_path: Path, purpose: Purpose, shown: list[str], hidden: list[str]
) -> None:
    with running_issuer(clock) as (issuer, _):
        policy = gate_policy(issuer.url, purpose=str(purpose))
        service = make_gate(policy, tmp_path, clock)
        credential, _ = issuer.issue(HOLDER)
        qr = encode_presentation(
            presentation(credential, HOLDER, audience=policy.audience, iat=clock(), purpose=purpose)
        )
        with watching(service) as (gate, stream, events):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert "frame-ancestors 'none'" in stream.headers["content-security-policy"]
            assert "대기 중 / Waiting for a scan" in next(events)
            assert scan(gate, qr)["allow"] is True
            fragment = next(events)
    assert "통과 / Allowed" in fragment and "확인됨 / verified" in fragment.replace(
        '</span> / <span lang="en">', " / "
    )
    assert all(text in fragment for text in shown)
    assert not any(text in fragment for text in hidden)
    assert "<img" not in fragment  # a QR never carries the photo


def test_a_denied_scan_shows_its_reason_in_korean_and_english(clock: Clock, tmp_path: Path) -> None:
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, clock, online=False)
    with watching(service) as (gate, _, events):
        next(events)
        scan(gate, b"=not a presentation")
        fragment = next(events)
    assert "거부 / Denied" in fragment and 'data-reason="malformed"' in fragment
    assert "읽을 수 없는 제시" in fragment and "not a readable presentation" in fragment


@pytest.mark.parametrize("central", [None, "http://127.0.0.1:9"])
def test_the_display_page_shows_the_gates_own_state(
    clock: Clock, tmp_path: Path, central: str | None
) -> None:
    policy = gate_policy("http://127.0.0.1:9", central_url=central)
    service = make_gate(policy, tmp_path, clock, online=False)
    service.scan(b"eyJ.junk")
    with serve(display_app(service, operator_roles())) as gate, signed_in(gate.url) as client:
        page = client.get("/display")
    assert page.status_code == 200
    assert 'data-sse="/display/events?lane=' + GATE_ID + '"' in page.text
    assert "오프라인 / Offline" in page.text and "상태 목록 없음 / No status lists" in page.text
    assert "발급기관 키 없음 / No issuer keys" in page.text
    # records wait for upload only where there is a central service to take them
    assert ("1 records not uploaded" in page.text) is (central is not None)
    assert "연결 끊김 / Connection lost" in page.text  # shown by CSS when the stream drops
    assert "<script>" not in page.text and "style=" not in page.text


def test_status_lists_past_their_allowed_age_are_shown_stale(clock: Clock, tmp_path: Path) -> None:
    with running_issuer(clock) as (issuer, _):
        service = make_gate(gate_policy(issuer.url, max_status_age_s=600), tmp_path, clock)
    with serve(display_app(service, operator_roles())) as gate, signed_in(gate.url) as client:
        fresh = client.get("/display").text
        clock.advance(601)
        stale = client.get("/display").text
    assert "온라인 / Online" in fresh and "Status lists 0 min old" in fresh
    assert "오래됨 / stale" not in fresh
    assert "Status lists 10 min old · 오래됨 / stale" in stale


def test_an_idle_stream_gets_heartbeat_comments(
    clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate_console_module, "HEARTBEAT_S", 0.05)
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, clock, online=False)
    with watching(service) as (_gate, _, events):
        next(events)
        assert next(events) == ": keep-alive"


@pytest.mark.parametrize(
    ("roles", "number", "path", "code"),
    [
        pytest.param(operator_roles(), "E0002", "/display", "forbidden_role", id="employee"),
        pytest.param(operator_roles(), "E0003", "/display/events", "forbidden_role", id="nobody"),
        pytest.param(operator_roles(), "E0002", "/records.csv", "forbidden_role", id="csv"),
        pytest.param(
            operator_roles("seoul-01-main"), "E9001", "/display", "forbidden_scope", id="other_gate"
        ),
        pytest.param(
            operator_roles(), "E9001", "/display/events?lane=other", "forbidden_scope", id="lane"
        ),
    ],
)
def test_403_without_gate_operator_for_this_gate(
    clock: Clock, tmp_path: Path, roles: object, number: str, path: str, code: str
) -> None:
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, clock, online=False)
    service.scan(b"eyJ.junk")
    with serve(display_app(service, roles)) as gate, signed_in(gate.url, number) as client:  # type: ignore[arg-type]
        response = client.get(path)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert f"<code>{code}</code>" in response.text and "malformed" not in response.text


def test_not_signed_in_is_sent_to_sign_in(clock: Clock, tmp_path: Path) -> None:
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, clock, online=False)
    with serve(display_app(service, operator_roles())) as gate:
        response = httpx.get(gate.url + "/display", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/signin?next=%2Fdisplay"


# --- what a display may show, and backpressure ------------------------------------------------


def test_the_display_shows_a_photo_only_when_the_decision_carries_it() -> None:
    carried = Decision(
        True, Reason.ok, {"name": "홍길동", "photo": PHOTO, "grade": "6급", "phone": "010"}
    )
    event = LaneEvent.of(GATE_ID, carried, 1.0)
    assert dict(event.shown) == {"name": "홍길동", "photo": PHOTO}
    not_carried = LaneEvent.of(GATE_ID, Decision(True, Reason.ok, {"employee_number": "E1"}), 1.0)
    assert "photo" not in not_carried.shown
    no_claims_when_denied = LaneEvent.of(GATE_ID, Decision(False, Reason.revoked), 1.0)
    assert dict(no_claims_when_denied.shown) == {}


def test_a_stuck_display_does_not_block_scans(clock: Clock, tmp_path: Path) -> None:
    """A subscriber whose event loop is blocked (it reads nothing) still lets every scan through;
    it keeps only its newest decisions."""
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, clock, online=False)
    subscribed, release = threading.Event(), threading.Event()
    held: list[object] = []

    async def stuck_display() -> None:
        async with service.lanes.subscribe() as subscription:
            held.append(subscription)
            subscribed.set()
            release.wait()  # blocks this loop: nothing is ever read

    thread = threading.Thread(target=asyncio.run, args=(stuck_display(),))
    thread.start()
    try:
        assert subscribed.wait(20)
        decisions = [service.scan(b"eyJ.junk") for _ in range(50)]
    finally:
        release.set()
        thread.join(20)
    assert len(decisions) == 50 and service.lanes.subscribers == 0


def test_a_full_queue_drops_the_oldest_decisions() -> None:
    async def run() -> list[LaneEvent | None]:
        lanes = LaneBroadcast(queue_size=4)
        async with lanes.subscribe() as subscription:
            for i in range(10):
                lanes.publish(LaneEvent(GATE_ID, float(i), True, Reason.ok))
            assert subscription.dropped == 6
            return [await subscription.next(0.05) for _ in range(5)]

    received = asyncio.run(run())
    assert [e.at for e in received if e is not None] == [6.0, 7.0, 8.0, 9.0]
    assert received[-1] is None


def test_a_lane_subscription_sees_only_its_lane() -> None:
    async def run() -> list[str]:
        lanes = LaneBroadcast()
        async with lanes.subscribe("b") as subscription:
            for lane in ("a", "b", "a", "b"):
                lanes.publish(LaneEvent(lane, 1.0, True, Reason.ok))
            return [e.lane for e in [await subscription.next(0.05) for _ in range(3)] if e]

    assert asyncio.run(run()) == ["b", "b"]


@pytest.mark.parametrize("how", ["signed_out", "grant_revoked"])
def test_an_open_display_stops_when_its_guard_may_no_longer_watch(
    clock: Clock, tmp_path: Path, how: str
) -> None:
    """Signing out (in another tab) or losing the grant ends the open stream at its next event:
    no further decision reaches it."""
    roles = operator_roles()
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, clock, online=False)
    with (
        serve(display_app(service, roles)) as gate,
        signed_in(gate.url) as client,
        client.stream("GET", "/display/events") as stream,
    ):
        events = sse(stream)
        assert "대기 중 / Waiting for a scan" in next(events)
        if how == "signed_out":
            token = csrf_of(client.get("/display").text)
            assert client.post("/console/signout", data={"csrf_token": token}).status_code == 303
        else:
            roles.grants[OPERATOR] = []
        scan(gate, b"=not a presentation")
        shown = next((event for event in events if "malformed" in event), None)
    assert shown is None  # the stream ended without it
