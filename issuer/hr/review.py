"""An HR export reviewed before it is applied: the dry run a person reads, then exactly that file
applied (issue 19, the HR officer's console).

`review_hr_upload` reads a CSV export (the columns of `mobileid hr import`), names every problem
with its line, and otherwise tells who would be added, who changed (field by field, old and new),
who of the file's agencies is not in it (left: nothing happens to them; HR marks leavers retired)
and what would happen to credentials. It writes in the caller's transaction to plan the
credential actions exactly as the import would, so the caller rolls back. `apply_hr_upload` checks
the same file again and imports it with its credential actions (`issuer.hr.changes`). An HR
officer's file holds only their agencies' employees: a row of another agency, or one that would
move an employee of another agency into theirs, is a problem of that line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.config import IssuerConfig
from issuer.errors import HrImportRejected, RowProblem
from issuer.hr.changes import HrAction, apply_hr_actions, plan_hr_actions
from issuer.hr.directory import HrReach
from issuer.hr.importing import HrSource, ImportResult, parse_hr_csv, record_fields, validate_row
from issuer.hr.stream import import_hr_rows
from issuer.keys.signing import IssuerKeyring
from issuer.models import Employee
from issuer.status.publication import StatusListPublisher
from schemas.hr_record import HrRecord

__all__ = [
    "ChangedEmployee",
    "FieldChange",
    "HrReview",
    "LineProblem",
    "ListedEmployee",
    "apply_hr_upload",
    "review_hr_upload",
]

MAX_LISTED = 1000
"""Of each list (added, changed, left) a review names at most this many; it counts them all."""
PHOTO_SHOWN = "(사진 / photo)"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    """The file's line the record ends on (0: the file as a whole)."""
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class ListedEmployee:
    employee_number: str
    name: str
    agency_code: str
    department: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class ChangedEmployee:
    employee_number: str
    name: str
    line: int
    fields: tuple[FieldChange, ...]


@dataclass(slots=True)
class HrReview:
    source: HrSource
    records: int = 0
    added: list[ListedEmployee] = field(default_factory=list)
    changed: list[ChangedEmployee] = field(default_factory=list)
    left: list[ListedEmployee] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    """How many were added, changed, unchanged, left (the lists stop at `MAX_LISTED`)."""
    problems: list[LineProblem] = field(default_factory=list)
    actions: list[HrAction] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _CountedLines:
    """The lines of a text, counting how many were read (a CSV record's last line)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        return line


@dataclass(slots=True)
class _Checked:
    rows: list[dict[str, Any]] = field(default_factory=list)
    records: list[tuple[int, HrRecord]] = field(default_factory=list)
    existing: dict[str, Employee] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)


def _numbered_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HrImportRejected([RowProblem((0, "file", "file is not UTF-8"))]) from None
    lines = _CountedLines(text.splitlines(keepends=True))
    for row in parse_hr_csv(lines):
        yield lines.count, row


def _check(session: Session, data: bytes, reach: HrReach) -> _Checked:
    """Every record validated, in scope and once in the file; the known employees it names."""
    checked = _Checked()
    try:
        numbered = list(_numbered_rows(data))
    except HrImportRejected as exc:
        checked.problems = [LineProblem(p.row, p.field, p.message) for p in exc.problems]
        return checked
    first_line: dict[str, int] = {}
    for number, (line, row) in enumerate(numbered, start=1):
        checked.rows.append(dict(row))
        record = validate_row(number, row)
        if isinstance(record, list):
            checked.problems.extend(LineProblem(line, p.field, p.message) for p in record)
            continue
        seen = first_line.setdefault(record.employee_number, line)
        if seen != line:
            checked.problems.append(
                LineProblem(line, "employee_number", f"duplicate of line {seen}")
            )
            continue
        if reach.agencies is not None and record.agency_code not in reach.agencies:
            checked.problems.append(
                LineProblem(line, "agency_code", "outside your agencies (기관 범위 밖)")
            )
            continue
        checked.records.append((line, record))
    if not numbered:
        checked.problems.append(LineProblem(0, "file", "no employee records"))
    numbers = [r.employee_number for _, r in checked.records]
    for start in range(0, len(numbers), _CHUNK):
        checked.existing.update(
            (e.employee_number, e)
            for e in session.scalars(
                select(Employee).where(
                    Employee.employee_number.in_(numbers[start : start + _CHUNK])
                )
            )
        )
    for line, record in checked.records:
        known = checked.existing.get(record.employee_number)
        if known is not None and not reach.covers(known):
            checked.problems.append(
                LineProblem(line, "employee_number", "an employee of another agency")
            )
    checked.problems.sort(key=lambda p: p.line)
    return checked


def _shown(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "photo":
        return PHOTO_SHOWN
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _changes(employee: Employee, fields: dict[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, _shown(name, getattr(employee, name)), _shown(name, value))
        for name, value in fields.items()
        if getattr(employee, name) != value
    )


def _left(
    session: Session, checked: _Checked, source: HrSource, reach: HrReach
) -> Iterator[Employee]:
    """Employees of the file's agencies and HR system, within reach, whom the file omits."""
    in_file = {r.employee_number for _, r in checked.records}
    agencies = sorted({r.agency_code for _, r in checked.records})
    for employee in session.scalars(
        select(Employee)
        .where(
            Employee.agency_code.in_(agencies),
            Employee.hr_source == source.system,
            reach.condition(),
        )
        .order_by(Employee.employee_number)
    ):
        if employee.employee_number not in in_file:
            yield employee


def review_hr_upload(
    session: Session, data: bytes, *, source: HrSource, reach: HrReach, now: datetime
) -> HrReview:
    """The dry run of importing `data`; writes in the caller's transaction, which rolls back."""
    review = HrReview(source)
    checked = _check(session, data, reach)
    review.records = len(checked.rows)
    if checked.problems:
        review.problems = checked.problems
        return review
    counts = dict.fromkeys(("added", "changed", "unchanged", "left"), 0)
    for line, record in checked.records:
        known = checked.existing.get(record.employee_number)
        if known is None:
            counts["added"] += 1
            if len(review.added) < MAX_LISTED:
                review.added.append(
                    ListedEmployee(
                        record.employee_number,
                        record.name,
                        record.agency_code,
                        record.department,
                        line,
                    )
                )
            continue
        changes = _changes(known, record_fields(record, source))
        counts["changed" if changes else "unchanged"] += 1
        if changes and len(review.changed) < MAX_LISTED:
            review.changed.append(
                ChangedEmployee(record.employee_number, known.name, line, changes)
            )
    for employee in _left(session, checked, source, reach):
        counts["left"] += 1
        if len(review.left) < MAX_LISTED:
            review.left.append(
                ListedEmployee(
                    employee.employee_number,
                    employee.name,
                    employee.agency_code,
                    employee.department,
                )
            )
    review.counts = counts
    try:
        result = import_hr_rows(session, checked.rows, source=source, now=now, actor=reach.actor)
    except HrImportRejected as exc:  # what the checks above missed, by record number
        review.problems = [LineProblem(p.row, p.field, p.message) for p in exc.problems]
        return review
    review.actions = plan_hr_actions(session, result.changes)
    return review


def apply_hr_upload(
    session: Session,
    data: bytes,
    *,
    source: HrSource,
    reach: HrReach,
    config: IssuerConfig,
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> tuple[ImportResult, Sequence[HrAction]]:
    """Import `data` (checked again as the review did) and take its credential actions, in the
    caller's transaction; `HrImportRejected` (lines as rows) when it has problems now."""
    checked = _check(session, data, reach)
    if checked.problems:
        raise HrImportRejected([RowProblem((p.line, p.field, p.message)) for p in checked.problems])
    result = import_hr_rows(session, checked.rows, source=source, now=now, actor=reach.actor)
    actions = apply_hr_actions(
        session,
        plan_hr_actions(session, result.changes),
        actor=reach.actor,
        role=reach.role,
        config=config,
        publisher=publisher,
        keyring=keyring,
        now=now,
    )
    return result, actions
