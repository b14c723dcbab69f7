"""`bench.logout` runs end to end (an issuer, a login service, a listening relying system) and ends
with its JSON line; its figures are not judged here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_a_short_logout_benchmark_completes_and_ends_with_its_json_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.logout", "--revocations", "2", "--clients", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"logout_p50_s", "logout_p99_s", "list_held_p50_s", "list_held_p99_s"} <= set(figures)
    assert figures["revocations"] == 2 and figures["tokens"] == 4
