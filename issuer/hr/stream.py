"""Importing a whole HR export, up to a national population (1.2 million rows) in one file.

One pass reads the rows one at a time (`issuer.hr.importing.iter_hr_file`), validates each and
writes the valid ones in batches into a temporary staging table, in the caller's transaction
(PostgreSQL: `COPY`; SQLite: batched inserts). Then, in SQL: duplicate employee numbers are
found; if any row had a problem the file is refused whole with the rows named
(`HrImportRejected`) and the caller's rollback leaves nothing behind, staging table included.
Otherwise one `INSERT ... SELECT` adds the new employees and the changed ones (their hash of
the HR fields differs) are updated a range of rows at a time, each with the names of its changed
fields for the lifecycle (`issuer.hr.changes`). Memory stays at a batch whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, exists, func, insert, literal, select
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
_STAGED = (*_FIELDS, "opaque_id", "record_hash")
_STAGING = Table(
    "hr_import_staging",
    MetaData(),
    Column("row_no", Integer, primary_key=True),
    *(Column(c.name, c.type) for c in Employee.__table__.columns if c.name in _STAGED),
    prefixes=["TEMPORARY"],
)


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
    """Validate and stage `rows` (raw records, numbered from 1), then create and update
    employees from them; `progress` is told of the valid rows read, a batch at a time."""
    connection = session.connection()
    _STAGING.drop(connection, checkfirst=True)
    _STAGING.create(connection)
    problems: list[RowProblem] = []
    batch: list[dict[str, Any]] = []
    number = unlisted = 0
    for number, row in enumerate(rows, start=1):
        record = validate_row(number, row)
        if isinstance(record, list):
            unlisted += max(0, len(problems) + len(record) - MAX_PROBLEMS_LISTED)
            problems.extend(record[: max(0, MAX_PROBLEMS_LISTED - len(problems))])
            continue
        fields = record_fields(record, source)
        batch.append(
            {
                "row_no": number,
                **fields,
                "opaque_id": new_secret(16),
                "record_hash": fields_hash(fields),
            }
        )
        if len(batch) == BATCH_ROWS:
            _stage(session, batch)
            if progress is not None:
                progress(len(batch))
            batch.clear()
    if batch:
        _stage(session, batch)
    if progress is not None:
        progress(len(batch))
    if number == 0:
        problems.append(RowProblem((0, "file", "no employee records")))
    problems.extend(_duplicates(session))
    if problems:
        problems.sort(key=lambda p: p.row)  # stable: a row's problems keep their order
        if unlisted:
            problems.append(RowProblem((0, "file", f"and {unlisted} more problems")))
        raise HrImportRejected(problems)
    result = ImportResult()
    result.created = _create_new(session, now)
    for start in range(1, number + 1, BATCH_ROWS):
        _update_changed(session, result, start, now)
    result.unchanged = number - result.created - result.updated
    _STAGING.drop(connection)
    audit_import(session, result, source=source, actor=actor, now=now)
    return result


def _stage(session: Session, batch: list[dict[str, Any]]) -> None:
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(_STAGING), batch)
        return
    from psycopg import sql

    columns = list(batch[0])
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(_STAGING.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(copy) as writer:
        for row in batch:
            writer.write_row([row[c] for c in columns])


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


def _create_new(session: Session, now: datetime) -> int:
    """Insert every staged employee not yet known; how many."""
    new = (
        select(
            *(_STAGING.c[name] for name in _STAGED),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .where(~exists().where(Employee.employee_number == _STAGING.c.employee_number))
        .order_by(_STAGING.c.row_no)
    )
    done = session.execute(
        insert(Employee).from_select([*_STAGED, "created_at", "updated_at"], new),
        execution_options={"preserve_rowcount": True},
    )
    return int(getattr(done, "rowcount", 0))


def _update_changed(session: Session, result: ImportResult, start: int, now: datetime) -> None:
    """Apply the staged rows `start`.. (one batch) whose HR fields changed."""
    changed = session.execute(
        select(Employee, *(_STAGING.c[name] for name in (*_FIELDS, "record_hash")))
        .join(_STAGING, _STAGING.c.employee_number == Employee.employee_number)
        .where(
            _STAGING.c.row_no.between(start, start + BATCH_ROWS - 1),
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
