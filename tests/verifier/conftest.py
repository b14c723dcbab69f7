"""Shared set-up for the verifier tests: `tests/verifier` on `sys.path` for `gate_kit`."""

from __future__ import annotations

import sys
from pathlib import Path

for _path in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


import contextlib  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_gates() -> Iterator[None]:
    from gate_kit import OPEN_SERVICES

    yield
    while OPEN_SERVICES:
        service = OPEN_SERVICES.pop()
        with contextlib.suppress(Exception):
            service.close()
        service.engine.dispose()
