"""Fixtures of the issuer's tests."""

from __future__ import annotations

import pytest

from mobileid import cli_common


@pytest.fixture(autouse=True)
def _wide_cli_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's tables as wide as their rows, wherever the tests run: a pytest-xdist worker
    starts with COLUMNS=80, which the CLI's consoles take at import, and rich would fold long
    ids across lines."""
    for console in (cli_common.console, cli_common.err_console):
        monkeypatch.setattr(console, "width", 300)
