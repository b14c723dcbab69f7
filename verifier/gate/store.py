"""The gate's local SQLite: entry record queries, CSV export, retention, and the offline bundle.

Functions take a SQLAlchemy `Connection` opened by the caller (one transaction per command) and
never commit themselves.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vc.errors import VCError
from verifier.errors import VerifierError
from verifier.models import RECORD_COLUMNS, bundle_items, entry_records
from verifier.status import StatusCache
from verifier.trust import TrustStore

__all__ = [
    "Bundle",
    "BundleError",
    "PurgeResult",
    "RecordFilter",
    "count_pending",
    "count_records",
    "find_records",
    "install_bundle",
    "mark_uploaded",
    "pending_records",
    "purge_records",
    "records_after",
    "records_csv",
    "records_since",
    "save_bundle",
    "saved_bundle",
]

log = logging.getLogger(__name__)
BUNDLE_VERSION = 1


def records_since(
    conn: Connection, since: float, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Entry records at or after `since` (epoch seconds), oldest first."""
    query = select(entry_records).where(entry_records.c.at >= since).order_by(entry_records.c.at)
    if limit is not None:
        query = query.limit(limit)
    return [_plain(row._asdict()) for row in conn.execute(query)]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Column names as plain `str` (SQLAlchemy hands out a subclass orjson refuses as keys)."""
    return {str(k): v for k, v in row.items()}


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which entry records a person asks for; every field left None matches all."""

    since: float | None = None
    """Epoch seconds, inclusive."""
    until: float | None = None
    """Epoch seconds, exclusive."""
    allow: bool | None = None
    employee_number: str | None = None
    gate_id: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        c = entry_records.c
        conditions: list[ColumnElement[bool]] = []
        if self.since is not None:
            conditions.append(c.at >= self.since)
        if self.until is not None:
            conditions.append(c.at < self.until)
        if self.allow is not None:
            conditions.append(c.allow.is_(self.allow))
        if self.employee_number is not None:
            conditions.append(c.employee_number == self.employee_number)
        if self.gate_id is not None:
            conditions.append(c.gate_id == self.gate_id)
        return conditions


def find_records(
    conn: Connection, where: RecordFilter, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    """One page of the records `where` matches, newest first."""
    query = (
        select(*(entry_records.c[c] for c in RECORD_COLUMNS))
        .where(*where.where())
        .order_by(entry_records.c.at.desc(), entry_records.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_plain(row._asdict()) for row in conn.execute(query)]


def count_records(conn: Connection, where: RecordFilter) -> int:
    query = select(func.count()).select_from(entry_records).where(*where.where())
    return int(conn.execute(query).scalar_one())


def records_after(
    conn: Connection, where: RecordFilter, after: tuple[float, str] | None, limit: int
) -> list[dict[str, Any]]:
    """The next `limit` records `where` matches after the (at, id) key `after`, oldest first:
    an export in short reads, each on its own connection, whatever the table's size."""
    c = entry_records.c
    conditions = where.where()
    if after is not None:
        conditions.append(or_(c.at > after[0], and_(c.at == after[0], c.id > after[1])))
    query = (
        select(*(c[name] for name in RECORD_COLUMNS))
        .where(*conditions)
        .order_by(c.at, c.id)
        .limit(limit)
    )
    return [_plain(row._asdict()) for row in conn.execute(query)]


CSV_HEADER = ("at_iso", *RECORD_COLUMNS)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection)."""


def records_csv(records: Iterable[dict[str, Any]], *, header: bool = True) -> str:
    """RFC 4180 CSV (CRLF, quoted where needed), with a header row unless `header` is false;
    `at` as ISO 8601 UTC next to the epoch value; no cell a spreadsheet runs as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    for record in records:
        at_iso = datetime.fromtimestamp(record["at"], UTC).isoformat(timespec="milliseconds")
        writer.writerow([at_iso, *(_csv_cell(record.get(c)) for c in RECORD_COLUMNS)])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value  # no formulas when opened in a spreadsheet
    return "" if value is None else value


def pending_records(conn: Connection, limit: int) -> list[dict[str, Any]]:
    query = (
        select(*(entry_records.c[c] for c in RECORD_COLUMNS))
        .where(entry_records.c.uploaded_at.is_(None))
        .order_by(entry_records.c.at)
        .limit(limit)
    )
    return [_plain(row._asdict()) for row in conn.execute(query)]


def count_pending(conn: Connection) -> int:
    query = select(func.count()).where(entry_records.c.uploaded_at.is_(None))
    return int(conn.execute(query).scalar_one())


def mark_uploaded(conn: Connection, ids: Iterable[str], *, now: float) -> int:
    ids = list(ids)
    if not ids:
        return 0
    result = conn.execute(
        update(entry_records)
        .where(entry_records.c.id.in_(ids), entry_records.c.uploaded_at.is_(None))
        .values(uploaded_at=now)
    )
    return result.rowcount


@dataclass(frozen=True, slots=True)
class PurgeResult:
    deleted: int
    kept_unsent: int


def purge_records(conn: Connection, *, before: float, include_unsent: bool = False) -> PurgeResult:
    """Delete records older than `before`; unsent ones stay unless `include_unsent`."""
    condition = entry_records.c.at < before
    if not include_unsent:
        condition = condition & entry_records.c.uploaded_at.is_not(None)
    deleted = conn.execute(delete(entry_records).where(condition)).rowcount
    kept = conn.execute(
        select(func.count()).where(
            entry_records.c.at < before, entry_records.c.uploaded_at.is_(None)
        )
    ).scalar_one()
    return PurgeResult(deleted, int(kept))


# --- the offline bundle -------------------------------------------------------------------


class BundleError(VerifierError):
    """A bundle, or an item in one, of the wrong shape (`invalid_bundle`)."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_bundle", detail)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _issuer_item(item: Any) -> tuple[str, dict[str, Any], float]:
    """(issuer, document, fetched_at) of a bundle's issuer entry; `BundleError` if malformed."""
    if not (
        isinstance(item, dict)
        and isinstance(item.get("issuer"), str)
        and isinstance(item.get("document"), dict)
        and _number(item.get("fetched_at"))
    ):
        raise BundleError("issuer entry needs issuer, document and fetched_at")
    return item["issuer"], item["document"], float(item["fetched_at"])


def _status_item(item: Any) -> tuple[str, str, str, str | None, float]:
    """(issuer, uri, token, etag, fetched_at) of a bundle's status list entry."""
    if not (
        isinstance(item, dict)
        and all(isinstance(item.get(k), str) for k in ("issuer", "uri", "token"))
        and isinstance(item.get("etag"), str | None)
        and _number(item.get("fetched_at"))
    ):
        raise BundleError("status list entry needs issuer, uri, token and fetched_at")
    return item["issuer"], item["uri"], item["token"], item.get("etag"), float(item["fetched_at"])


@dataclass(frozen=True, slots=True)
class Bundle:
    """Issuer metadata and status list tokens, as a gate stores and the central service serves.

    Nothing in it is trusted as is: keys only for issuers on the gate's own trust list, status
    lists only after their signature, `sub`, `iat` and `exp` checks.
    """

    created_at: float
    issuers: list[dict[str, Any]]
    status_lists: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": BUNDLE_VERSION,
            "created_at": self.created_at,
            "issuers": self.issuers,
            "status_lists": self.status_lists,
        }

    @classmethod
    def from_json(cls, data: Any) -> Bundle:
        """The bundle's outline; its items are checked one by one when installed."""
        if not isinstance(data, dict) or data.get("version") != BUNDLE_VERSION:
            raise BundleError("not a version 1 bundle")
        issuers, lists = data.get("issuers"), data.get("status_lists")
        if not isinstance(issuers, list) or not isinstance(lists, list):
            raise BundleError("bundle needs issuers and status_lists arrays")
        created_at = data.get("created_at", 0)
        if not _number(created_at):
            raise BundleError("bundle created_at must be a number")
        return cls(float(created_at), issuers, lists)

    @classmethod
    def of(cls, trust: TrustStore, status: StatusCache, *, now: float) -> Bundle:
        return cls(
            now,
            [
                {"issuer": d.issuer, "document": d.document, "fetched_at": d.fetched_at}
                for d in trust.documents()
            ],
            [e.to_json() for e in status.entries()],
        )


@dataclass(frozen=True, slots=True)
class InstallResult:
    issuers: int
    status_lists: int
    rejected: int


def install_bundle(
    bundle: Bundle, trust: TrustStore, status: StatusCache, *, now: float
) -> InstallResult:
    """Load a bundle into the trust store and status cache, checking everything; skip the bad."""
    issuers = lists = rejected = 0
    for item in bundle.issuers:
        try:
            issuer, document, fetched_at = _issuer_item(item)
            trust.load_document(issuer, document, fetched_at=fetched_at)
            issuers += 1
        except (VCError, VerifierError) as exc:
            rejected += 1
            log.warning("bundle issuer entry rejected: %s", exc)
    for item in bundle.status_lists:
        try:
            issuer, uri, token, etag, fetched_at = _status_item(item)
            status.load_token(issuer, uri, token, etag=etag, fetched_at=fetched_at, now=now)
            lists += 1
        except (VCError, VerifierError) as exc:
            rejected += 1
            log.warning("bundle status list rejected: %s", exc)
    return InstallResult(issuers, lists, rejected)


def save_bundle(conn: Connection, bundle: Bundle) -> None:
    """Persist what the gate holds now (replacing older items of the same key)."""
    rows = [
        {
            "kind": "issuer",
            "key": item["issuer"],
            "issuer": item["issuer"],
            "body": orjson.dumps(item["document"]).decode(),
            "etag": None,
            "fetched_at": item["fetched_at"],
        }
        for item in bundle.issuers
    ] + [
        {
            "kind": "status_list",
            "key": item["uri"],
            "issuer": item["issuer"],
            "body": item["token"],
            "etag": item.get("etag"),
            "fetched_at": item["fetched_at"],
        }
        for item in bundle.status_lists
    ]
    if not rows:
        return
    statement = sqlite_insert(bundle_items)
    statement = statement.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={c: statement.excluded[c] for c in ("issuer", "body", "etag", "fetched_at")},
        where=bundle_items.c.fetched_at <= statement.excluded.fetched_at,
    )
    conn.execute(statement, rows)


def saved_bundle(conn: Connection, *, now: float) -> Bundle:
    issuers, lists = [], []
    for row in conn.execute(select(bundle_items)):
        if row.kind == "issuer":
            try:
                document = orjson.loads(row.body)
            except orjson.JSONDecodeError:
                continue
            issuers.append(
                {"issuer": row.issuer, "document": document, "fetched_at": row.fetched_at}
            )
        else:
            lists.append(
                {
                    "issuer": row.issuer,
                    "uri": row.key,
                    "token": row.body,
                    "etag": row.etag,
                    "fetched_at": row.fetched_at,
                }
            )
    return Bundle(now, issuers, lists)
