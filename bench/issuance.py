"""Full OpenID4VCI issuance flows per second over HTTP, on SQLite and on PostgreSQL.

    python -m bench.issuance [--flows 600] [--clients 8] [--workers 1] [--no-postgres] [--dpop]

One flow = GET credential offer -> POST /token (pre-authorized code + tx_code) -> POST /nonce ->
POST /credential (proof JWT) -> a verified-shape `dc+sd-jwt`; with `--dpop` the token is
DPoP-bound and the token and credential requests carry DPoP proofs, as the wallet's do. Offers
are prepared beforehand through the issuer's own services (import, apply, approve; SMS captured
from the outbox), then the server runs as `mobileid serve` in a subprocess and `--clients`
threads drive the flows. The
per-credential signing rate of `vc.sd_jwt_vc.issue_sd_jwt_vc` is measured in the same run, and
the server's own CPU time per flow (from /proc) beside flows/s: on a shared machine the rate moves
with the neighbours, the CPU time much less.
Baseline: a published load test of a well-known Python agent reports about 400 flows a minute
(6.7 flows/s). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, text

from bench.loopback import cpu_seconds, free_port
from issuer.api_tokens import Principal, Role
from issuer.hr.applications import decide_application, file_application
from issuer.hr.importing import HrSource, import_records, validate_records
from issuer.messages.outbox import OutgoingMessage
from issuer.models import Employee
from issuer.oid4vci.issuance import employee_claims
from mobileid.outbox_worker import drain_outbox
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import get_settings
from schemas.employee_id import DISCLOSABLE
from vc.dpop import create_dpop_proof
from vc.keys import Ed25519PrivateKey
from vc.openid4vci import PRE_AUTHORIZED_GRANT, create_proof_jwt, parse_credential_offer_link
from vc.sd_jwt_vc import issue_sd_jwt_vc, status_reference

CONFIG_ID = "KrPublicServantEmployeeId"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class _Capture:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.messages.append(message)


def hr_records(n: int) -> list[dict[str, Any]]:
    """`n` HR records of active employees, numbered B000000 on (benchmarks only)."""
    return [
        {
            "employee_number": f"B{i:06d}",
            "name": "홍길동",
            "name_en": "Hong Gildong",
            "agency": "행정안전부",
            "agency_code": "1741000",
            "department": "디지털정부과",
            "department_code": "D100",
            "position": "주무관",
            "grade": "6급",
            "employment_type": "general",
            "phone": "010-1234-5678",
        }
        for i in range(n)
    ]


def prepare_offers(env: dict[str, str], n: int) -> list[tuple[str, str]]:
    """Import n employees, file and approve their applications; return (link, tx_code) pairs."""
    settings = get_settings(**{k.removeprefix("MOBILEID_").lower(): v for k, v in env.items()})
    capture = _Capture()
    runtime = open_issuer_runtime(settings, sender=capture)
    admin = Principal(token_id=0, role=Role.hr_admin)
    head = Principal(token_id=1, role=Role.department_head, department_code="D100")
    try:
        with runtime.unit_of_work() as s:
            import_records(
                s, validate_records(hr_records(n)), source=HrSource.central, now=runtime.clock()
            )
            for i in range(n):
                record = file_application(
                    s,
                    admin,
                    employee_number=f"B{i:06d}",
                    phone="010-1234-5678",
                    reason="new",
                    now=runtime.clock(),
                )
                decide_application(
                    s,
                    head,
                    record.application.id,
                    approve=True,
                    comment="",
                    config=runtime.config,
                    now=runtime.clock(),
                )
        while any(drain_outbox(runtime)):
            pass
    finally:
        runtime.close()
    links = [
        m.body.split("Issuance link: ")[1].split(" ")[0]
        for m in capture.messages
        if m.kind == "offer_link"
    ]
    codes = [
        m.body.split("Transaction code: ")[1][:6] for m in capture.messages if m.kind == "tx_code"
    ]
    return list(zip(links, codes, strict=True))


def _dpop(key: Any, url: str, access_token: str | None = None) -> dict[str, str]:
    proof = create_dpop_proof(
        key, htm="POST", htu=url, iat=int(time.time()), access_token=access_token
    )
    return {"DPoP": proof}


def _flow(client: httpx.Client, issuer: str, link: str, tx_code: str, key: Any, dpop: bool) -> None:
    _, offer_uri = parse_credential_offer_link(link)
    offer = client.get(urlsplit(offer_uri).path).json()
    code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    token = client.post(
        "/token",
        data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": tx_code},
        headers=_dpop(key, issuer + "/token") if dpop else None,
    )
    access = token.json()["access_token"]
    nonce = client.post("/nonce").json()["c_nonce"]
    proof = create_proof_jwt(key, audience=issuer, nonce=nonce, iat=int(time.time()))
    headers = (
        {"Authorization": f"DPoP {access}", **_dpop(key, issuer + "/credential", access)}
        if dpop
        else {"Authorization": f"Bearer {access}"}
    )
    r = client.post(
        "/credential",
        headers=headers,
        json={"credential_configuration_id": CONFIG_ID, "proofs": {"jwt": [proof]}},
    )
    if r.status_code != 200 or "~" not in r.json()["credentials"][0]["credential"]:
        raise RuntimeError(f"flow failed: {r.status_code} {r.text[:200]}")


def run_flows(
    issuer: str, offers: list[tuple[str, str]], clients: int, server_pid: int, dpop: bool = False
) -> tuple[float, float | None]:
    """Flows per second, and the server's CPU milliseconds per flow (None off Linux)."""
    keys = [Ed25519PrivateKey.generate() for _ in offers]
    work = list(zip(offers, keys, strict=True))
    warmup, timed = work[:clients], work[clients:]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(queue: list[Any]) -> None:
        with httpx.Client(base_url=issuer, timeout=60) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    (link, tx), key = queue.pop()
                try:
                    _flow(client, issuer, link, tx, key, dpop)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                    return

    def drive(queue: list[Any]) -> float:
        threads = [threading.Thread(target=worker, args=(queue,)) for _ in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start

    drive(warmup)
    count = len(timed)
    cpu_before = cpu_seconds(server_pid)
    elapsed = drive(timed)
    cpu_after = cpu_seconds(server_pid)
    if errors:
        raise RuntimeError(f"{len(errors)} flow(s) failed; first: {errors[0]!r}")
    cpu_ms = (
        None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / count
    )
    return count / elapsed, cpu_ms


def bench_database(
    name: str, database_url: str, flows: int, clients: int, workers: int, dpop: bool = False
) -> tuple[float, float | None]:
    with tempfile.TemporaryDirectory(prefix=f"mobileid-bench-{name}-") as tmp:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        env = {
            "MOBILEID_DATA_DIR": str(Path(tmp) / "data"),
            "MOBILEID_DATABASE_URL": database_url,
            "MOBILEID_ISSUER_BASE_URL": issuer,
            "MOBILEID_OUTBOX_CONSOLE": "false",
            "MOBILEID_OUTBOX_POLL_S": "3600",
        }
        offers = prepare_offers(env, flows + clients)
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "mobileid.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ]
        server = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(issuer + "/.well-known/openid-credential-issuer").is_success:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
            return run_flows(issuer, offers, clients, server.pid, dpop)
        finally:
            server.terminate()
            server.wait(timeout=30)


def measure_signing(seconds: float = 1.5) -> float:
    """Credentials signed per second by `issue_sd_jwt_vc` (the core benchmark's figure)."""
    employee = Employee(
        employee_number="B000001",
        name="홍길동",
        name_en="Hong Gildong",
        agency="행정안전부",
        agency_code="1741000",
        department="디지털정부과",
        position="주무관",
        grade="6급",
        employment_type="general",
        opaque_id="x" * 22,
    )
    claims = employee_claims(employee)
    key, holder = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate().public_key.to_jwk()
    now, count = int(time.time()), 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        issue_sd_jwt_vc(
            issuer="https://issuer.example",
            vct="https://issuer.example/t",
            claims=claims,
            disclosable=DISCLOSABLE.intersection(claims),
            key=key,
            kid="k",
            holder_jwk=holder,
            iat=now,
            exp=now + 86400,
            status=status_reference(count, "https://issuer.example/s/1"),
        )
        count += 1
    return count / elapsed


def _postgres_url(base: str) -> tuple[str, Any] | None:
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:  # noqa: BLE001 - no PostgreSQL here: skip that half
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", drop


def _cpu_note(cpu_ms: float | None) -> str:
    return "" if cpu_ms is None else f", server CPU {cpu_ms:.2f} ms/flow"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--dpop", action="store_true", help="bind each token by DPoP, as the wallet simulator does"
    )
    args = parser.parse_args()

    sign_per_s = measure_signing()
    print(f"vc signing (issue_sd_jwt_vc, Ed25519):  {sign_per_s:8.0f} credentials/s")
    result: dict[str, Any] = {"sign_per_s": round(sign_per_s, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        rate, cpu_ms = bench_database(
            "sqlite", url, args.flows, args.clients, args.workers, args.dpop
        )
    print(
        f"issuance over HTTP, SQLite:             {rate:8.1f} flows/s "
        f"(target >= 100; baseline ~6.7){_cpu_note(cpu_ms)}"
    )
    result["flows_per_s_sqlite"] = round(rate, 1)
    result["server_cpu_ms_per_flow_sqlite"] = None if cpu_ms is None else round(cpu_ms, 2)
    pg = (
        None
        if args.no_postgres
        else _postgres_url(os.environ.get("MOBILEID_TEST_POSTGRES_URL", DEFAULT_PG))
    )
    if pg is not None:
        pg_url, drop = pg
        try:
            rate, cpu_ms = bench_database(
                "postgres", pg_url, args.flows, args.clients, args.workers, args.dpop
            )
        finally:
            drop()
        print(f"issuance over HTTP, PostgreSQL:         {rate:8.1f} flows/s{_cpu_note(cpu_ms)}")
        result["flows_per_s_postgres"] = round(rate, 1)
        result["server_cpu_ms_per_flow_postgres"] = None if cpu_ms is None else round(cpu_ms, 2)
    else:
        print("issuance over HTTP, PostgreSQL:         skipped (no server)")
        result["flows_per_s_postgres"] = None
        result["server_cpu_ms_per_flow_postgres"] = None
    result.update(flows=args.flows, clients=args.clients, workers=args.workers, dpop=args.dpop)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
