"""Fixtures of the issuer's tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from issuer_kit import cli_env, standard_staff

from issuer.hr.importing import HrSource, import_records, validate_records
from mobileid import cli_common
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import get_settings

STAFFED_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _wide_cli_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's tables as wide as their rows, wherever the tests run: a pytest-xdist worker
    starts with COLUMNS=80, which the CLI's consoles take at import, and rich would fold long
    ids across lines."""
    for console in (cli_common.console, cli_common.err_console):
        monkeypatch.setattr(console, "width", 300)


@pytest.fixture
def issuer_env(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The settings `mobileid` commands read in a test: a fresh database and data directory."""
    return cli_env(database_url, tmp_path, monkeypatch)


@pytest.fixture
def staffed_issuer(issuer_env: dict[str, str]) -> Iterator[IssuerRuntime]:
    """The issuer's runtime on that database, the standard staff imported (`issuer_kit`)."""
    runtime = open_issuer_runtime(get_settings())
    with runtime.unit_of_work() as session:
        import_records(
            session, validate_records(standard_staff()), source=HrSource.central, now=STAFFED_AT
        )
    yield runtime
    runtime.close()
