"""Each pipeline step on its own, and trust / status / replay / policy with a mock transport."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate_kit import AGENCY, Clock, IssuerDouble, presentation

from mobileid.settings import load_gate_policy
from schemas.employee_id import Purpose
from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, SignatureError, VCError
from vc.keys import Ed25519PrivateKey, P256PrivateKey
from vc.qr_compact import encode_presentation
from vc.sd_jwt_vc import jwt_vc_issuer_metadata
from vc.status_list import INVALID, SUSPENDED
from verifier.fetch import FetchError, check_fetch_url, fetch
from verifier.pipeline import (
    Decision,
    Pipeline,
    apply_policy,
    check_credential_type,
    check_replay,
    check_status,
    decode_scan,
    verify_presentation,
)
from verifier.policy import (
    PolicyError,
    StalePolicy,
    VerificationPolicy,
    library_member_id,
    parse_gate_policy,
)
from verifier.reasons import REASON_LABELS, Denied, Reason, reason_for_error
from verifier.refresh import Refresher
from verifier.replay import InMemoryReplayStore
from verifier.status import StatusCache
from verifier.trust import TrustedIssuer, TrustError, TrustStore

ISSUER = "https://mobileid.mois.go.kr"
AUDIENCE = "gate:seoul:g1"
HOLDER = Ed25519PrivateKey.generate()


class World:
    """An issuer double behind `httpx.MockTransport`, and a gate's trust store, cache and
    refresher (never started: tests run its rounds). `hold` makes the fetch of `hold_path` (the
    status list's) wait until it is set; `deciding` marks a decision in progress, and any
    request then is recorded in `during_decisions`."""

    def __init__(self, *, ttl: int = 300) -> None:
        self.clock = Clock()
        self.issuer = IssuerDouble(self.clock, url=ISSUER, ttl=ttl)
        self.issuer.publish()
        self.requests: list[str] = []
        self.down = False
        self.hold: threading.Event | None = None
        self.hold_path = "/status-lists/1"
        self.held = threading.Event()
        self.deciding = False
        self.during_decisions: list[str] = []
        self.client = httpx.Client(transport=httpx.MockTransport(self.handle))
        self.trust = TrustStore(
            [TrustedIssuer(ISSUER)], client=self.client, clock=self.clock, refresh_interval_s=60
        )
        self.status = StatusCache(self.trust, client=self.client, algorithms=["EdDSA"])
        self.refresher = Refresher(self.trust, self.status, clock=self.clock)
        self.policy = VerificationPolicy.for_purpose(Purpose.gate)
        self.replay = InMemoryReplayStore()

    def warm(self) -> None:
        """Keys and the status list held, as after the refresher's first round."""
        self.trust.refresh(ISSUER)
        self.status.revalidate(ISSUER, self.issuer.status_uri, now=self.clock())

    def decide(self, pipeline: Pipeline, payload: str) -> Any:
        self.deciding = True
        try:
            return pipeline.decide(payload, now=self.clock())
        finally:
            self.deciding = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.deciding:
            self.during_decisions.append(request.url.path)
        if self.hold is not None and request.url.path == self.hold_path:
            self.held.set()
            self.hold.wait(timeout=30)
        if self.down:
            raise httpx.ConnectError("network down")
        if request.url.path == "/.well-known/jwt-vc-issuer":
            jwks = {"keys": [{**self.issuer.key.public_key.to_jwk(), "kid": self.issuer.kid}]}
            return httpx.Response(200, json=jwt_vc_issuer_metadata(ISSUER, jwks))
        if request.url.path == "/status-lists/1":
            return httpx.Response(200, content=self.issuer.token)
        return httpx.Response(404)

    def pipeline(self, **changes: Any) -> Pipeline:
        policy = VerificationPolicy.for_purpose(Purpose.gate, **changes)
        return Pipeline(
            policy, audience=AUDIENCE, trust=self.trust, status=self.status, replay=self.replay
        )

    def credential(self, **claims: Any) -> tuple[str, int]:
        return self.issuer.issue(HOLDER, **claims)

    def presented(self, credential: str, **kw: Any) -> str:
        kw.setdefault("iat", self.clock())
        kw.setdefault("audience", AUDIENCE)
        return presentation(credential, HOLDER, **kw)


@pytest.fixture
def world() -> Any:
    w = World()
    w.warm()
    yield w
    w.client.close()


@pytest.fixture
def cold() -> Any:
    """A world whose verifier holds nothing yet."""
    w = World()
    yield w
    w.client.close()


def test_decode_scan_accepts_both_forms_and_refuses_others(world: World) -> None:
    credential, _ = world.credential()
    plain = world.presented(credential)
    assert decode_scan(plain.encode()) == plain
    assert decode_scan(encode_presentation(plain)) == plain
    assert decode_scan(plain) == plain
    for junk in (b"", b"hello", "한글".encode(), b"\xff" * 40, b"x" * 20000):
        with pytest.raises(Denied, match=r"^malformed: "):
            decode_scan(junk)


def test_only_a_malformed_decision_tells_its_detail() -> None:
    malformed = Decision(False, Reason.malformed, detail="x" * 500).to_json()
    assert malformed["detail"] == "x" * 200  # never an echo of a whole body
    assert "detail" not in Decision(False, Reason.revoked, detail="status not valid").to_json()
    assert "detail" not in Decision(True, Reason.ok, {"name": "홍길동"}, detail="").to_json()


def test_every_reason_has_its_korean_and_english_label() -> None:
    assert set(REASON_LABELS) == set(Reason)
    assert all(ko and en and ko != en for ko, en in REASON_LABELS.values())


def test_verify_step_and_reason_mapping(world: World) -> None:
    credential, _ = world.credential()
    verified = verify_presentation(
        world.presented(credential),
        trust=world.trust,
        policy=world.policy,
        audience=AUDIENCE,
        nonce=None,
        now=world.clock(),
    )
    assert verified.claims["employee_number"] == "E1001"
    cases = {
        "audience": (world.presented(credential, audience="gate:x"), Reason.wrong_audience),
        "old": (world.presented(credential, iat=world.clock() - 60), Reason.kb_too_old),
        "future": (world.presented(credential, iat=world.clock() + 60), Reason.kb_in_future),
        "no_kb": (credential, Reason.key_binding_missing),
    }
    for name, (data, reason) in cases.items():
        with pytest.raises(VCError) as info:
            verify_presentation(
                data,
                trust=world.trust,
                policy=world.policy,
                audience=AUDIENCE,
                nonce=None,
                now=world.clock(),
            )
        assert reason_for_error(info.value) is reason, name
    assert reason_for_error(VCError(Code.sd_hash_mismatch)) is Reason.invalid_signature
    assert reason_for_error(VCError(Code.duplicate_digest)) is Reason.malformed


def test_replay_step_and_stores(world: World) -> None:
    credential, _ = world.credential()
    data = world.presented(credential)
    verified = verify_presentation(
        data,
        trust=world.trust,
        policy=world.policy,
        audience=AUDIENCE,
        nonce=None,
        now=world.clock(),
    )
    now = world.clock()
    check_replay(data, verified, world.replay, world.policy, now)
    with pytest.raises(Denied) as info:
        check_replay(data, verified, world.replay, world.policy, now + 10)
    assert info.value.reason is Reason.replayed
    # forgotten only once the presentation could no longer pass the iat window
    check_replay(data, verified, world.replay, world.policy, now + 45)
    assert len(world.replay) == 1


# the order of P-256 (FIPS 186-4 D.1.2.3): an ECDSA signature (r, s) also verifies as (r, n - s)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def test_replay_of_an_es256_presentation_with_its_signature_respelled(world: World) -> None:
    """ECDSA is malleable: whoever photographs a QR can flip `s` and get a KB-JWT that still
    verifies. The replay key must follow what the holder signed, not the signature bytes."""
    holder = P256PrivateKey.generate()
    credential, _ = world.issuer.issue(holder)
    original = presentation(credential, holder, audience=AUDIENCE, iat=world.clock())
    head, _, kb_jwt = original.rpartition("~")
    signing_input, _, signature = kb_jwt.rpartition(".")
    raw = b64url_decode(signature)
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    flipped = r + (P256_ORDER - s).to_bytes(32, "big")
    respelled = f"{head}~{signing_input}.{b64url_encode(flipped)}"
    assert respelled != original
    pipeline = world.pipeline()
    now = world.clock()
    assert pipeline.decide(original, now=now).allow
    replayed = pipeline.decide(respelled, now=now + 1)
    assert replayed.reason is Reason.replayed  # it verifies, but it is the same presentation


def test_credential_type_step(world: World) -> None:
    credential, _ = world.credential()
    verified = verify_presentation(
        world.presented(credential),
        trust=world.trust,
        policy=world.policy,
        audience=AUDIENCE,
        nonce=None,
        now=world.clock(),
    )
    assert check_credential_type(verified, {ISSUER: frozenset({verified.claims["vct"]})}) == ISSUER
    with pytest.raises(Denied) as info:
        check_credential_type(verified, {ISSUER: frozenset({"https://other/vct"})})
    assert info.value.reason is Reason.wrong_credential_type


def test_status_step_values_and_staleness(world: World) -> None:
    credential, idx = world.credential()
    verified = verify_presentation(
        world.presented(credential),
        trust=world.trust,
        policy=world.policy,
        audience=AUDIENCE,
        nonce=None,
        now=world.clock(),
    )
    now = world.clock()
    assert check_status(verified, ISSUER, world.status, world.policy, now) is False
    for value, reason in (
        (INVALID, Reason.revoked),
        (SUSPENDED, Reason.suspended),
        (3, Reason.invalid_status),
    ):
        world.issuer.set_status(idx, value)
        world.status.revalidate(ISSUER, world.issuer.status_uri, now=now, force=True)
        with pytest.raises(Denied) as info:
            check_status(verified, ISSUER, world.status, world.policy, now)
        assert info.value.reason is reason
    world.issuer.set_status(idx, 0)
    world.status.revalidate(ISSUER, world.issuer.status_uri, now=now, force=True)
    world.down = True
    world.clock.advance(2 * 3600)
    world.refresher.run_once()  # the issuer is down: the list held stays
    later = world.clock()
    with pytest.raises(Denied) as info:
        check_status(verified, ISSUER, world.status, world.policy, later)
    assert info.value.reason is Reason.stale_status
    fail_open = VerificationPolicy.for_purpose(Purpose.gate, stale_status=StalePolicy.fail_open)
    assert check_status(verified, ISSUER, world.status, fail_open, later) is True
    fetches = world.requests.count("/status-lists/1")
    world.clock.advance(1)
    world.refresher.run_once()
    assert world.requests.count("/status-lists/1") == fetches  # retry interval respected


def test_status_only_from_the_issuers_origin(world: World) -> None:
    with pytest.raises(TrustError) as info:
        world.status.lookup(
            ISSUER, "https://evil.example/status-lists/1", 0, now=world.clock(), max_age=3600
        )
    assert info.value.code == "untrusted_status_origin"
    token = world.issuer.token
    with pytest.raises(VCError):  # sub is the issuer's URI, not this one
        world.status.load_token(
            ISSUER,
            ISSUER + "/status-lists/2",
            token,
            etag=None,
            fetched_at=world.clock(),
            now=world.clock(),
        )


def test_policy_step(world: World) -> None:
    claims = {"employee_number": "E1", "agency_code": AGENCY, "active_public_servant_of": AGENCY}
    outcome = apply_policy(claims, world.policy)
    assert outcome.employee_number == "E1" and outcome.displayed["agency_code"] == AGENCY
    with pytest.raises(Denied) as info:
        apply_policy({k: v for k, v in claims.items() if k != "employee_number"}, world.policy)
    assert info.value.reason is Reason.missing_claim
    strict = VerificationPolicy.for_purpose(Purpose.gate, allowed_agencies=frozenset({"1311000"}))
    with pytest.raises(Denied) as info:
        apply_policy(claims, strict)
    assert info.value.reason is Reason.agency_not_allowed
    library = VerificationPolicy.for_purpose(Purpose.library, member_id_secret=b"s" * 16)
    out = apply_policy({"opaque_id": "abc", "active_public_servant_of": AGENCY}, library)
    assert (
        out.member_id == library_member_id(b"s" * 16, "abc") != library_member_id(b"t" * 16, "abc")
    )
    assert out.employee_number is None


def test_unknown_kid_is_untrusted_until_the_refresher_ran(world: World) -> None:
    """A rotated key is not fetched by the decision that meets it: that decision is
    `untrusted_issuer` and asks the refresher, whose next round fetches the metadata; made-up
    key ids get the issuer's metadata fetched at most once per interval."""
    pipeline = world.pipeline()
    credential, _ = world.credential()
    assert world.decide(pipeline, world.presented(credential)).allow
    metadata_fetches = world.requests.count("/.well-known/jwt-vc-issuer")
    world.issuer.key = Ed25519PrivateKey.generate()  # a rotated key the gate has not seen
    world.issuer.publish()
    rotated, _ = world.credential()
    world.clock.advance(61)
    world.trust.needs_refresh.clear()
    assert world.decide(pipeline, world.presented(rotated)).reason is Reason.untrusted_issuer
    assert world.trust.needs_refresh.is_set()
    assert world.requests.count("/.well-known/jwt-vc-issuer") == metadata_fetches
    world.refresher.run_once()
    assert world.requests.count("/.well-known/jwt-vc-issuer") == metadata_fetches + 1
    assert world.decide(pipeline, world.presented(rotated)).allow
    forged = IssuerDouble(world.clock, url=ISSUER)  # same iss, a key nobody published
    for _ in range(5):
        bogus, _ = forged.issue(HOLDER)
        decision = world.decide(pipeline, world.presented(bogus))
        assert decision.reason is Reason.untrusted_issuer
        world.refresher.run_once()
    assert world.requests.count("/.well-known/jwt-vc-issuer") == metadata_fetches + 1
    assert world.during_decisions == []


def test_trust_refuses_http_and_oversized_documents() -> None:
    with pytest.raises(FetchError):
        check_fetch_url("http://issuer.example/x", allow_insecure_loopback=True)
    with pytest.raises(FetchError):
        check_fetch_url("http://127.0.0.1/x", allow_insecure_loopback=False)
    check_fetch_url("http://127.0.0.1:8000/x", allow_insecure_loopback=True)
    big = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"x" * 5000))
    )
    with big, pytest.raises(FetchError):
        fetch(big, "https://issuer.example/x", max_bytes=1000, accept="application/json")
    redirect = httpx.Client(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(302, headers={"Location": "https://evil.example/"})
        )
    )
    with redirect, pytest.raises(FetchError):
        fetch(redirect, "https://issuer.example/x", max_bytes=1000, accept="application/json")
    trust = TrustStore([TrustedIssuer(ISSUER)], client=None, clock=Clock())
    with pytest.raises(SignatureError):
        trust.resolver({"kid": "k"}, {"iss": "https://other.example"})


def test_pipeline_decision_is_total(world: World) -> None:
    pipeline = world.pipeline()
    for payload in (b"", b"eyJ", b"eyJ.e.e~", b"eyJhbGciOiJFZERTQSJ9.e30.AAAA~~", "{}", b"MI\x01"):
        decision = pipeline.decide(payload, now=world.clock())
        assert not decision.allow and decision.reason in (
            Reason.malformed,
            Reason.invalid_signature,
            Reason.key_binding_missing,
        )
        assert decision.elapsed_ms >= 0


def test_policy_files(tmp_path: Path) -> None:
    data = {
        "gate_id": "g1",
        "site": "gwacheon",
        "trusted_issuers": [{"issuer": ISSUER}],
        "allowed_agencies": [AGENCY],
        "stale_status": "fail_open",
        "max_status_age_s": 1800,
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    policy = load_gate_policy(path, gate_id="g2")
    assert policy.gate_id == "g2" and policy.audience == "gate:gwacheon:g2"
    assert policy.verification.stale_status is StalePolicy.fail_open
    assert "정부과천청사" in policy.site_name
    yaml_path = tmp_path / "policy.yaml"
    yaml_path.write_text(
        "gate_id: d1\nsite: building:busan-city-hall\npurpose: identity\n"
        f"trusted_issuers:\n  - issuer: {ISSUER}\n"
    )
    desk = load_gate_policy(yaml_path)
    assert desk.verification.purpose is Purpose.identity
    assert "photo" not in desk.verification.required_claims
    assert "photo" in desk.verification.displayed_claims  # shown when an online flow brings it
    bad: list[dict[str, Any]] = [
        {**data, "site": "busan"},
        {**data, "trusted_issuers": []},
        {**data, "purpose": "library"},  # needs a member id secret
        {**data, "required_claims": ["salary"]},
        {**data, "stale_status": "maybe"},
        {**data, "max_status_age_s": -1},
        {**data, "replay_store": "/var/lib/gate/replay.sqlite3"},  # the gate's database now
    ]
    for case in bad:
        with pytest.raises(PolicyError):
            parse_gate_policy(case, environ={})


def test_an_unknown_list_is_stale_until_the_refresher_ran(cold: World) -> None:
    """Nothing held: the first decision is `untrusted_issuer` (no keys), then with keys and no
    list the staleness rule decides (fail-closed denies, fail-open allows flagged); once the
    refresher fetched the list, the decision is a plain allow. No decision fetches."""
    closed, open_ = cold.pipeline(), cold.pipeline(stale_status=StalePolicy.fail_open)
    credential, _ = cold.credential()
    assert cold.decide(closed, cold.presented(credential)).reason is Reason.untrusted_issuer
    cold.trust.refresh(ISSUER)
    assert cold.decide(closed, cold.presented(credential)).reason is Reason.stale_status
    flagged = cold.decide(open_, cold.presented(credential))
    assert flagged.allow and flagged.stale_status
    assert cold.requests == ["/.well-known/jwt-vc-issuer"]
    assert cold.refresher.run_once() == 1
    assert cold.requests[-1] == "/status-lists/1"
    allowed = cold.decide(closed, cold.presented(credential))
    assert allowed.allow and not allowed.stale_status
    cold.clock.advance(301)  # past the list's ttl: the decision uses it and asks for a new one
    assert cold.decide(closed, cold.presented(credential)).allow
    fetched = cold.requests.count("/status-lists/1")
    cold.refresher.run_once()
    assert cold.requests.count("/status-lists/1") == fetched + 1
    assert cold.during_decisions == []


def test_a_fetch_does_not_hold_the_cache_lock(world: World) -> None:
    """While the refresher waits on a slow issuer for a due list, decisions that read the
    list and ask for it again go on (a fetch under the cache's lock would block them)."""
    pipeline = world.pipeline()
    credential, _ = world.credential()
    world.clock.advance(301)  # the list is due
    due = world.status.entries()[0].refresh_at
    world.hold = threading.Event()
    refresher = threading.Thread(target=world.refresher.run_once)
    refresher.start()
    try:
        assert world.held.wait(timeout=30)  # the refresher is inside the status list's fetch
        decisions: list[Any] = []
        deciding = threading.Thread(
            target=lambda: decisions.append(
                pipeline.decide(world.presented(credential), now=world.clock())
            )
        )
        deciding.start()
        deciding.join(timeout=30)
        assert decisions and decisions[0].allow  # decided on the list held, fetch still waiting
        assert refresher.is_alive()
    finally:
        world.hold.set()
        refresher.join(timeout=30)
    assert world.status.entries()[0].refresh_at > due  # the fetch then completed


def test_a_second_round_waits_for_the_keys_the_first_is_fetching(cold: World) -> None:
    """Two rounds over the same caches (say a `gate sync` beside the service's refresher): the
    second waits, so it never checks the list against keys still on their way, which would
    fail the list and put off its next attempt."""
    asked = cold.status.lookup(ISSUER, cold.issuer.status_uri, 0, now=cold.clock(), max_age=60)
    assert asked.value is None  # not held: a decision asks the refresher for it
    cold.hold, cold.hold_path = threading.Event(), "/.well-known/jwt-vc-issuer"
    first = threading.Thread(target=cold.refresher.run_once)
    second = threading.Thread(target=Refresher(cold.trust, cold.status, clock=cold.clock).run_once)
    first.start()
    try:
        assert cold.held.wait(timeout=30)  # the first round is fetching the issuer's keys
        second.start()
        second.join(timeout=0.3)
        assert second.is_alive() and "/status-lists/1" not in cold.requests
    finally:
        cold.hold.set()
        first.join(timeout=30)
        second.join(timeout=30)
    assert len(cold.status) == 1 and cold.requests.count("/status-lists/1") == 1


def _eventually(condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the refresher never got there"
        time.sleep(0.01)


def test_the_refresher_thread_fetches_what_a_decision_asked_for(cold: World) -> None:
    """Started as a service starts it: a first round at once (the issuer's keys), then a
    round soon after a decision asked for a list."""
    pipeline = cold.pipeline()
    credential, _ = cold.credential()
    cold.refresher.start()
    try:
        _eventually(lambda: cold.trust.keys_of(ISSUER))
        assert pipeline.decide(cold.presented(credential), now=cold.clock()).reason is (
            Reason.stale_status
        )
        _eventually(lambda: len(cold.status) == 1)
    finally:
        cold.refresher.stop()
    assert pipeline.decide(cold.presented(credential), now=cold.clock()).allow


def test_a_failed_metadata_fetch_is_retried_soon_and_less_often_each_time(cold: World) -> None:
    """A verifier started while its issuer is down has the keys a second or so after the issuer
    is up, not a whole `refresh_interval_s` (60 s) later; a long outage costs a fetch a minute."""
    cold.down = True

    def fetches_by(seconds: float) -> int:
        cold.clock.advance(seconds)
        cold.trust.refresh_wanted()
        return cold.requests.count("/.well-known/jwt-vc-issuer")

    assert fetches_by(0) == 1
    assert [fetches_by(0.5), fetches_by(0.6), fetches_by(1.5), fetches_by(0.6)] == [1, 2, 2, 3]
    for _ in range(10):
        fetches_by(60)
    before = cold.requests.count("/.well-known/jwt-vc-issuer")
    assert fetches_by(59) == before  # backed off to the refresh interval
    cold.down = False
    assert fetches_by(1) == before + 1 and cold.trust.keys_of(ISSUER)
    assert fetches_by(30) == before + 1  # a success: the next in refresh_interval_s
