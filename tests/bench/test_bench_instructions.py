"""bench.instructions: the workload it counts runs as `bench.gate` does, and totals are read
from callgrind's own output format (valgrind itself is too slow for the test suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.instructions import callgrind_total, workload

pytestmark = pytest.mark.bench


def test_totals_come_from_the_summary_line(tmp_path: Path) -> None:
    out = tmp_path / "callgrind.out"
    out.write_text("# callgrind format\nversion: 1\nevents: Ir\nsummary: 5892217681\n\nfn=main\n")
    assert callgrind_total(out) == 5_892_217_681
    out.write_text("version: 1\nevents: Ir\nfn=main\n0 12\ntotals: 12\n")
    assert callgrind_total(out) == 12


def test_an_output_without_totals_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "callgrind.out"
    out.write_text("version: 1\nevents: Ir\n")
    with pytest.raises(ValueError, match="no callgrind totals"):
        callgrind_total(out)


@pytest.mark.parametrize("mode", ["setup", "decide", "vc", "raw"])
def test_every_mode_runs_its_workload(mode: str) -> None:
    workload(mode, 3)  # the warm-up decisions must be allowed, or it raises


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        workload("sideways", 1)
