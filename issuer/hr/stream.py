"""Importing a whole HR export, up to a national population (1.2 million rows) in one file.

The rows are read and validated a batch at a time (`issuer.hr.importing.iter_hr_file`) in a
reader thread, while the caller's thread writes the previous batch in the caller's transaction:
into a temporary staging table (PostgreSQL: `COPY`; SQLite: one executemany), then in SQL the
batch's new employees are added with one `INSERT ... SELECT` and its changed ones (their hash of
the HR fields differs) updated, each with the names of its changed fields for the lifecycle
(`issuer.hr.changes`). At the end duplicate employee numbers are found in the staging table;
if any row had a problem the file is refused whole with the rows named (`HrImportRejected`) and
the caller's rollback leaves nothing behind, staging table included (once a problem is found
the rest is only validated and staged). Memory stays at two batches whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Column, Integer, MetaData, Table, exists, func, insert, literal, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from issuer.errors import HrImportRejected, RowProblem
from issuer.hashing import new_secret
from issuer.hr.importing import (
    HrSource,
    ImportResult,
    audit_import,
    fields_hash,
    iter_hr_file,
    record_fields,
    update_employee_fields,
    validate_row,
)
from issuer.models import Employee, UTCDateTime
from schemas.hr_record import HR_COLUMNS

__all__ = ["import_hr_file", "import_hr_rows"]

BATCH_ROWS = 5000
MAX_PROBLEMS_LISTED = 1000
_FIELDS = (*HR_COLUMNS, "hr_source")
_STAGING = Table(
    "hr_import_staging",
    MetaData(),
    Column("row_no", Integer, primary_key=True),
    *(
        Column(name, Employee.__table__.c[name].type)
        for name in (*_FIELDS, "opaque_id", "record_hash")
    ),
    prefixes=["TEMPORARY"],
)
_STAGED = tuple(_STAGING.c.keys())
"""The staging table's columns, row number first: the order of a staging row."""
_SQLITE_STAGE = str(insert(_STAGING).compile(dialect=sqlite.dialect()))
"""`INSERT INTO hr_import_staging (row_no, ...) VALUES (?, ...)`, for the driver's executemany."""
_T = TypeVar("_T")


def import_hr_file(
    session: Session,
    path: Path,
    *,
    source: HrSource,
    now: datetime,
    actor: str = "cli",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import the HR file at `path` whole or not at all (caller's transaction)."""
    return import_hr_rows(
        session, iter_hr_file(path), source=source, now=now, actor=actor, progress=progress
    )


def import_hr_rows(
    session: Session,
    rows: Iterable[dict[str, Any]],
    *,
    source: HrSource,
    now: datetime,
    actor: str = "cli",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate and stage `rows` (raw records, numbered from 1), creating and updating employees
    from them; `progress` is told of the valid rows read, a batch at a time."""
    connection = session.connection()
    _STAGING.drop(connection, checkfirst=True)
    _STAGING.create(connection)
    found = _Findings()
    result = ImportResult()
    batches = _staged_batches(rows, source, found)
    if connection.dialect.name == "postgresql":
        batches = _read_ahead(batches)
    with _sqlite_page_cache(connection):
        for batch in batches:
            _stage(session, batch.rows)
            if batch.clean:
                first, last = batch.rows[0][0], batch.rows[-1][0]
                result.created += _create_new(session, first, last, now)
                _update_changed(session, result, first, last, now)
            if progress is not None:
                progress(len(batch.rows))
    problems = found.problems
    if found.rows == 0:
        problems.append(RowProblem((0, "file", "no employee records")))
    problems.extend(_duplicates(session))
    if problems:
        problems.sort(key=lambda p: p.row)  # stable: a row's problems keep their order
        if found.unlisted:
            problems.append(RowProblem((0, "file", f"and {found.unlisted} more problems")))
        raise HrImportRejected(problems)
    result.unchanged = found.rows - result.created - result.updated
    _STAGING.drop(connection)
    if connection.dialect.name == "postgresql":
        # PostgreSQL plans from table statistics, which a bulk load leaves stale until
        # autovacuum comes by (a minute or more): refreshed now, so that the next queries
        # (a mass action right after a national import) are planned for the table as it is
        # (PostgreSQL manual, "Populating a Database": run ANALYZE afterwards).
        connection.exec_driver_sql(f"ANALYZE {Employee.__tablename__}")
    audit_import(session, result, source=source, actor=actor, now=now)
    return result


@contextmanager
def _sqlite_page_cache(connection: Connection) -> Iterator[None]:
    """On SQLite, a page cache of up to 256 MiB for the connection while the rows go in, its
    own size again after. With the default 2 MiB the employee table's indexes (a random
    `opaque_id` for each) soon no longer fit and inserts reread and rewrite pages: 600,000 rows
    took 36.5 s of CPU with it, 32.3 s with this, and the gap grows with the file (bench.scale,
    hr_import_s_sqlite <= 120 s for 1.2 million)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    size = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql("PRAGMA cache_size = -262144")  # in KiB
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(size)}")


@dataclass(slots=True)
class _Findings:
    """What reading the rows found: how many, and the problems (the first 1,000 listed)."""

    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    unlisted: int = 0
    repeats: bool = False
    """An employee number seen twice in one batch (named by `_duplicates` at the end)."""

    def add(self, problems: list[RowProblem]) -> None:
        room = max(0, MAX_PROBLEMS_LISTED - len(self.problems))
        self.problems.extend(problems[:room])
        self.unlisted += max(0, len(problems) - room)


class _Batch(NamedTuple):
    rows: list[tuple[Any, ...]]
    """Staging rows, in `_STAGED` order (row number first)."""
    clean: bool
    """No problem and no repeat in the file so far: the rows may be written to the employees
    (a file that will be refused is only staged, to name all its problems)."""


def _staged_batches(
    rows: Iterable[dict[str, Any]], source: HrSource, found: _Findings
) -> Iterator[_Batch]:
    """The valid rows as staging rows, `BATCH_ROWS` at a time; problems go to `found`."""
    batch: list[tuple[Any, ...]] = []
    numbers: set[str] = set()
    for number, row in enumerate(rows, start=1):
        found.rows = number
        record = validate_row(number, row)
        if isinstance(record, list):
            found.add(record)
            continue
        found.repeats = found.repeats or record.employee_number in numbers
        numbers.add(record.employee_number)
        fields = record_fields(record, source)
        digest = fields_hash(fields)
        if record.retirement_date is not None:  # as SQLAlchemy writes a date to SQLite
            fields["retirement_date"] = record.retirement_date.isoformat()
        fields["opaque_id"], fields["record_hash"] = new_secret(16), digest
        batch.append((number, *(fields[name] for name in _STAGED[1:])))
        if len(batch) == BATCH_ROWS:
            yield _Batch(batch, not (found.problems or found.repeats))
            batch, numbers = [], set()
    if batch:
        yield _Batch(batch, not (found.problems or found.repeats))


def _read_ahead(items: Iterator[_T]) -> Iterator[_T]:
    """`items`, the next one made in a reader thread while the caller works on this one.

    On PostgreSQL: reading and validating a row is Python (about 35 us of CPU) and writing it
    is mostly the server's work, in its own process, so the two overlap on the second core:
    200,000 rows in 15 s instead of 44 s on this 2-core machine, and a national file of 1.2
    million within bench.scale's target (hr_import_s_postgres <= 60 s). Not on SQLite, whose
    work runs in this process and takes the GIL back after each row: there the overlap cost
    more CPU than it saved (11.4 s against 10.2 s for 200,000 rows).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hr-import-reader") as reader:
        upcoming = reader.submit(next, items, None)
        while (item := upcoming.result()) is not None:
            upcoming = reader.submit(next, items, None)
            yield item


def _stage(session: Session, batch: list[tuple[Any, ...]]) -> None:
    """Write staging rows through the driver (SQLite: its executemany; PostgreSQL: `COPY`).
    SQLAlchemy's per-row parameter handling cost 8 us of a row's 57 on SQLite, 10 s of CPU in
    a national import (bench.scale, hr_import_s_sqlite <= 120 s)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(_SQLITE_STAGE, batch)
        return
    from psycopg import sql

    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(_STAGING.name), sql.SQL(", ").join(map(sql.Identifier, _STAGED))
    )
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(copy) as writer:
        for row in batch:
            writer.write_row(row)


def _duplicates(session: Session) -> list[RowProblem]:
    """A row for each repeat of an employee number, naming its first row."""
    first = (
        select(_STAGING.c.employee_number, func.min(_STAGING.c.row_no).label("first"))
        .group_by(_STAGING.c.employee_number)
        .having(func.count() > 1)
        .subquery()
    )
    repeats = session.execute(
        select(_STAGING.c.row_no, first.c.first)
        .join(first, first.c.employee_number == _STAGING.c.employee_number)
        .where(_STAGING.c.row_no != first.c.first)
        .order_by(_STAGING.c.row_no)
        .limit(MAX_PROBLEMS_LISTED)
    ).all()
    return [
        RowProblem((row, "employee_number", f"duplicate of record {of}")) for row, of in repeats
    ]


def _create_new(session: Session, first: int, last: int, now: datetime) -> int:
    """Insert the staged rows `first`..`last` whose employee is not yet known; how many.
    (A batch that repeats a number is never written: `_Batch.clean`.)"""
    new = (
        select(
            *(_STAGING.c[name] for name in _STAGED[1:]),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .where(
            _STAGING.c.row_no.between(first, last),
            ~exists().where(Employee.employee_number == _STAGING.c.employee_number),
        )
        .order_by(_STAGING.c.row_no)
    )
    done = session.execute(
        insert(Employee).from_select([*_STAGED[1:], "created_at", "updated_at"], new),
        execution_options={"preserve_rowcount": True},
    )
    return int(getattr(done, "rowcount", 0))


def _update_changed(
    session: Session, result: ImportResult, first: int, last: int, now: datetime
) -> None:
    """Apply the staged rows `first`..`last` whose HR fields changed."""
    changed = session.execute(
        select(Employee, *(_STAGING.c[name] for name in (*_FIELDS, "record_hash")))
        .join(_STAGING, _STAGING.c.employee_number == Employee.employee_number)
        .where(
            _STAGING.c.row_no.between(first, last),
            Employee.record_hash != _STAGING.c.record_hash,
        )
        .order_by(_STAGING.c.row_no)
    ).all()
    for employee, *values in changed:
        fields = dict(zip(_FIELDS, values[:-1], strict=True))
        names = update_employee_fields(employee, fields, values[-1], now)
        result.changes.append((employee.employee_number, names))
    result.updated += len(changed)
    session.flush()
