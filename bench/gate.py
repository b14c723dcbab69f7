"""Gate benchmark: decisions per second in process and over HTTP, beside raw Ed25519 verification.

    python -m bench.gate [--seconds S] [--connections N]

A gate decision needs two signature checks (issuer JWT and KB-JWT), so its ceiling is half the
raw PyNaCl verify rate, measured on a presentation's own two signing inputs in turns (see
`bench.floor`); `ratio_to_limit` is the in-process pipeline rate (decode, verify, replay
store, cached status, policy) over that ceiling, as the median over short blocks taken in turns
with raw-verify blocks (a shared machine's speed drifts within seconds). Then one gate worker
(uvicorn on 127.0.0.1, in its own process, writing its replay rows and entry records) is
driven over keep-alive HTTP: at full speed (scans/s, p50/p99), and paced at 500 scans/s (p99
measured from each scan's scheduled send time, so queueing counts). Every presentation is
distinct: the replay store refuses repeats. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import secrets
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import qrcode

from bench.floor import raw_verifier
from bench.loopback import free_port, paced, pct, saturate, start_worker
from schemas.employee_id import DISCLOSABLE, PURPOSES, Purpose, employee_vct
from vc.base64url import b64url_encode
from vc.keys import Ed25519PrivateKey
from vc.qr_compact import encode_presentation
from vc.sd_jwt import present
from vc.sd_jwt_vc import (
    issue_sd_jwt_vc,
    jwt_vc_issuer_metadata,
    status_reference,
    verify_sd_jwt_vc,
)
from vc.status_list import INVALID, StatusList, sign_status_list_token
from verifier.gate.store import Bundle
from verifier.pipeline import Pipeline
from verifier.policy import GatePolicy, parse_gate_policy
from verifier.replay import InMemoryReplayStore
from verifier.status import StatusCache
from verifier.trust import TrustedIssuer, TrustStore

ISSUER = "https://mobileid.mois.go.kr"
STATUS_URI = f"{ISSUER}/status-lists/1"
LIST_SIZE = 1 << 20
LIBRARY_SECRET = "bench-library-secret-0123456789"
SCAN = ("/scan", "application/octet-stream")  # what a scanner posts: the QR's bytes


class Fixture:
    """An issuer's key, a 2^20-entry status list (0.1 % revoked), holders and their credentials."""

    def __init__(self, holders: int = 8) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = self.key.public_key.thumbprint()
        self.now = int(time.time())
        status = StatusList(LIST_SIZE, bits=2)
        for idx in range(0, LIST_SIZE, 997):
            status.set(idx, INVALID)
        self.status_token = sign_status_list_token(
            status, self.key, kid=self.kid, sub=STATUS_URI, iat=self.now, ttl=3600, issuer=ISSUER
        )
        jwks = {"keys": [{**self.key.public_key.to_jwk(), "kid": self.kid}]}
        self.metadata = jwt_vc_issuer_metadata(ISSUER, jwks)
        self.holders = [Ed25519PrivateKey.generate() for _ in range(holders)]
        self.credentials = [self.issue(h, 1000 + 3 * i) for i, h in enumerate(self.holders)]

    def issue(self, holder: Ed25519PrivateKey, idx: int) -> str:
        claims = {
            "employee_number": f"2019{idx:06d}",
            "name": "홍길동",
            "name_en": "HONG Gildong",
            "agency": "행정안전부",
            "agency_code": "1741000",
            "department": "디지털정부혁신실 공공데이터정책과",
            "position": "사무관",
            "grade": "5급",
            "employment_type": "general",
            "active_public_servant_of": "1741000",
            "opaque_id": b64url_encode(secrets.token_bytes(16)),
        }
        return issue_sd_jwt_vc(
            issuer=ISSUER,
            vct=employee_vct(ISSUER),
            claims=claims,
            disclosable=DISCLOSABLE & set(claims),
            key=self.key,
            kid=self.kid,
            holder_jwk=holder.public_key.to_jwk(),
            iat=self.now,
            exp=self.now + 3 * 365 * 86400,
            status=status_reference(idx, STATUS_URI),
        )

    def presentations(self, n: int, audience: str, purpose: Purpose = Purpose.gate) -> list[str]:
        names = [(c,) for c in sorted(PURPOSES[purpose] - {"photo"})]
        iat = int(time.time())
        return [
            present(
                self.credentials[i % len(self.holders)],
                select=names,
                holder_key=self.holders[i % len(self.holders)],
                audience=audience,
                nonce=b64url_encode(secrets.token_bytes(16)),
                iat=iat,
            )
            for i in range(n)
        ]

    def bundle(self) -> Bundle:
        return Bundle(
            self.now,
            [{"issuer": ISSUER, "document": self.metadata, "fetched_at": time.time()}],
            [
                {
                    "issuer": ISSUER,
                    "uri": STATUS_URI,
                    "token": self.status_token,
                    "etag": None,
                    "fetched_at": time.time(),
                }
            ],
        )


def gate_policy() -> GatePolicy:
    return parse_gate_policy(
        {
            "gate_id": "bench-gate-01",
            "site": "sejong",
            "trusted_issuers": [{"issuer": ISSUER}],
        }
    )


def in_process_pipeline(fixture: Fixture, policy: GatePolicy) -> Pipeline:
    trust = TrustStore([TrustedIssuer(ISSUER)], client=None, clock=time.time)
    trust.load_document(ISSUER, fixture.metadata, fetched_at=time.time())
    status = StatusCache(trust, client=None, algorithms=policy.verification.algorithms)
    status.load_token(
        ISSUER, STATUS_URI, fixture.status_token, etag=None, fetched_at=time.time(), now=time.time()
    )
    return Pipeline(
        policy.verification,
        audience=policy.audience,
        trust=trust,
        status=status,
        replay=InMemoryReplayStore(),
    )


def vc_verify(pipeline: Pipeline, presentation: str, now: float) -> object:
    """`vc` verification alone with the pipeline's settings: the reference for its overhead."""
    policy = pipeline.policy
    return verify_sd_jwt_vc(
        presentation,
        issuer_key=pipeline.trust.resolver,
        algorithms=policy.algorithms,
        audience=pipeline.audience,
        now=now,
        leeway=policy.clock_skew_s,
        kb_max_age=policy.kb_window_s,
    )


def elapsed(fn: Callable[[int], object], n: int) -> float:
    """Seconds for fn(0) ... fn(n - 1)."""
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - start


def decide_each(pipeline: Pipeline, batch: list[str], now: float, i: int) -> object:
    return pipeline.decide(batch[i], now=now)


def vc_verify_each(pipeline: Pipeline, batch: list[str], now: float, i: int) -> object:
    return vc_verify(pipeline, batch[i], now)


def qr_version(data: bytes) -> int:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    return int(code.version)


# --- the gate worker, in its own process ------------------------------------------------------


def serve_gate(data_dir: str, port: int, lifetime_s: float) -> None:
    """Child process: one uvicorn worker with the real gate app, offline, bundle preloaded."""
    import logging

    import uvicorn

    from mobileid.db import create_db_engine
    from mobileid.gate_app import create_gate_app
    from verifier.gate.service import build_gate

    logging.disable(logging.WARNING)
    directory = Path(data_dir)
    engine = create_db_engine(f"sqlite:///{directory / 'gate.sqlite3'}")
    service = build_gate(gate_policy(), engine=engine, client=None)
    config = uvicorn.Config(
        create_gate_app(service), host="127.0.0.1", port=port, log_level="error", access_log=False
    )
    server = uvicorn.Server(config)
    threading.Timer(lifetime_s, lambda: setattr(server, "should_exit", True)).start()
    server.run()


def start_gate_process(
    fixture: Fixture, lifetime_s: float
) -> tuple[subprocess.Popen[bytes], int, Path]:
    from mobileid.db import create_db_engine
    from verifier.gate.store import save_bundle
    from verifier.migrate import upgrade_verifier_database

    directory = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    engine = create_db_engine(f"sqlite:///{directory / 'gate.sqlite3'}")
    upgrade_verifier_database(engine, "gate")
    with engine.begin() as conn:
        save_bundle(conn, fixture.bundle())
    engine.dispose()
    port = free_port()
    return start_worker("bench.gate", directory, port, lifetime_s), port, directory


def allowed(answer: bytes) -> bool:
    return b'"allow":true' in answer


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round")
    parser.add_argument("--connections", type=int, default=8, help="HTTP keep-alive connections")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_gate(args.serve[0], int(args.serve[1]), float(args.serve[2]))
        return

    fixture = Fixture()
    policy = gate_policy()
    pipeline = in_process_pipeline(fixture, policy)

    # QR versions per purpose (compact QR encoding, byte mode, level L)
    versions, sizes = {}, {}
    for purpose in Purpose:
        plain = fixture.presentations(1, policy.audience, purpose)[0]
        packed = encode_presentation(plain)
        versions[str(purpose)] = qr_version(packed)
        sizes[str(purpose)] = (len(plain), qr_version(plain.encode()), len(packed))

    # In process: short blocks of raw verifies, pipeline decisions and vc-only verifications, in
    # turns, each ratio taken against the raw block beside it. On a shared machine the speed
    # drifts by tens of percent within seconds; neighbouring blocks see the same speed, so the
    # median of block ratios holds still where whole-round rates do not.
    raw_verify = raw_verifier(fixture.presentations(1, policy.audience)[0])
    block = 100
    blocks = max(20, int(60 * args.seconds))
    raw_s: list[float] = []
    ours_s: list[float] = []
    vc_s: list[float] = []
    ratios: list[float] = []
    vc_ratios: list[float] = []
    per_batch = 20  # blocks per batch of fresh presentations (their KB-JWT iat stays in window)
    for first in range(0, blocks, per_batch):
        count = min(per_batch, blocks - first)
        batch = fixture.presentations(count * block, policy.audience)
        reference = fixture.presentations(count * block, policy.audience)
        now = time.time()
        check = pipeline.decide(fixture.presentations(1, policy.audience)[0], now=now)
        if not check.allow:
            raise AssertionError(f"benchmark presentation must be allowed: {check}")
        for k in range(count):
            mine = batch[k * block : (k + 1) * block]
            theirs = reference[k * block : (k + 1) * block]
            t_raw = elapsed(raw_verify, block)
            gate = functools.partial(decide_each, pipeline, mine, now)
            alone = functools.partial(vc_verify_each, pipeline, theirs, now)
            if k % 2:
                t_vc, t_ours = elapsed(alone, block), elapsed(gate, block)
            else:
                t_ours, t_vc = elapsed(gate, block), elapsed(alone, block)
            raw_s.append(t_raw)
            ours_s.append(t_ours)
            vc_s.append(t_vc)
            ratios.append(2 * t_raw / t_ours)
            vc_ratios.append(2 * t_raw / t_vc)
    raw = block / statistics.median(raw_s)
    in_process = block / statistics.median(ours_s)
    vc_rate = block / statistics.median(vc_s)
    ratio = statistics.median(ratios)
    ratio_q1, _, ratio_q3 = statistics.quantiles(ratios, n=4)  # how far blocks spread
    vc_ratio = statistics.median(vc_ratios)

    # over HTTP against one gate worker in its own process; this process is the scanners
    process, port, directory = start_gate_process(fixture, lifetime_s=180)
    try:
        warm = [encode_presentation(p) for p in fixture.presentations(200, policy.audience)]
        asyncio.run(saturate(port, *SCAN, warm, args.connections, allowed))
        count = max(2000, int(3000 * args.seconds))
        bodies = [encode_presentation(p) for p in fixture.presentations(count, policy.audience)]
        scans_per_s, latencies, passed = asyncio.run(
            saturate(port, *SCAN, bodies, args.connections, allowed)
        )
        if passed != len(bodies):
            raise AssertionError(f"only {passed}/{len(bodies)} scans allowed over HTTP")
        paced_n = max(1500, int(2500 * args.seconds))
        bodies = [encode_presentation(p) for p in fixture.presentations(paced_n, policy.audience)]
        paced_lat, paced_ok = asyncio.run(paced(port, *SCAN, bodies, 500.0, 32, allowed))
        if paced_ok != len(bodies):
            raise AssertionError(f"only {paced_ok}/{len(bodies)} paced scans allowed")
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    p99_500 = pct(paced_lat, 99)

    print(
        f"raw PyNaCl Ed25519 verify / 2       : {raw / 2:>10,.0f} /s   (raw {raw:,.0f} /s, "
        "issuer JWT and KB-JWT signing inputs in turns)"
    )
    print(
        f"in-process gate decisions           : {in_process:>10,.0f} /s   "
        f"ratio {ratio:.2f}, blocks' middle half {ratio_q1:.2f}-{ratio_q3:.2f} "
        "(target >= 0.60; decode, verify, replay, status, policy)"
    )
    print(
        f"  vc.verify_sd_jwt_vc alone (ref.)  : {vc_rate:>10,.0f} /s   "
        f"ratio {vc_ratio:.2f} (same presentations, no replay/status/policy)"
    )
    print(
        f"HTTP scans, 1 gate worker           : {scans_per_s:>10,.0f} /s   "
        f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  ({args.connections} keep-alive connections; "
        "target >= 1,000 /s)"
    )
    print(
        f"HTTP paced at 500 scans/s           : {'':>10}      p50 {pct(paced_lat, 50):.2f} ms  "
        f"p99 {p99_500:.2f} ms  (target p99 <= 20 ms)"
    )
    for name, (plain_len, plain_v, packed_len) in sizes.items():
        print(
            f"QR {name:<8}: plain {plain_len:>5} B (version {plain_v}) -> compact "
            f"{packed_len:>5} B (version {versions[name]}, level L; limit 25 = 1,273 B)"
        )
    print(
        json.dumps(
            {
                "ratio_to_limit": round(ratio, 3),
                "ratio_quartiles": [round(ratio_q1, 3), round(ratio_q3, 3)],
                "raw_verify_per_s": round(raw),
                "in_process_per_s": round(in_process),
                "vc_only_ratio": round(vc_ratio, 3),
                "scans_per_s": round(scans_per_s),
                "p50_ms": round(p50, 2),
                "p99_ms": round(p99, 2),
                "p99_ms_at_500": round(p99_500, 2),
                "qr_version": versions,
            }
        )
    )


if __name__ == "__main__":
    main()
