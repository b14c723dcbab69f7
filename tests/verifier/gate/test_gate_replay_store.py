"""Replay protection survives a gate restart (issue "Secrets at rest", point 9).

Someone photographs the QR a colleague shows at the gate and shows the photo after the gate has
restarted, gracefully or killed, within the KB-JWT window: the gate, a new `GateService` on the
same data directory, must answer `replayed`, because the presentations it accepted are rows of
its own database (`verifier.gate.replay_store`), not of the old process's memory.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from gate_kit import (
    Clock,
    gate_policy,
    make_gate,
    presentation,
    records,
    running_issuer,
    scan,
    serve,
)

from mobileid.gate_app import create_gate_app
from vc.keys import Ed25519PrivateKey
from vc.qr_compact import encode_presentation
from verifier.gate.replay_store import GateReplayStore
from verifier.gate.sqlite_writer import GateWriter

HOLDER = Ed25519PrivateKey.generate()

# A gate process that decides one scan, says what it decided, and is killed at once: no close,
# no clean shutdown of SQLite.
KILLED_GATE = """
import json, os, signal, sys
from pathlib import Path
from mobileid.db import create_db_engine
from verifier.fetch import new_http_client
from verifier.gate.service import build_gate
from verifier.policy import parse_gate_policy

policy = parse_gate_policy(json.loads(sys.argv[1]))
directory = Path(sys.argv[2])
engine = create_db_engine(f"sqlite:///{directory / 'gate.sqlite3'}")
service = build_gate(policy, engine=engine, client=new_http_client())
service.refresher.run_once()
print(service.scan(Path(sys.argv[3]).read_bytes()).reason, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_qr_accepted_before_a_restart_is_replayed_after_it(clock: Clock, tmp_path: Path) -> None:
    with running_issuer(clock) as (issuer, _):
        policy = gate_policy(issuer.url)
        credential, _ = issuer.issue(HOLDER)
        qr = encode_presentation(
            presentation(credential, HOLDER, audience=policy.audience, iat=clock())
        )
        with serve(create_gate_app(make_gate(policy, tmp_path, clock))) as gate:  # `gate run`
            assert scan(gate, qr)["allow"] is True
        clock.advance(20)  # the gate restarts; the photo is shown within the 30 s window
        with serve(create_gate_app(make_gate(policy, tmp_path, clock))) as gate:
            again = scan(gate, qr)
            assert (again["allow"], again["reason"]) == (False, "replayed")
            shown_now = presentation(credential, HOLDER, audience=policy.audience, iat=clock())
            assert scan(gate, encode_presentation(shown_now))["allow"] is True  # a new QR
            clock.advance(40)
            assert scan(gate, qr)["reason"] == "kb_too_old"  # past the window: too old anyway


def test_a_qr_accepted_just_before_the_gate_is_killed_is_replayed_after_it(
    clock: Clock, tmp_path: Path
) -> None:
    with running_issuer(clock) as (issuer, _):
        data = {
            "gate_id": "sejong-06-east-01",
            "site": "sejong",
            "trusted_issuers": [{"issuer": issuer.url}],
            "allow_insecure_loopback": True,
        }
        policy = gate_policy(issuer.url)
        credential, _ = issuer.issue(HOLDER)
        qr = tmp_path / "photographed.qr"
        qr.write_bytes(
            encode_presentation(
                presentation(credential, HOLDER, audience=policy.audience, iat=clock())
            )
        )
        directory = tmp_path / "gate"
        directory.mkdir(mode=0o700)
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_GATE, json.dumps(data), str(directory), str(qr)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert killed.stdout.strip() == "ok"  # the door opened, then the process died

        restarted = make_gate(policy, tmp_path, clock, name="gate")
        assert restarted.scan(qr.read_bytes()).reason == "replayed"
        reasons = [r["reason"] for r in records(restarted)]
        assert reasons == ["ok", "replayed"]  # the killed gate's record was committed


def test_a_presentation_is_forgotten_only_once_its_window_has_passed(tmp_path: Path) -> None:
    service = make_gate(gate_policy("https://mobileid.mois.go.kr"), tmp_path, Clock())
    store, key = service.replay, b"k" * 16
    assert store.first_use(key, now=1000.0, keep_until=1040.0)
    assert not store.first_use(key, now=1039.0, keep_until=1079.0)  # replayed
    assert store.purge(now=1039.0) == 0  # still live: kept
    assert store.first_use(key, now=1040.0, keep_until=1080.0)  # expired row taken over
    assert store.first_use(b"j" * 16, now=1041.0, keep_until=1050.0)
    assert store.purge(now=1080.0) == 2  # the gate worker's purge
    with sqlite3.connect(tmp_path / "gate" / "gate.sqlite3") as conn:
        assert (
            conn.execute("SELECT count(*) FROM verifier_gate_seen_presentations").fetchone()[0] == 0
        )


def test_the_gates_database_stays_owner_only(clock: Clock, tmp_path: Path) -> None:
    """What a gate remembers sits next to its entry records: 0600 files in a 0700 directory,
    whatever the umask."""
    old = os.umask(0o022)
    try:
        with running_issuer(clock) as (issuer, _):
            policy = gate_policy(issuer.url)
            service = make_gate(policy, tmp_path, clock)
            credential, _ = issuer.issue(HOLDER)
            shown = presentation(credential, HOLDER, audience=policy.audience, iat=clock())
            assert service.scan(shown).allow
    finally:
        os.umask(old)
    directory = tmp_path / "gate"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = [p for p in directory.iterdir() if p.name.startswith("gate.sqlite3")]
    assert {p.name for p in files} >= {"gate.sqlite3", "gate.sqlite3-wal", "gate.sqlite3-shm"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}


def test_the_replay_store_never_makes_a_database_of_its_own(tmp_path: Path) -> None:
    """Only the gate's engine creates its file (0600, with its tables); a store pointed at a
    missing file refuses rather than leave a world-readable database behind."""
    missing = tmp_path / "nowhere.sqlite3"
    writer = GateWriter(missing)
    with pytest.raises(sqlite3.OperationalError):
        GateReplayStore(writer).first_use(b"k" * 16, now=0.0, keep_until=40.0)
    writer.close()
    assert not missing.exists()
    from sqlalchemy import create_engine

    with pytest.raises(ValueError, match="SQLite file"):
        GateWriter.of(create_engine("sqlite://"))
