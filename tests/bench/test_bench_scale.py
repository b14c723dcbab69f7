"""`bench.scale` runs end to end with a small population and ends with its JSON line (figures
are the benchmark's business, not this test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.bench


def test_a_small_scale_benchmark_completes_and_ends_with_its_json_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--count", "400", "--no-postgres"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert {
        "hr_import_s_sqlite",
        "hr_import_s_postgres",
        "republish_ms_0_1pct",
        "mass_suspend_100k_s",
        "gate_sync_bytes",
        "employees",
    } <= set(figures)
    assert figures["employees"] == 400 and figures["gate_sync_bytes"] > 0
    assert figures["mass_suspended"] > 0
