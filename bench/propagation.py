"""Revocation propagation: how long after a revocation commits do online gates deny?

    python -m bench.propagation [--gates 20] [--revocations 10] [--cutoff-s 60] [--ttl-s 30]

An issuer (the real app, its own process) and `--gates` gate processes (the real gate app with
its background worker, following the issuer's change feed) on 127.0.0.1, one SQLite database.
This process seeds employees and issues their credentials straight into the issuer's database
(no OpenID4VCI flows), then revokes them at random moments through the lifecycle service, as
`mobileid issuer revoke` does. From each revocation's commit, every gate is sent a fresh
presentation of the revoked credential every `SCAN_EVERY_S` until it answers `revoked`; the
figure is that delay, per gate and revocation. Three phases, one run:

1. online: every gate follows the feed (targets p50 <= 1 s, p99 <= 3 s);
2. reconnect: one gate is cut off the network (its feed and its fetches) for `--cutoff-s`, a
   credential is revoked meanwhile, and the delay counts from the moment the network is back
   (target <= 3 s);
3. TTL only (the baseline): every gate's feed is down; gates deny when their cached list's
   `ttl` (`--ttl-s`) has run out and the worker fetched it again (the offline model, unchanged).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request, Response

from bench.loopback import (
    Connection,
    free_port,
    in_private_dir,
    pct,
    start_worker,
    stop_workers,
)

SCAN_EVERY_S = 0.2
MADE_AHEAD = 40
GIVE_UP_S = 120.0
WARM_UP_S = 30.0
SITE = "sejong"


# --- the issuer's side (this process and the issuer process share the database) -------------


def _issuer_env(directory: Path, port: int, ttl_s: int) -> dict[str, str]:
    return {
        "MOBILEID_DATA_DIR": str(directory / "issuer"),
        "MOBILEID_DATABASE_URL": f"sqlite:///{directory / 'issuer.sqlite3'}",
        "MOBILEID_ISSUER_BASE_URL": f"http://127.0.0.1:{port}",
        "MOBILEID_STATUS_LIST_TTL_S": str(ttl_s),
        "MOBILEID_OUTBOX_CONSOLE": "false",
    }


@contextmanager
def _issuer_runtime(env: dict[str, str]) -> Iterator[Any]:
    os.environ.update(env)
    from mobileid.runtime import open_issuer_runtime
    from mobileid.settings import get_settings

    runtime = open_issuer_runtime(get_settings())
    try:
        yield runtime
    finally:
        runtime.close()


def issue_population(runtime: Any, count: int) -> list[tuple[str, str, Any]]:
    """`count` employees with one live credential each: (credential id, SD-JWT VC, holder key)."""
    from sqlalchemy import select

    from bench.issuance import hr_records
    from issuer.hr.importing import HrSource, import_records, validate_records
    from issuer.models import Employee
    from issuer.oid4vci.issuance import employee_claims
    from issuer.status.slots import allocate_status_slot
    from schemas.employee_id import DISCLOSABLE
    from vc.keys import Ed25519PrivateKey
    from vc.sd_jwt_vc import issue_sd_jwt_vc, status_reference

    now = runtime.clock()
    issued = []
    with runtime.unit_of_work() as session:
        records = validate_records(hr_records(count))
        import_records(session, records, source=HrSource.central, now=now, actor="bench")
        signer = runtime.keyring.signing_key(now.timestamp())
        for employee in session.scalars(select(Employee).order_by(Employee.id)):
            holder = Ed25519PrivateKey.generate()
            credential_id = secrets.token_hex(16)
            exp = now + timedelta(days=365)
            status_list, idx = allocate_status_slot(
                session,
                runtime.config,
                now,
                {
                    "id": credential_id,
                    "employee_id": employee.id,
                    "application_id": None,
                    "offer_id": None,
                    "holder_jkt": holder.public_key.thumbprint(),
                    "kid": signer.kid,
                    "state": "active",
                    "issued_at": now,
                    "expires_at": exp,
                    "notification_id": secrets.token_hex(12),
                },
            )
            claims = employee_claims(employee)
            credential = issue_sd_jwt_vc(
                issuer=runtime.config.base_url,
                vct=runtime.config.vct,
                claims=claims,
                disclosable=DISCLOSABLE.intersection(claims),
                key=signer.key,
                kid=signer.kid,
                holder_jwk=holder.public_key.to_jwk(),
                iat=int(now.timestamp()),
                exp=int(exp.timestamp()),
                status=status_reference(idx, status_list.uri),
            )
            issued.append((credential_id, credential, holder))
    return issued


def revoke(runtime: Any, credential_id: str) -> float:
    """Revoke as `mobileid issuer revoke` does; returns the moment the transaction committed."""
    from issuer.api_tokens import operator
    from issuer.lifecycle.credentials import revoke_credential

    with runtime.unit_of_work() as session:
        revoke_credential(
            session,
            operator("bench"),
            credential_id,
            reason="phone_lost",
            publisher=runtime.status,
            keyring=runtime.keyring,
            now=runtime.clock(),
        )
    return time.monotonic()


# --- a gate process ----------------------------------------------------------------------------


class Switch:
    """The gate's network as the benchmark sees it: cut entirely, or the feed alone."""

    def __init__(self) -> None:
        self.cut_until = 0.0
        self.feed_down = False

    def refuses(self, request: httpx.Request, *, feed: bool) -> bool:
        return time.time() < self.cut_until or (feed and self.feed_down)


class _CutStream(httpx.AsyncByteStream):
    """A feed response that breaks when the gate is cut off (as a dead network would)."""

    def __init__(self, inner: httpx.AsyncByteStream, switch: Switch) -> None:
        self.inner, self.switch = inner, switch

    async def __aiter__(self) -> Any:
        async for chunk in self.inner:
            if self.switch.refuses(httpx.Request("GET", "/"), feed=True):
                raise httpx.ReadError("cut off")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class FeedTransport(httpx.AsyncBaseTransport):
    def __init__(self, switch: Switch) -> None:
        self.switch, self.inner = switch, httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.switch.refuses(request, feed=True):
            raise httpx.ConnectError("cut off", request=request)
        response = await self.inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CutStream(response.stream, self.switch)
        return response


class FetchTransport(httpx.BaseTransport):
    def __init__(self, switch: Switch) -> None:
        self.switch, self.inner = switch, httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.switch.refuses(request, feed=False):
            raise httpx.ConnectError("cut off", request=request)
        return self.inner.handle_request(request)


def serve_gate(directory: Path, port: int) -> None:
    """One gate: the real gate app and worker, the feed, and `/bench/*` to cut it off."""
    import uvicorn

    from mobileid.db import create_db_engine
    from mobileid.gate_app import create_gate_app
    from verifier.fetch import new_http_client
    from verifier.gate.feed import GateFeed
    from verifier.gate.service import build_gate
    from verifier.policy import parse_gate_policy

    role = json.loads((directory / "role.json").read_text())
    policy = parse_gate_policy(
        {
            "gate_id": role["gate_id"],
            "site": SITE,
            "trusted_issuers": [{"issuer": role["issuer"]}],
            "allow_insecure_loopback": True,
        }
    )
    switch = Switch()
    service = build_gate(
        policy,
        engine=create_db_engine(f"sqlite:///{directory / 'gate.sqlite3'}"),
        client=new_http_client(FetchTransport(switch)),
    )
    app = create_gate_app(service, feed=GateFeed(service, transport=FeedTransport(switch)))

    @app.post("/bench/network")
    async def network(request: Request) -> Response:
        order = await request.json()
        switch.cut_until = time.time() + float(order.get("cut_s", 0))
        switch.feed_down = bool(order.get("feed_down", False))
        return Response(status_code=204)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_issuer(directory: Path, port: int) -> None:
    import uvicorn

    from mobileid.app import create_app
    from mobileid.settings import get_settings

    os.environ.update(json.loads((directory / "env.json").read_text()))
    app = create_app(get_settings())
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


# --- the driver ------------------------------------------------------------------------------


class Gate:
    def __init__(self, gate_id: str, port: int, process: subprocess.Popen[bytes]) -> None:
        self.gate_id, self.port, self.process = gate_id, port, process
        self.audience = f"gate:{SITE}:{gate_id}"


def _presentation(credential: str, holder: Any, audience: str) -> bytes:
    from schemas.employee_id import PURPOSES, Purpose
    from vc.base64url import b64url_encode
    from vc.sd_jwt import present

    names = [(c,) for c in sorted(PURPOSES[Purpose.gate] - {"photo"})]
    return present(
        credential,
        select=names,
        holder_key=holder,
        audience=audience,
        nonce=b64url_encode(secrets.token_bytes(16)),
        iat=int(time.time()),
    ).encode()


class Watch:
    """One gate scanning one credential: a connection and presentations made ahead of the
    revocation, so the driver's own signing (200 presentations a second) stays out of the
    measured delay; more are made on the way if the gate takes longer."""

    def __init__(self, gate: Gate, credential: str, holder: Any, conn: Connection) -> None:
        self.gate, self.credential, self.holder, self.conn = gate, credential, holder, conn
        self.ready = [_presentation(credential, holder, gate.audience) for _ in range(MADE_AHEAD)]

    @classmethod
    async def on(cls, gates: list[Gate], credential: str, holder: Any) -> list[Watch]:
        return [cls(g, credential, holder, await Connection.open(g.port)) for g in gates]

    async def until_revoked(self, since: float) -> float:
        """Scan at the gate until it says `revoked`; seconds after `since`."""
        try:
            while time.monotonic() - since < GIVE_UP_S:
                body = (
                    self.ready.pop()
                    if self.ready
                    else _presentation(self.credential, self.holder, self.gate.audience)
                )
                answer = json.loads(await self.conn.post("/scan", body, "application/octet-stream"))
                if answer.get("reason") == "revoked":
                    return time.monotonic() - since
                await asyncio.sleep(SCAN_EVERY_S)
        finally:
            self.conn.close()
        raise RuntimeError(f"gate {self.gate.gate_id} never denied within {GIVE_UP_S} s")


async def _denials(watches: list[Watch], since: float) -> list[float]:
    return list(await asyncio.gather(*(w.until_revoked(since) for w in watches)))


async def _network(gate: Gate, **order: Any) -> None:
    conn = await Connection.open(gate.port)
    try:
        body = json.dumps(order).encode()
        status, _, _ = await conn.request(
            "POST", "/bench/network", body=body, headers={"Content-Type": "application/json"}
        )
        assert status == 204, status
    finally:
        conn.close()


async def _health(gate: Gate) -> dict[str, Any]:
    conn = await Connection.open(gate.port)
    try:
        _, _, body = await conn.request("GET", "/health")
        return dict(json.loads(body))
    finally:
        conn.close()


async def _all_connected(gates: list[Gate], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = [(await _health(g))["status_feed"][0]["state"] for g in gates]
        if all(s == "connected" for s in states):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("gates did not connect to the feed")


async def _warm(gates: list[Gate], credential: str, holder: Any) -> None:
    """One allowed scan per gate: each holds the list before any revocation. A gate that does
    not hold the list yet answers `stale_status` and asks its refresher for it; it is asked
    again (a fresh presentation) until it allows, for up to WARM_UP_S."""
    for gate in gates:
        deadline = time.monotonic() + WARM_UP_S
        while True:
            conn = await Connection.open(gate.port)
            answer = json.loads(
                await conn.post(
                    "/scan",
                    _presentation(credential, holder, gate.audience),
                    "application/octet-stream",
                )
            )
            conn.close()
            if answer.get("allow"):
                break
            if answer.get("reason") != "stale_status" or time.monotonic() > deadline:
                raise RuntimeError(f"warm-up scan refused at {gate.gate_id}: {answer}")
            await asyncio.sleep(0.1)


async def drive(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    issuer_port = free_port()
    env = _issuer_env(directory, issuer_port, args.ttl_s)
    needed = args.revocations + 1 + args.ttl_revocations + 1
    with _issuer_runtime(env) as runtime:
        population = issue_population(runtime, needed)
        (directory / "issuer-serve").mkdir()
        (directory / "issuer-serve" / "env.json").write_text(json.dumps(env))
        processes = [start_worker("bench.propagation", directory / "issuer-serve", issuer_port, 0)]
        try:
            gates = []
            for n in range(args.gates):
                gate_dir = directory / f"gate-{n:02d}"
                gate_dir.mkdir(mode=0o700)
                gate_id = f"east-{n:02d}"
                (gate_dir / "role.json").write_text(
                    json.dumps({"gate_id": gate_id, "issuer": env["MOBILEID_ISSUER_BASE_URL"]})
                )
                port = free_port()
                process = start_worker("bench.propagation", gate_dir, port, 0)
                processes.append(process)
                gates.append(Gate(gate_id, port, process))
            _, warm_credential, warm_holder = population.pop()
            await _warm(gates, warm_credential, warm_holder)
            await _all_connected(gates)

            online: list[float] = []
            for _ in range(args.revocations):
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                cid, credential, holder = population.pop()
                watches = await Watch.on(gates, credential, holder)
                online += await _denials(watches, revoke(runtime, cid))
            print(
                f"online ({args.gates} gates, {len(online)} denials): "
                f"p50 {statistics.median(online):.2f} s  p99 {pct(online, 99):.2f} s  "
                f"max {max(online):.2f} s"
            )

            cut = gates[0]
            cid, credential, holder = population.pop()
            await _network(cut, cut_s=args.cutoff_s)
            cut_started = time.monotonic()
            await asyncio.sleep(min(1.0, args.cutoff_s / 4))
            revoke(runtime, cid)
            await asyncio.sleep(max(0.0, args.cutoff_s - 1.0 - (time.monotonic() - cut_started)))
            (watch,) = await Watch.on([cut], credential, holder)  # fresh: a gate refuses old ones
            await asyncio.sleep(max(0.0, args.cutoff_s - (time.monotonic() - cut_started)))
            reconnect = await watch.until_revoked(time.monotonic())
            print(
                f"reconnect: cut off {args.cutoff_s:.0f} s, revoked meanwhile, "
                f"denied {reconnect:.2f} s after the network came back"
            )

            for gate in gates:
                await _network(gate, feed_down=True)
            await asyncio.sleep(0.5)
            ttl_only: list[float] = []
            rounds = [population.pop() for _ in range(args.ttl_revocations)]
            for _, credential, holder in rounds:
                await _warm(gates, credential, holder)
            for cid, credential, holder in rounds:
                await asyncio.sleep(rng.uniform(0, args.ttl_s))  # anywhere in the refresh cycle
                watches = await Watch.on(gates, credential, holder)
                ttl_only += await _denials(watches, revoke(runtime, cid))
            print(
                f"feed down, TTL only (ttl {args.ttl_s} s, {len(ttl_only)} denials): "
                f"p50 {statistics.median(ttl_only):.2f} s  max {max(ttl_only):.2f} s"
            )
        finally:
            stop_workers(processes)
    p50, p99 = statistics.median(online), pct(online, 99)
    print(
        f"feed vs TTL only: p50 {p50:.2f} s vs {statistics.median(ttl_only):.2f} s "
        f"({statistics.median(ttl_only) / p50:.0f}x sooner)"
    )
    return {
        "propagation_p50_s": round(p50, 3),
        "propagation_p99_s": round(p99, 3),
        "propagation_max_s": round(max(online), 3),
        "reconnect_deny_s": round(reconnect, 3),
        "cutoff_s": args.cutoff_s,
        "ttl_only_p50_s": round(statistics.median(ttl_only), 3),
        "ttl_only_max_s": round(max(ttl_only), 3),
        "ttl_s": args.ttl_s,
        "denials": len(online),
        "gates": args.gates,
    }


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        directory, port = Path(sys.argv[2]), int(sys.argv[3])
        if (directory / "role.json").exists():
            serve_gate(directory, port)
        else:
            serve_issuer(directory, port)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=20)
    parser.add_argument("--revocations", type=int, default=10)
    parser.add_argument("--cutoff-s", type=float, default=60.0)
    parser.add_argument("--ttl-s", type=int, default=30)
    parser.add_argument("--ttl-revocations", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    print(
        json.dumps(in_private_dir("bench-propagation-", lambda directory: drive(args, directory)))
    )


if __name__ == "__main__":
    main()
