"""`bench.propagation` runs end to end (an issuer and a few gate processes, a short cut-off) and
ends with its JSON line; its figures are not judged here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_a_short_propagation_benchmark_completes_and_ends_with_its_json_line() -> None:
    args = ["--gates", "2", "--revocations", "2", "--cutoff-s", "2", "--ttl-s", "3"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.propagation", *args, "--ttl-revocations", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"propagation_p50_s", "propagation_p99_s", "reconnect_deny_s", "ttl_only_p50_s"} <= set(
        figures
    )
    assert figures["gates"] == 2 and figures["denials"] == 4
