"""Republishing a 2^20-entry, 2-bit Token Status List after one revocation, on SQLite and
PostgreSQL, at 0.1 % and 10 % of entries revoked.

    python -m bench.status [--changes 25] [--no-postgres]

Republish = one `revoke_credential` transaction through the issuer's service: lock and update the
credential, rebuild `lst` (only the changed 8 KiB chunk is recompressed), sign a new Status List
Token, store it, audit, commit. Also shown: the publication step alone, a cold rebuild from the
table (what the first change after a restart costs), the token's size, and the baseline measured
in the same run: `vc.status_list` encode (zlib level 9 of the whole list) + Ed25519 signature of
the same list, no database. Medians. Target: <= 15 ms at 0.1 %. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from issuer.api_tokens import operator
from issuer.lifecycle.credentials import revoke_credential
from issuer.models import Credential, Employee, StatusListRecord
from issuer.status.publication import StatusListPublisher
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import get_settings
from vc.status_list import INVALID, StatusList, sign_status_list_token

SIZE = 2**20
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DENSITIES = (("0_1pct", 0.001), ("10pct", 0.10))


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _employee(number: str, now: datetime) -> dict[str, Any]:
    return dict(
        employee_number=number,
        hr_source="e-saram",
        name="홍길동",
        agency="행정안전부",
        agency_code="1741000",
        department="디지털정부과",
        department_code="D100",
        position="주무관",
        grade="6급",
        employment_type="general",
        employment_status="active",
        opaque_id=uuid.uuid4().hex,
        record_hash="-",
        created_at=now,
        updated_at=now,
    )


def _credential(employee_id: int, idx: int, state: str, now: datetime) -> dict[str, Any]:
    return dict(
        id=uuid.uuid4().hex,
        employee_id=employee_id,
        holder_jkt="-",
        kid="-",
        status_list_id=1,
        status_idx=idx,
        state=state,
        issued_at=now,
        expires_at=now + timedelta(days=365),
        revoked_at=now if state == "revoked" else None,
        revocation_reason="other" if state == "revoked" else None,
        notification_id=uuid.uuid4().hex,
    )


def populate(runtime: IssuerRuntime, revoked: int, live: int) -> list[str]:
    """One 2^20 list with `revoked` revoked entries and `live` active credentials (one per
    employee, as the one-live-credential rule wants); returns the active credentials' ids."""
    now = runtime.clock()
    rng = random.Random(2026)
    indices = rng.sample(range(SIZE), revoked + live)
    with runtime.unit_of_work() as s:
        s.add(
            StatusListRecord(
                id=1,
                uri=runtime.config.status_list_uri(1),
                bits=2,
                size=SIZE,
                full=False,
                created_at=now,
            )
        )
        s.execute(insert(Employee), [_employee(f"B{n:06d}", now) for n in range(live + 1)])
        ids = sorted(s.scalars(text("SELECT id FROM issuer_employees")).all())
        holder_of_revoked = ids[-1]
        rows = [_credential(holder_of_revoked, i, "revoked", now) for i in indices[:revoked]]
        for start in range(0, len(rows), 10_000):
            s.execute(insert(Credential), rows[start : start + 10_000])
        active = [
            _credential(e, i, "active", now)
            for e, i in zip(ids[:live], indices[revoked:], strict=True)
        ]
        s.execute(insert(Credential), active)
    return [row["id"] for row in active]


def bench_density(runtime: IssuerRuntime, fraction: float, changes: int) -> dict[str, Any]:
    revoked = round(SIZE * fraction)
    live_ids = populate(runtime, revoked, changes + 3)
    publisher = runtime.status

    def revoke_with(publisher: StatusListPublisher, cid: str) -> None:
        with runtime.unit_of_work() as s:
            revoke_credential(
                s,
                operator("bench"),
                cid,
                reason="phone_lost",
                publisher=publisher,
                keyring=runtime.keyring,
                now=runtime.clock(),
            )

    # first change after a restart: nothing cached, the list is rebuilt from the table
    cold = [
        _timed(partial(revoke_with, StatusListPublisher(runtime.config), cid))
        for cid in live_ids[changes:]
    ]
    with runtime.unit_of_work() as s:  # this process's publisher, warm as a server's would be
        publisher.rebuild(s, keyring=runtime.keyring, now=runtime.clock())

    publish: list[float] = []
    original = publisher.record_changes

    def measured(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            publish.append(time.perf_counter() - start)

    publisher.record_changes = measured  # type: ignore[method-assign]
    republish: list[float] = []
    try:
        for cid in live_ids[:changes]:
            republish.append(_timed(partial(revoke_with, publisher, cid)))
    finally:
        publisher.record_changes = original  # type: ignore[method-assign]

    with runtime.unit_of_work() as s:
        record = s.get(StatusListRecord, 1)
        assert record is not None and record.token is not None
        token = record.token
        published = publisher.statuses(s, 1, [0])  # the stored token decodes
    assert published is not None

    same = StatusList(SIZE, 2)
    rng = random.Random(2026)
    for idx in rng.sample(range(SIZE), revoked + changes + 3):
        same.set(idx, INVALID)
    key = runtime.keyring.active

    def sign_plain() -> str:
        return sign_status_list_token(
            same,
            key.key,
            kid=key.kid,
            sub=runtime.config.status_list_uri(1),
            iat=int(time.time()),
            exp=int(time.time()) + 86400,
            ttl=300,
            issuer=runtime.config.base_url,
        )

    baseline = [_timed(sign_plain) for _ in range(5)]
    baseline_bytes = len(sign_plain())
    return {
        "revoked": revoked,
        "republish_ms": _ms(republish),
        "publish_ms": _ms(publish),
        "cold_ms": _ms(cold),
        "baseline_ms": _ms(baseline),
        "token_bytes": len(token),
        "baseline_token_bytes": baseline_bytes,
    }


def bench_database(make_url: Callable[[str], str], changes: int) -> dict[str, dict[str, Any]]:
    """Both densities, each in a fresh database (`make_url(temp dir)`)."""
    out = {}
    for name, fraction in DENSITIES:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = make_url(tmp)
            settings = get_settings(
                data_dir=Path(tmp) / "data", database_url=db_url, outbox_console=False
            )
            runtime = open_issuer_runtime(settings)
            try:
                out[name] = bench_density(runtime, fraction, changes)
            finally:
                runtime.close()
    return out


def _postgres_base() -> str | None:
    base = os.environ.get("MOBILEID_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        engine = create_engine(base)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - no PostgreSQL here: skip that half
        return None
    return base


class _Schema:
    """Throwaway PostgreSQL schemas, one per database the bench asks for."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
        self.schemas: list[str] = []

    def url(self, _tmp: str = "") -> str:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.schemas.append(schema)
        return f"{self.base}{'&' if '?' in self.base else '?'}options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            for schema in self.schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.admin.dispose()


def _report(db: str, figures: dict[str, dict[str, Any]]) -> None:
    for name, label in (("0_1pct", "0.1 %"), ("10pct", "10 %")):
        f = figures[name]
        ratio = f["baseline_ms"] / f["republish_ms"] if f["republish_ms"] else float("nan")
        print(f"{db}, 2^20 entries, {label} revoked ({f['revoked']:,}):")
        print(
            f"  republish (revoke transaction, new signed token) {f['republish_ms']:9.2f} ms"
            f"  median{'  (target <= 15 ms)' if name == '0_1pct' else ''}"
        )
        print(f"    of which publication (pack + sign + store)   {f['publish_ms']:9.2f} ms")
        print(
            f"  baseline: vc.status_list encode + Ed25519 sign {f['baseline_ms']:9.2f} ms"
            f"  (no database; {ratio:.1f}x the republish time)"
        )
        print(f"  cold rebuild from the table (after a restart)  {f['cold_ms']:9.2f} ms")
        print(
            f"  token size                                     {f['token_bytes']:9d} bytes"
            f"  (one-stream baseline: {f['baseline_token_bytes']} bytes)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=25, help="revocations timed per case")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    sqlite = bench_database(lambda tmp: f"sqlite:///{tmp}/bench.sqlite3", args.changes)
    _report("SQLite", sqlite)
    result: dict[str, Any] = {}
    for name, _ in DENSITIES:
        result[f"republish_ms_{name}"] = sqlite[name]["republish_ms"]
    for name, _ in DENSITIES:
        result[f"publish_ms_{name}"] = sqlite[name]["publish_ms"]
        result[f"baseline_ms_{name}"] = sqlite[name]["baseline_ms"]
        result[f"cold_rebuild_ms_{name}"] = sqlite[name]["cold_ms"]
        result[f"token_bytes_{name}"] = sqlite[name]["token_bytes"]
    base = None if args.no_postgres else _postgres_base()
    if base is not None:
        schemas = _Schema(base)
        try:
            pg = bench_database(schemas.url, args.changes)
        finally:
            schemas.drop()
        _report("PostgreSQL", pg)
        for name, _ in DENSITIES:
            result[f"republish_ms_{name}_postgres"] = pg[name]["republish_ms"]
    else:
        print("PostgreSQL: skipped (no server)")
    result["changes"] = args.changes
    print(json.dumps(result))


if __name__ == "__main__":
    main()
