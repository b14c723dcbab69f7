"""Synthetic HR files (`mobileid hr generate`) and the streamed, all-or-nothing import of a file
of many rows (`issuer.hr.stream`)."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
from issuer_kit import cli_env
from sqlalchemy import func, select
from typer.testing import CliRunner

from issuer.errors import HrImportRejected
from issuer.hr import stream
from issuer.hr.importing import HrSource, iter_hr_file, validate_row
from issuer.hr.synthetic import SYNTHETIC_MARK, SyntheticSource, synthetic_rows
from issuer.models import AuditEntry, Employee
from mobileid.cli import app as cli
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import get_settings

ROWS = 20_000


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return cli_env(database_url, tmp_path, monkeypatch)


def _counts(env: dict[str, str]) -> tuple[int, int]:
    runtime = open_issuer_runtime(get_settings())
    try:
        with runtime.unit_of_work() as s:
            employees = s.scalar(select(func.count()).select_from(Employee))
            imports = s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "hr.import")
            )
            return int(employees or 0), int(imports or 0)
    finally:
        runtime.close()


def _generate(path: Path, count: int, *, seed: int = 7) -> Path:
    r = CliRunner().invoke(
        cli, ["hr", "generate", "--count", str(count), "--out", str(path), "--seed", str(seed)]
    )
    assert r.exit_code == 0, r.output
    return path


def test_generated_file_is_synthetic_private_reproducible_and_valid(tmp_path: Path) -> None:
    first = _generate(tmp_path / "a.csv", 300)
    again = _generate(tmp_path / "b.csv", 300)
    other = _generate(tmp_path / "c.csv", 300, seed=8)
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert first.read_text(encoding="utf-8").startswith(SYNTHETIC_MARK)
    rows = list(iter_hr_file(first))
    assert len(rows) == 300
    records = [validate_row(n, row) for n, row in enumerate(rows, start=1)]
    assert not [r for r in records if isinstance(r, list)]
    assert {r.employee_number[0] for r in records if not isinstance(r, list)} == {"G", "L"}
    assert all(r["phone"].startswith("010-0") and r["photo"] for r in rows)
    local = list(synthetic_rows(50, seed=1, source=SyntheticSource.local))
    assert {r["employee_number"][0] for r in local} == {"L"}
    help_text = CliRunner().invoke(cli, ["hr", "generate", "--help"]).output
    assert "SYNTHETIC" in help_text and "never production" in " ".join(help_text.split())


def test_large_file_with_one_bad_row_writes_nothing_and_names_the_row(
    env: dict[str, str], tmp_path: Path
) -> None:
    good = _generate(tmp_path / "good.csv", ROWS)
    bad = tmp_path / "bad.csv"
    with good.open(encoding="utf-8", newline="") as src, bad.open("w", encoding="utf-8") as out:
        out.write(src.readline())  # the comment line
        reader = csv.DictReader(src)
        writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or ()))
        writer.writeheader()
        for number, row in enumerate(reader, start=1):
            if number == ROWS // 2:
                row["agency_code"] = "12"
            writer.writerow(row)
    r = CliRunner().invoke(cli, ["hr", "import", str(bad), "--json"])
    assert r.exit_code == 1, r.output
    answer = json.loads(r.output)
    assert answer["error"] == "invalid_hr_file"
    assert [(p["row"], p["field"]) for p in answer["problems"]] == [(ROWS // 2, "agency_code")]
    assert _counts(env) == (0, 0)

    r = CliRunner().invoke(cli, ["hr", "import", str(good), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["created"] == ROWS
    assert _counts(env) == (ROWS, 1)
    r = CliRunner().invoke(cli, ["hr", "import", str(good), "--json"])
    assert (json.loads(r.output)["unchanged"], _counts(env)) == (ROWS, (ROWS, 2))


@pytest.mark.parametrize("repeat_at", [5, 12], ids=["same-batch", "later-batch"])
def test_a_repeated_number_refuses_the_file_whichever_batch_repeats_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repeat_at: int
) -> None:
    monkeypatch.setattr(stream, "BATCH_ROWS", 8)
    rows = list(synthetic_rows(20, seed=5, source=SyntheticSource.central))
    rows[repeat_at - 1] = {**rows[repeat_at - 1], "employee_number": rows[2]["employee_number"]}
    rows[16]["phone"] = "not a phone"
    runtime = open_issuer_runtime(
        get_settings(data_dir=tmp_path / "data", database_url=database_url)
    )
    try:
        with pytest.raises(HrImportRejected) as refused, runtime.unit_of_work() as s:
            stream.import_hr_rows(s, rows, source=HrSource.central, now=runtime.clock())
        assert [(p.row, p.field, p.message) for p in refused.value.problems] == [
            (repeat_at, "employee_number", "duplicate of record 3"),
            (17, "phone", "Value error, not a Korean mobile number (010-XXXX-XXXX)"),
        ]
        rows = list(synthetic_rows(20, seed=5, source=SyntheticSource.central))
        with runtime.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(Employee)) == 0
            first = stream.import_hr_rows(s, rows, source=HrSource.central, now=runtime.clock())
        rows[repeat_at - 1] = {**rows[repeat_at - 1], "grade": "시험직급"}
        with runtime.unit_of_work() as s:
            again = stream.import_hr_rows(s, rows, source=HrSource.central, now=runtime.clock())
            grade = s.scalar(
                select(Employee.grade).where(
                    Employee.employee_number == rows[repeat_at - 1]["employee_number"]
                )
            )
    finally:
        runtime.close()
    assert (first.created, first.updated, first.unchanged) == (20, 0, 0)
    assert (again.created, again.updated, again.unchanged, grade) == (0, 1, 19, "시험직급")
    assert again.changes == [(rows[repeat_at - 1]["employee_number"], ("grade",))]
