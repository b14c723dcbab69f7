"""Import employees from an HR export (CSV or JSON; columns in `schemas.hr_record`).

All or nothing: every record is validated first, and a file with any invalid record is rejected
whole with every problem listed (`HrImportRejected`); nothing is written. A valid file creates new
employees and updates changed ones (detected by a hash of the HR fields), in the caller's
transaction. The returned changes let the lifecycle act on transfers and retirements.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
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

__all__ = ["HrSource", "ImportResult", "import_records", "parse_hr_file", "validate_records"]

MAX_HR_FILE_BYTES = 64 * 1024 * 1024
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


def parse_hr_file(path: Path) -> list[dict[str, Any]]:
    """Read raw records from a `.csv` or `.json` file; structural problems reject the file."""
    if path.stat().st_size > MAX_HR_FILE_BYTES:
        raise HrImportRejected([RowProblem((0, "file", "file is larger than 64 MB"))])
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HrImportRejected([RowProblem((0, "file", "file is not UTF-8"))]) from None
    if path.suffix.lower() == ".json":
        return _parse_json(text)
    return _parse_csv(text)


def _parse_json(text: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise HrImportRejected([RowProblem((0, "file", "not valid JSON"))]) from None
    if isinstance(doc, dict) and isinstance(doc.get("employees"), list):
        doc = doc["employees"]
    if not isinstance(doc, list):
        raise HrImportRejected([RowProblem((0, "file", "expected an array of employee objects"))])
    return [r if isinstance(r, dict) else {"__not_an_object__": r} for r in doc]


def _parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in HR_COLUMNS]
    if not header or unknown:
        what = f"unknown column(s): {', '.join(unknown)}" if unknown else "no header row"
        raise HrImportRejected([RowProblem((0, "header", what))])
    try:
        rows = [dict(r) for r in reader]
    except csv.Error as exc:
        raise HrImportRejected([RowProblem((0, "file", f"CSV error: {exc}"))]) from None
    for row in rows:
        if None in row:  # more cells than header columns
            row.pop(None)
            row["__extra_cells__"] = True
    return rows


def validate_records(raw: Sequence[dict[str, Any]]) -> list[HrRecord]:
    """Validate every record; raise `HrImportRejected` listing all problems if any."""
    problems: list[RowProblem] = []
    records: list[HrRecord] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(raw, start=1):
        if "__not_an_object__" in row:
            problems.append(RowProblem((number, "record", "not a JSON object")))
            continue
        if row.pop("__extra_cells__", False):
            problems.append(RowProblem((number, "record", "more cells than header columns")))
            continue
        try:
            record = HrRecord.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "record"
                problems.append(RowProblem((number, where, err["msg"])))
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


def _record_fields(record: HrRecord, source: HrSource) -> dict[str, Any]:
    fields = record.model_dump()
    fields["employment_type"] = record.employment_type.value
    fields["hr_source"] = source.system
    return fields


def _fields_hash(fields: dict[str, Any]) -> str:
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
            fields = _record_fields(record, source)
            digest = _fields_hash(fields)
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
                changed = tuple(k for k, v in fields.items() if getattr(employee, k) != v)
                for key, value in fields.items():
                    setattr(employee, key, value)
                employee.record_hash = digest
                employee.updated_at = now
                result.updated += 1
                result.changes.append((record.employee_number, changed))
            else:
                result.unchanged += 1
        session.flush()
        if progress is not None:
            progress(len(chunk))
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
    return result
