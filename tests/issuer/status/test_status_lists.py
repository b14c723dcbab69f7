"""The status list endpoint (headers, ETag/304, gzip, token claims), the chunked packing, and
index allocation under concurrency."""

from __future__ import annotations

import dataclasses
import gzip
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lifecycle_kit import STATUS_LIST_SIZE, Office, bound_socket, serve
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from issuer.config import IssuerConfig
from issuer.migrate import upgrade_database
from issuer.models import Credential, Employee, StatusListRecord
from issuer.status.packing import CHUNK_BYTES, PackedStatusList
from issuer.status.slots import allocate_status_slot
from mobileid.db import create_db_engine, make_session_factory, transaction
from mobileid.runtime import issuer_config
from mobileid.settings import get_settings
from vc.jws import decode_unverified
from vc.status_list import INVALID, SUSPENDED, StatusList


def test_endpoint_headers_etag_and_gzip(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    a = office.issue("E1001")
    r = office.fetch(a.uri, **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/statuslist+jwt"
    assert r.headers["cache-control"] == "max-age=300"
    assert r.headers["access-control-allow-origin"] == "*"
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    header, payload, _, _ = decode_unverified(r.text)
    assert header["typ"] == "statuslist+jwt" and header["kid"] == a.kid
    assert payload["sub"] == a.uri and payload["iss"] == live_server.url
    assert payload["ttl"] == 300 and payload["exp"] > payload["iat"]
    assert abs(payload["iat"] - live_server.clock.timestamp()) < 60
    assert payload["status_list"]["bits"] == 2
    assert payload["status_list"]["aggregation_uri"] == live_server.url + "/status-lists"

    # unchanged: 304 with the same validators, no body
    def plain_get(tag: str) -> httpx.Response:
        return office.fetch(a.uri, **{"If-None-Match": tag, "Accept-Encoding": "identity"})

    again = plain_get(etag)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == "max-age=300"
    assert plain_get('"other", ' + etag).status_code == 304
    assert plain_get('"other"').status_code == 200
    head = httpx.head(a.uri, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag and head.headers["cache-control"] == "max-age=300"

    # gzip when asked (and only then); the decoded body is the same token
    raw = httpx.get(a.uri, headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip" and raw.headers["vary"] == "Accept-Encoding"
    assert raw.text == r.text
    with httpx.stream("GET", a.uri, headers={"Accept-Encoding": "gzip"}) as streamed:
        body = b"".join(streamed.iter_raw())
    assert gzip.decompress(body).decode() == r.text and len(body) < len(r.content)
    plain = httpx.get(a.uri, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == r.text
    assert (
        httpx.get(a.uri, headers={"Accept-Encoding": "gzip;q=0"}).headers.get("content-encoding")
        is None
    )
    # the gzip variant has its own ETag, and either one matches for a 304
    gz_etag = raw.headers["etag"]
    assert gz_etag != etag
    assert plain_get(gz_etag).status_code == 304
    gz_again = office.fetch(a.uri, **{"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert gz_again.status_code == 304 and gz_again.headers["etag"] == gz_etag

    # a status change publishes a new token at once: new ETag, old one no longer matches
    assert office.act("revoke", a, "phone_lost").status_code == 200
    changed = plain_get(etag)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert office.published(a.uri).status(a.idx) == INVALID


def test_ttl_is_configurable_and_token_is_resigned_when_old(
    server_env, tmp_path: Path, monkeypatch
) -> None:
    from mobileid.app import create_app
    from mobileid.settings import get_settings

    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MOBILEID_STATUS_LIST_TTL_S", "60")
    monkeypatch.setenv("MOBILEID_STATUS_LIST_TOKEN_LIFETIME_S", "3600")
    app = create_app(get_settings(), run_outbox=False)
    runtime = app.state.runtime
    with runtime.unit_of_work() as s:
        s.add(
            StatusListRecord(
                id=1,
                uri=runtime.config.status_list_uri(1),
                bits=2,
                size=2**10,
                full=False,
                created_at=datetime.now(UTC),
            )
        )
    with serve(app) as client:
        r = client.get("/status-lists/1")
        assert r.headers["cache-control"] == "max-age=60"
        payload = decode_unverified(r.text)[1]
        assert (payload["ttl"], payload["exp"] - payload["iat"]) == (60, 3600)
        assert client.get("/status-lists/1").headers["etag"] == r.headers["etag"]
        # past half its lifetime the token is signed again (same statuses, new iat)
        runtime_clock_offset = 1801
        app.state.issuer = dataclasses.replace(
            app.state.issuer,
            clock=lambda: datetime.now(UTC) + timedelta(seconds=runtime_clock_offset),
        )
        later = client.get("/status-lists/1")
        assert later.headers["etag"] != r.headers["etag"]
        assert decode_unverified(later.text)[1]["iat"] >= payload["iat"] + 1800
        assert decode_unverified(later.text)[1]["status_list"] == payload["status_list"]


def test_a_changed_ttl_reaches_the_next_token_and_the_gates_follow_it(
    server_env, monkeypatch
) -> None:
    """Issue point 10: the operator lowers MOBILEID_STATUS_LIST_TTL_S from 300 to 5 and restarts
    the issuer. The token it publishes next says 5 (not the old one until half its day has
    passed), and a gate holding the ttl-300 token refetches when that one's ttl ends, then every
    5 s."""
    from mobileid.app import create_app
    from mobileid.settings import get_settings
    from verifier.policy import DEFAULT_ALGORITHMS
    from verifier.status import StatusCache
    from verifier.trust import TrustedIssuer, TrustStore

    sock = bound_socket()
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    for key, value in {**server_env, "MOBILEID_ISSUER_BASE_URL": base}.items():
        monkeypatch.setenv(key, value)

    def start(ttl: int) -> Any:
        monkeypatch.setenv("MOBILEID_STATUS_LIST_TTL_S", str(ttl))
        return create_app(get_settings(), run_outbox=False)

    first = start(300)
    uri = first.state.runtime.config.status_list_uri(1)
    with first.state.runtime.unit_of_work() as s:
        s.add(StatusListRecord(id=1, uri=uri, bits=2, size=2**10, created_at=datetime.now(UTC)))
    with httpx.Client(timeout=30) as http:
        trust = TrustStore(
            [TrustedIssuer(base)], client=http, clock=time.time, allow_insecure_loopback=True
        )
        gate = StatusCache(trust, client=http, algorithms=DEFAULT_ALGORITHMS)
        t0 = time.time()
        with serve(first, sock):
            assert trust.refresh(base)
            held = gate.revalidate(base, uri, now=t0)
            assert held is not None and held.verified.ttl == 300
        unchanged = start(300).state.runtime  # a restart with the same settings signs nothing
        try:
            with unchanged.unit_of_work() as s:
                assert s.get(StatusListRecord, 1).token == held.token
        finally:
            unchanged.close()

        with serve(start(5), bound_socket(port)) as issuer:  # the new setting, same database
            served = issuer.get("/status-lists/1")
            assert decode_unverified(served.text)[1]["ttl"] == 5
            assert served.headers["cache-control"] == "max-age=5"

            def held_at(at: float) -> Any:
                gate.refresh(now=at)  # a round of the gate's refresher
                (entry,) = gate.entries()
                return entry

            assert held_at(t0 + 299).verified.ttl == 300  # what the gate holds says 300: kept
            assert held_at(t0 + 300).verified.ttl == 5  # then the new token, and its ttl
            assert held_at(t0 + 304).confirmed_at == t0 + 300
            assert held_at(t0 + 305).confirmed_at == t0 + 305  # revalidated after 5 s


def test_aggregation_lists_every_status_list(live_server, tmp_path: Path) -> None:
    """Token Status List aggregation, found through the AS metadata (RFC 8414)."""
    office = Office(live_server, tmp_path)
    metadata = httpx.get(live_server.url + "/.well-known/oauth-authorization-server").json()
    endpoint = metadata["status_list_aggregation_endpoint"]
    assert endpoint == live_server.url + "/status-lists"
    before = httpx.get(endpoint)
    assert before.status_code == 200 and before.headers["content-type"] == "application/json"
    assert before.headers["cache-control"] == "max-age=300"
    assert isinstance(before.json()["status_lists"], list)
    a = office.issue("E1001")
    listed = httpx.get(endpoint).json()["status_lists"]
    assert a.uri in listed and len(listed) == len(set(listed))


@pytest.mark.parametrize(
    "path",
    [
        "/status-lists/999",
        "/status-lists/0",
        "/status-lists/-1",
        "/status-lists/abc",
        "/status-lists/99999999999999999999",
        "/status-lists/01",
        "/status-lists/%D9%A1",  # ARABIC-INDIC DIGIT ONE: isdigit(), but not our URL
    ],
)
def test_unknown_lists_are_404(live_server, tmp_path: Path, path: str) -> None:
    Office(live_server, tmp_path).issue("E1001")  # list 1 exists
    r = live_server.client.get(path)
    assert r.status_code == 404
    assert r.json()["error"] == "status_list_not_found"


def test_a_nul_in_a_list_path_is_refused_at_the_edge(live_server) -> None:
    """A NUL never reaches the status endpoint: the request guard answers 400 first."""
    r = live_server.client.get("/status-lists/1%00")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_packed_list_matches_a_plain_encode() -> None:
    """Chunk-wise recompression yields a zlib stream any decoder reads as the same list."""
    rng = random.Random(7)
    size = 2**16
    packed = PackedStatusList.build(size, 2, [])
    plain = StatusList(size, 2)
    for round_ in range(6):
        for _ in range(rng.choice([1, 5, 300])):
            idx = rng.randrange(size)
            if round_ == 3:  # at chunk boundaries
                idx = min(size - 1, (rng.randrange(1, 4) * CHUNK_BYTES * 4) - rng.randrange(2))
            value = rng.choice([0, INVALID, SUSPENDED])
            packed.set(idx, value)
            plain.set(idx, value)
        decoded = StatusList.decode(packed.lst(), 2)
        assert decoded.to_bytes() == plain.to_bytes()
        assert decoded.size == size
    assert packed.compressed()[:2] == b"\x78\xda"


def _slot_database(database_url: str) -> tuple[Any, Any, IssuerConfig, datetime, int]:
    """A fresh issuer database with lists of 512 slots and one employee to issue to."""
    engine = create_db_engine(database_url)
    upgrade_database(engine)
    sessions = make_session_factory(engine)
    config = issuer_config(
        get_settings(
            issuer_base_url="https://issuer.example", secret_key="k" * 32, status_list_size=512
        )
    )
    now = datetime.now(UTC)
    return engine, sessions, config, now, _one_employee(sessions, now)


def _one_employee(sessions: Any, now: datetime) -> int:
    with transaction(sessions) as s:
        employee = Employee(
            employee_number="E1",
            hr_source="e-saram",
            name="n",
            agency="a",
            agency_code="1741000",
            department="d",
            department_code="D",
            position="p",
            grade="g",
            employment_type="general",
            employment_status="active",
            opaque_id=uuid.uuid4().hex,
            record_hash="h",
            created_at=now,
            updated_at=now,
        )
        s.add(employee)
        s.flush()
        return employee.id


def _revoked_row(employee_id: int, now: datetime, credential_id: str) -> dict[str, Any]:
    return {
        "id": credential_id,
        "employee_id": employee_id,
        "holder_jkt": "j",
        "kid": "k",
        "state": "revoked",
        "issued_at": now,
        "expires_at": now,
        "notification_id": uuid.uuid4().hex,
    }


def test_only_a_taken_slot_is_retried(database_url: str) -> None:
    """A slot collision moves on to another index in the same transaction; any other constraint
    (here a credential id used twice) raises at once and keeps nothing."""
    engine, sessions, config, now, employee_id = _slot_database(database_url)
    picks = iter([7, 7, 9])
    with transaction(sessions) as s:
        first = allocate_status_slot(
            s, config, now, _revoked_row(employee_id, now, "a" * 32), lambda _: next(picks)
        )
        second = allocate_status_slot(
            s, config, now, _revoked_row(employee_id, now, "b" * 32), lambda _: next(picks)
        )
    assert (first[1], second[1]) == (7, 9)
    with pytest.raises(IntegrityError), transaction(sessions) as s:
        allocate_status_slot(s, config, now, _revoked_row(employee_id, now, "a" * 32), lambda _: 11)
    with transaction(sessions) as s:
        slots = s.execute(select(Credential.id, Credential.status_idx)).all()
    engine.dispose()
    assert sorted(slots) == [("a" * 32, 7), ("b" * 32, 9)]


def test_concurrent_allocation_has_no_duplicates(database_url: str) -> None:
    """1,000 indices from 8 threads (8 connections) into small lists: every slot unique, lists
    roll over when full. On PostgreSQL the threads really race."""
    engine, sessions, config, now, employee_id = _slot_database(database_url)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(125):
                with transaction(sessions) as s:
                    row = _revoked_row(employee_id, now, uuid.uuid4().hex)
                    status_list, idx = allocate_status_slot(s, config, now, row)
                    assert 0 <= idx < status_list.size
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with transaction(sessions) as s:
        slots = s.execute(select(Credential.status_list_id, Credential.status_idx)).all()
        lists = s.scalars(select(StatusListRecord).order_by(StatusListRecord.id)).all()
    engine.dispose()
    assert len(slots) == 1000 and len(set(slots)) == 1000
    assert all(0 <= idx < 512 for _, idx in slots)
    assert len(lists) >= 2 and [sl.id for sl in lists] == list(range(1, len(lists) + 1))
    assert all(sum(1 for lid, _ in slots if lid == sl.id) <= 512 for sl in lists)
    assert STATUS_LIST_SIZE == 2**20  # the default the kit checks against
