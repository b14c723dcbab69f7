"""`bench.login` drives real logins end to end: it must keep working when the login service's
defaults change (it answers in whatever response mode the Request Object asks for)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_login_benchmark_completes_and_ends_with_its_json_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.login", "--seconds", "0.2", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == {
        "logins_per_s",
        "verify_per_s",
        "p50_ms",
        "p99_ms",
        "worker_cpu_ms_per_login",
    }
    assert figures["logins_per_s"] > 0 and figures["verify_per_s"] > 0
    assert figures["worker_cpu_ms_per_login"] is None or figures["worker_cpu_ms_per_login"] > 0
