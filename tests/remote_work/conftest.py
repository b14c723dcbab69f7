"""A fresh remote-work system per test (`rw_kit.build_system`), on SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from rw_kit import System, build_system


@pytest.fixture
def system(tmp_path: Path, database_url: str) -> Iterator[System]:
    yield from build_system(tmp_path, database_url)
