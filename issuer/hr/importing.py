"""Import employees from an HR export (CSV or JSON; columns in `schemas.hr_record`).

All or nothing: every record is validated, and a file with any invalid record is rejected whole
with every problem listed (`HrImportRejected`); nothing is written. Valid records create new
employees and update changed ones (detected by a hash of the HR fields), in the caller's
transaction. The returned changes let the lifecycle act on transfers and retirements.

Here: reading files (CSV streamed), validating a record, and `import_records` for the HR API's
records; whole files go through `issuer.hr.stream`, which stages them in bulk.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.audit import append_audit
from issuer.errors import HrImportRejected, RowProblem
from issuer.hashing import new_secret
from issuer.models import Employee
from schemas.hr_record import HR_COLUMNS, HrRecord

__all__ = [
    "HrSource",
    "ImportResult",
    "audit_import",
    "fields_hash",
    "import_records",
    "iter_hr_file",
    "parse_hr_csv",
    "record_fields",
    "update_employee_fields",
    "validate_records",
    "validate_row",
]

MAX_HR_JSON_BYTES = 64 * 1024 * 1024
_CHUNK = 500


class HrSource(StrEnum):
    """Which HR system the export comes from."""

    central = "central"  # 전자인사관리시스템 e-사람 (central government)
    local = "local"  # 인사랑 (local government)

    @property
    def system(self) -> str:
        return "e-saram" if self is HrSource.central else "insarang"


@dataclass(slots=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    """(employee_number, changed fields) for each updated employee."""


def iter_hr_file(path: Path) -> Iterator[dict[str, Any]]:
    """Raw records of a `.csv` file, streamed (leading lines starting with `#` are comments), or
    of a `.json` file, read whole (at most 64 MB); structural problems reject the file."""
    if path.suffix.lower() == ".json":
        yield from _parse_json(path)
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        try:
            yield from parse_hr_csv(fh)
        except UnicodeDecodeError:
            raise HrImportRejected([RowProblem((0, "file", "file is not UTF-8"))]) from None


def _parse_json(path: Path) -> list[dict[str, Any]]:
    if path.stat().st_size > MAX_HR_JSON_BYTES:
        raise HrImportRejected([RowProblem((0, "file", "JSON file is larger than 64 MB"))])
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise HrImportRejected([RowProblem((0, "file", "file is not UTF-8"))]) from None
    except (ValueError, RecursionError):
        raise HrImportRejected([RowProblem((0, "file", "not valid JSON"))]) from None
    if isinstance(doc, dict) and isinstance(doc.get("employees"), list):
        doc = doc["employees"]
    if not isinstance(doc, list):
        raise HrImportRejected([RowProblem((0, "file", "expected an array of employee objects"))])
    return [r if isinstance(r, dict) else {"__not_an_object__": r} for r in doc]


def parse_hr_csv(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Raw records of a CSV export's lines (`#` comment lines before the header skipped);
    structural problems reject the file."""
    lines = iter(lines)
    first = next(lines, "")
    while first.startswith("#"):
        first = next(lines, "")
    reader = csv.DictReader(itertools.chain((first,), lines))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in HR_COLUMNS]
    if not header or unknown:
        what = f"unknown column(s): {', '.join(unknown)}" if unknown else "no header row"
        raise HrImportRejected([RowProblem((0, "header", what))])
    try:
        for row in reader:
            if None in row:  # more cells than header columns
                row.pop(None)
                row["__extra_cells__"] = True
            yield row
    except csv.Error as exc:
        problem = f"CSV error at line {reader.line_num}: {exc}"
        raise HrImportRejected([RowProblem((0, "file", problem))]) from None


def validate_row(number: int, row: dict[str, Any]) -> HrRecord | list[RowProblem]:
    """Record `number` of a file as an `HrRecord`, or its problems."""
    if "__not_an_object__" in row:
        return [RowProblem((number, "record", "not a JSON object"))]
    if row.pop("__extra_cells__", False):
        return [RowProblem((number, "record", "more cells than header columns"))]
    try:
        return HrRecord.model_validate(row)
    except ValidationError as exc:
        return [
            RowProblem((number, ".".join(str(p) for p in err["loc"]) or "record", err["msg"]))
            for err in exc.errors()
        ]


def validate_records(raw: Sequence[dict[str, Any]]) -> list[HrRecord]:
    """Validate every record; raise `HrImportRejected` listing all problems if any."""
    problems: list[RowProblem] = []
    records: list[HrRecord] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(raw, start=1):
        record = validate_row(number, row)
        if isinstance(record, list):
            problems.extend(record)
            continue
        first = seen.setdefault(record.employee_number, number)
        if first != number:
            problems.append(RowProblem((number, "employee_number", f"duplicate of record {first}")))
            continue
        records.append(record)
    if not raw:
        problems.append(RowProblem((0, "file", "no employee records")))
    if problems:
        raise HrImportRejected(problems)
    return records


def record_fields(record: HrRecord, source: HrSource) -> dict[str, Any]:
    fields = record.model_dump()
    fields["employment_type"] = record.employment_type.value
    fields["hr_source"] = source.system
    return fields


def fields_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _chunks(items: Sequence[HrRecord], size: int) -> Iterable[Sequence[HrRecord]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_records(
    session: Session,
    records: Sequence[HrRecord],
    *,
    source: HrSource,
    now: datetime,
    actor: str = "cli",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create or update employees from validated records (caller's transaction)."""
    result = ImportResult()
    for chunk in _chunks(records, _CHUNK):
        numbers = [r.employee_number for r in chunk]
        existing = {
            e.employee_number: e
            for e in session.scalars(select(Employee).where(Employee.employee_number.in_(numbers)))
        }
        for record in chunk:
            fields = record_fields(record, source)
            digest = fields_hash(fields)
            employee = existing.get(record.employee_number)
            if employee is None:
                session.add(
                    Employee(
                        **fields,
                        opaque_id=new_secret(16),
                        record_hash=digest,
                        created_at=now,
                        updated_at=now,
                    )
                )
                result.created += 1
            elif employee.record_hash != digest:
                result.updated += 1
                result.changes.append(
                    (record.employee_number, update_employee_fields(employee, fields, digest, now))
                )
            else:
                result.unchanged += 1
        session.flush()
        if progress is not None:
            progress(len(chunk))
    audit_import(session, result, source=source, actor=actor, now=now)
    return result


def update_employee_fields(
    employee: Employee, fields: dict[str, Any], digest: str, now: datetime
) -> tuple[str, ...]:
    """Apply an HR record's `fields` (hashed as `digest`) to `employee`; the names that changed."""
    changed = tuple(k for k, v in fields.items() if getattr(employee, k) != v)
    for key, value in fields.items():
        setattr(employee, key, value)
    employee.record_hash = digest
    employee.updated_at = now
    return changed


def audit_import(
    session: Session, result: ImportResult, *, source: HrSource, actor: str, now: datetime
) -> None:
    append_audit(
        session,
        actor=actor,
        role="hr_admin",
        action="hr.import",
        subject=f"source:{source.value}",
        now=now,
        detail={
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
    )
