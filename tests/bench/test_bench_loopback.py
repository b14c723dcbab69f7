"""The HTTP benchmarks read a server's CPU time from /proc, its descendants included."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.loopback import cpu_seconds

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="Linux /proc only"),
]


def test_cpu_time_grows_with_work_and_counts_children() -> None:
    before = cpu_seconds(os.getpid())
    assert before is not None
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    after = cpu_seconds(os.getpid())
    assert after is not None and after >= before + 0.1  # /proc counts in clock ticks
    spin = (
        "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
        "print('spun', flush=True)\ntime.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "spun\n"
            with_child = cpu_seconds(os.getpid())
            assert with_child is not None and with_child >= after + 0.3
        finally:
            child.kill()


def test_a_process_that_is_gone_has_no_figure() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert cpu_seconds(child.pid) is None
