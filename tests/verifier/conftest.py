"""Shared set-up for the verifier tests: every gate a test opened is closed after it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _close_gates() -> Iterator[None]:
    from gate_kit import OPEN_SERVICES

    yield
    while OPEN_SERVICES:
        service = OPEN_SERVICES.pop()
        with contextlib.suppress(Exception):
            service.close()
        service.engine.dispose()
