"""A national population on this machine: 1.2 million public servants, on SQLite and PostgreSQL.

    python -m bench.scale [--count 1200000] [--no-postgres | --only sqlite|postgres]
                          [--hr-file FILE]

For each database, in a fresh one, through the issuer's own functions:
- HR import of a synthetic national file (`mobileid hr generate`, one file for both databases)
  the way `mobileid hr import` does it (targets <= 120 s SQLite, <= 60 s PostgreSQL); baseline:
  reading the same file's CSV alone, no validation, no database.
- Bulk status allocation: one credential per employee at a random slot (`bench.population`);
  baseline: the per-credential allocator of issuance (`allocate_status_slot`) timed on the last,
  nearly full list, per credential.
- Republish after one revocation (`revoke_credential`, median) at 0.1 % and 10 % of a list's
  entries revoked (target <= 15 ms at 0.1 %); baseline: the whole list encoded and signed in
  one go (`vc.status_list`, no database).
- Mass suspension of an agency of about 100,000 (scaled with --count; target <= 60 s) in
  batches, each list re-signed once per batch; beside it, how many signatures one per credential
  would have taken.
- A gate's full sync of every list over HTTP (bytes, seconds; each token verified as a gate
  does), the memory the verified lists hold, and a decision's p99 with every list loaded beside
  one with a single list.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update

from bench.gate import ISSUER, Fixture, gate_policy, in_process_pipeline
from bench.population import issue_population
from bench.status import _postgres_base, _Schema
from issuer.api_tokens import operator
from issuer.hr.importing import HrSource
from issuer.hr.stream import import_hr_file
from issuer.hr.synthetic import write_synthetic_hr_file
from issuer.lifecycle.credentials import revoke_credential
from issuer.lifecycle.mass_actions import MassScope, plan_mass_action, run_mass_action
from issuer.models import Credential, Employee, StatusListRecord
from issuer.status.slots import FULL_FRACTION, allocate_status_slot
from mobileid.app import create_app
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import Settings, get_settings
from vc.keys import PublicKey
from vc.status_list import INVALID, StatusList, sign_status_list_token, verify_status_list_token

NATIONAL = 1_200_000
MASS_TARGET = 100_000
MASS_BATCH = 5000
REVOCATIONS = 25
SINGLE_SLOTS = 200


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def csv_baseline(path: Path) -> float:
    """Seconds to read the file's CSV alone."""
    with path.open(encoding="utf-8", newline="") as fh:
        fh.readline()
        start = time.perf_counter()
        for _ in csv.DictReader(fh):
            pass
        return time.perf_counter() - start


def bench_import(runtime: IssuerRuntime, hr_file: Path) -> dict[str, Any]:
    def run() -> int:
        with runtime.unit_of_work() as s:
            return import_hr_file(s, hr_file, source=HrSource.central, now=runtime.clock()).created

    cpu = time.process_time()
    seconds, created = _timed(run)
    return {
        "hr_import_s": round(seconds, 1),
        "hr_import_cpu_s": round(time.process_time() - cpu, 1),
        "employees": created,
    }


def bench_allocation(runtime: IssuerRuntime) -> dict[str, Any]:
    seconds, issued = _timed(lambda: issue_population(runtime))
    with runtime.unit_of_work() as s:
        lists = s.scalar(select(func.count()).select_from(StatusListRecord)) or 0
        spare = s.scalars(
            select(Employee.id).where(Employee.employment_status == "retired").limit(SINGLE_SLOTS)
        ).all()
    single: list[float] = []
    for employee_id in spare:  # retired: no live credential yet, so one may be added
        with runtime.unit_of_work() as s:
            now = runtime.clock()
            row = {
                "id": uuid.uuid4().hex,
                "employee_id": employee_id,
                "holder_jkt": "-",
                "kid": runtime.keyring.active.kid,
                "state": "active",
                "issued_at": now,
                "expires_at": now + timedelta(days=1),
                "notification_id": uuid.uuid4().hex,
            }
            start = time.perf_counter()
            allocate_status_slot(s, runtime.config, now, row)
            single.append(time.perf_counter() - start)
    with runtime.unit_of_work() as s:
        whole, _ = _timed(
            lambda: s.scalar(
                select(func.count()).select_from(Credential).where(Credential.status_list_id == 1)
            )
        )
        window, _ = _timed(
            lambda: s.scalar(
                select(func.count())
                .select_from(Credential)
                .where(
                    Credential.status_list_id == 1,
                    Credential.status_idx >= 0,
                    Credential.status_idx < 4096,
                )
            )
        )
    return {
        "allocation_s": round(seconds, 1),
        "fill_check_window_ms": round(window * 1000, 2),
        "fill_check_count_ms": round(whole * 1000, 2),
        "credentials": issued,
        "lists": lists,
        "allocation_us_per_credential": round(seconds / max(issued, 1) * 1e6, 1),
        "single_slot_us": round(statistics.median(single) * 1e6, 1) if single else None,
    }


def _revoke_share(runtime: IssuerRuntime, list_id: int, fraction: float) -> int:
    """Revoke about `fraction` of the list's entries directly (set-up, not timed)."""
    per_10k = round(10_000 * fraction / FULL_FRACTION)
    with runtime.unit_of_work() as s:
        done = s.execute(
            update(Credential)
            .where(
                Credential.status_list_id == list_id,
                Credential.state == "active",
                Credential.status_idx % 10_000 < per_10k,
            )
            .values(state="revoked", revoked_at=runtime.clock(), revocation_reason="other"),
            execution_options={"preserve_rowcount": True},
        )
        return int(getattr(done, "rowcount", 0))


def bench_republish(runtime: IssuerRuntime, fraction: float) -> dict[str, Any]:
    revoked = _revoke_share(runtime, 1, fraction)
    with runtime.unit_of_work() as s:
        cold, _ = _timed(
            lambda: runtime.status.rebuild(s, keyring=runtime.keyring, now=runtime.clock())
        )
        size = s.get(StatusListRecord, 1).size  # type: ignore[union-attr]
        victims = s.scalars(
            select(Credential.id)
            .where(Credential.status_list_id == 1, Credential.state == "active")
            .order_by(Credential.status_idx)
            .limit(REVOCATIONS)
        ).all()
    times = []
    for cid in victims:
        with runtime.unit_of_work() as s:
            start = time.perf_counter()
            revoke_credential(
                s,
                operator("bench"),
                cid,
                reason="phone_lost",
                publisher=runtime.status,
                keyring=runtime.keyring,
                now=runtime.clock(),
            )
        times.append(time.perf_counter() - start)  # the commit included
    same = StatusList(size, 2)
    for idx in random.Random(2026).sample(range(size), round(size * fraction)):
        same.set(idx, INVALID)
    key = runtime.keyring.active
    baseline = [
        _timed(
            lambda: sign_status_list_token(
                same, key.key, kid=key.kid, sub="https://x/1", iat=int(time.time()), ttl=300
            )
        )[0]
        for _ in range(5)
    ]
    return {
        "revoked": revoked,
        "republish_ms": _ms(times),
        "baseline_ms": _ms(baseline),
        "rebuild_all_s": round(cold, 2),
    }


def bench_mass_suspend(runtime: IssuerRuntime, target: int) -> dict[str, Any]:
    with runtime.unit_of_work() as s:
        sizes = s.execute(
            select(Employee.agency_code, func.count())
            .join(Credential, Credential.employee_id == Employee.id)
            .where(Credential.state == "active")
            .group_by(Employee.agency_code)
        ).all()
        agency = min(sizes, key=lambda row: abs(row[1] - target))[0]
        plan = plan_mass_action(
            s,
            operator("bench"),
            MassScope.parse(agency_code=agency),
            action="suspend",
            reason="emergency",
        )
        lists = s.scalar(select(func.count()).select_from(StatusListRecord)) or 1
    cpu = time.process_time()
    seconds, result = _timed(
        lambda: run_mass_action(
            plan,
            unit_of_work=runtime.unit_of_work,
            publisher=runtime.status,
            keyring=lambda: runtime.keyring,
            clock=runtime.clock,
            batch_size=MASS_BATCH,
        )
    )
    return {
        "mass_suspend_s": round(seconds, 1),
        "mass_suspend_cpu_s": round(time.process_time() - cpu, 1),
        "suspended": result.changed,
        "agency": agency,
        "batches": result.batches,
        "list_signatures_at_most": result.batches * lists,
    }


async def _fetch_all(app: Any, paths: list[str]) -> list[bytes]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://issuer") as client:
        bodies = []
        for path in paths:
            answer = await client.get(path)
            answer.raise_for_status()
            bodies.append(answer.content)
        return bodies


def bench_gate(settings: Settings) -> dict[str, Any]:
    app = create_app(settings, run_outbox=False)
    runtime: IssuerRuntime = app.state.runtime
    try:
        with runtime.unit_of_work() as s:
            uris = list(s.scalars(select(StatusListRecord.uri).order_by(StatusListRecord.id)))
        base = runtime.config.base_url

        def issuer_key(header: Mapping[str, Any], _payload: Mapping[str, Any]) -> PublicKey:
            signer = runtime.keyring.get(str(header.get("kid")))
            assert signer is not None
            return signer.key.public_key

        start = time.perf_counter()
        bodies = asyncio.run(_fetch_all(app, [uri.removeprefix(base) for uri in uris]))
        verified = [
            verify_status_list_token(
                body.decode("ascii"),
                issuer_key,
                uri=uri,
                algorithms=("EdDSA", "ES256"),
                now=time.time(),
            )
            for uri, body in zip(uris, bodies, strict=True)
        ]
        sync_s = time.perf_counter() - start
        received = sum(len(b) for b in bodies)
    finally:
        runtime.close()
    fixture = Fixture()
    policy = gate_policy()
    one = in_process_pipeline(fixture, policy)
    every = in_process_pipeline(fixture, policy)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n, entry in enumerate(verified, start=2):  # the national lists, as this gate's issuer's
        uri = f"{ISSUER}/status-lists/{n}"
        token = sign_status_list_token(
            entry.status_list,
            fixture.key,
            kid=fixture.kid,
            sub=uri,
            iat=int(time.time()),
            ttl=3600,
            issuer=ISSUER,
        )
        every.status.load_token(
            ISSUER, uri, token, etag=None, fetched_at=time.time(), now=time.time()
        )
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    p99 = {}
    for name, pipeline in (("one", one), ("every", every)):
        batch = fixture.presentations(2000, policy.audience)
        samples = []
        for presentation in batch:
            start = time.perf_counter()
            pipeline.decide(presentation, now=time.time())
            samples.append(time.perf_counter() - start)
        p99[name] = round(_pct(samples, 0.99) * 1000, 3)
    return {
        "gate_sync_bytes": received,
        "gate_sync_s": round(sync_s, 2),
        "gate_lists": len(uris),
        "gate_lists_memory_bytes": held,
        "decision_p99_ms_every_list": p99["every"],
        "decision_p99_ms_one_list": p99["one"],
    }


def bench_database(url: str, data_dir: Path, hr_file: Path, mass_target: int) -> dict[str, Any]:
    settings = get_settings(data_dir=data_dir, database_url=url, outbox_console=False)
    runtime = open_issuer_runtime(settings)
    figures: dict[str, Any] = {}

    def step(name: str, found: dict[str, Any]) -> None:
        """Each step's figures on stderr as they come (a long run can be watched)."""
        print(f"{url.partition(':')[0]} {name}: {found}", file=sys.stderr, flush=True)
        figures.update(found)

    try:
        step("import", bench_import(runtime, hr_file))
        step("allocation", bench_allocation(runtime))
        for name, fraction in (("0_1pct", 0.001), ("10pct", 0.10)):
            step("republish", {name: bench_republish(runtime, fraction)})
        step("mass suspension", bench_mass_suspend(runtime, mass_target))
    finally:
        runtime.close()
    step("gate", bench_gate(settings))
    return figures


def _report(db: str, f: dict[str, Any], csv_s: float) -> None:
    print(f"{db}: {f['employees']:,} employees")
    print(
        f"  HR import                 {f['hr_import_s']:8.1f} s   ({f['hr_import_cpu_s']} s of this"
        f" process's CPU; CSV reading alone {csv_s:.1f} s)"
    )
    print(
        f"  status allocation         {f['allocation_s']:8.1f} s   {f['credentials']:,} credentials"
        f" over {f['lists']} lists, {f['allocation_us_per_credential']} us each"
        f" (issuance's allocator on the last list: {f['single_slot_us']} us each)"
    )
    print(
        f"  a list's fill judged      {f['fill_check_window_ms']:8.2f} ms  from a 4,096-slot window"
        f" (counting list 1 whole: {f['fill_check_count_ms']} ms)"
    )
    for name, label in (("0_1pct", "0.1 %"), ("10pct", "10 %")):
        r = f[name]
        print(
            f"  republish at {label:5} revoked {r['republish_ms']:8.2f} ms"
            f"  (whole list encoded + signed: {r['baseline_ms']} ms; every list rebuilt"
            f" {r['rebuild_all_s']} s; {r['revoked']:,} revoked)"
        )
    print(
        f"  mass suspension           {f['mass_suspend_s']:8.1f} s"
        f"   ({f['mass_suspend_cpu_s']} s of this process's CPU) {f['suspended']:,} of agency"
        f" {f['agency']} in {f['batches']} batches: <= {f['list_signatures_at_most']} list"
        f" signatures (one per credential: {f['suspended']:,})"
    )
    print(
        f"  gate full sync            {f['gate_sync_s']:8.2f} s   {f['gate_sync_bytes']:,} bytes,"
        f" {f['gate_lists']} lists; lists held {f['gate_lists_memory_bytes']:,} bytes"
    )
    print(
        f"  decision p99              {f['decision_p99_ms_every_list']:8.3f} ms"
        f"  (one list loaded: {f['decision_p99_ms_one_list']} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=NATIONAL, help="employees")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="one database only")
    parser.add_argument(
        "--hr-file", type=Path, help="an HR file of --count rows made earlier (hr generate)"
    )
    args = parser.parse_args()
    mass_target = max(1, MASS_TARGET * args.count // NATIONAL)
    figures: dict[str, dict[str, Any] | None] = {"sqlite": None, "postgres": None}
    with tempfile.TemporaryDirectory() as tmp:
        hr_file = args.hr_file or Path(tmp) / "national.csv"
        if args.hr_file is None:
            generate_s, _ = _timed(lambda: write_synthetic_hr_file(hr_file, args.count, seed=2026))
            print(
                f"synthetic HR file: {args.count:,} rows, {hr_file.stat().st_size:,} bytes,"
                f" written in {generate_s:.1f} s"
            )
        csv_s = csv_baseline(hr_file)
        if args.only in (None, "sqlite"):
            sqlite = bench_database(
                f"sqlite:///{tmp}/scale.sqlite3", Path(tmp) / "data", hr_file, mass_target
            )
            _report("SQLite", sqlite, csv_s)
            figures["sqlite"] = sqlite
        base = None if args.no_postgres or args.only == "sqlite" else _postgres_base()
        if base is not None:
            schemas = _Schema(base)
            try:
                pg = bench_database(schemas.url(), Path(tmp) / "data-pg", hr_file, mass_target)
            finally:
                schemas.drop()
            _report("PostgreSQL", pg, csv_s)
            figures["postgres"] = pg
        else:
            print("PostgreSQL: skipped")

    def figure(db: str, *path: str) -> Any:
        found: Any = figures[db]
        for key in path:
            if found is None:
                return None
            found = found[key]
        return found

    result: dict[str, Any] = {
        "hr_import_s_sqlite": figure("sqlite", "hr_import_s"),
        "hr_import_s_postgres": figure("postgres", "hr_import_s"),
        "hr_import_cpu_s_sqlite": figure("sqlite", "hr_import_cpu_s"),
        "hr_import_cpu_s_postgres": figure("postgres", "hr_import_cpu_s"),
        "csv_read_s": round(csv_s, 1),
        "allocation_s_sqlite": figure("sqlite", "allocation_s"),
        "allocation_s_postgres": figure("postgres", "allocation_s"),
        "republish_ms_0_1pct": figure("sqlite", "0_1pct", "republish_ms"),
        "republish_ms_10pct": figure("sqlite", "10pct", "republish_ms"),
        "republish_ms_0_1pct_postgres": figure("postgres", "0_1pct", "republish_ms"),
        "republish_ms_10pct_postgres": figure("postgres", "10pct", "republish_ms"),
        "republish_baseline_ms_0_1pct": figure("sqlite", "0_1pct", "baseline_ms"),
        "mass_suspend_100k_s": figure("sqlite", "mass_suspend_s"),
        "mass_suspend_100k_s_postgres": figure("postgres", "mass_suspend_s"),
        "mass_suspend_cpu_s_sqlite": figure("sqlite", "mass_suspend_cpu_s"),
        "mass_suspended": figure("sqlite", "suspended") or figure("postgres", "suspended"),
        "gate_sync_bytes": figure("sqlite", "gate_sync_bytes")
        or figure("postgres", "gate_sync_bytes"),
        "gate_sync_s": figure("sqlite", "gate_sync_s"),
        "gate_lists_memory_bytes": figure("sqlite", "gate_lists_memory_bytes"),
        "decision_p99_ms": figure("sqlite", "decision_p99_ms_every_list"),
        "decision_p99_ms_one_list": figure("sqlite", "decision_p99_ms_one_list"),
        "employees": args.count,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
