"""Every `mobileid ... --help` at 80 columns: no line wider than the terminal, nothing cut.

Widths are display cells (a Korean syllable takes two). A cut shows as `…`: rich trims the
space after a wrapped line's last word by characters, not cells, so a line holding Korean whose
last word ends exactly at the column's edge loses that word's last letter. Reword such a text.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from rich.cells import cell_len
from typer.testing import CliRunner

from mobileid.cli import app

WIDTH = 80


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_walk_reaches_the_leaves() -> None:
    assert ("wallet", "qr") in COMMANDS and ("gate", "scan") in COMMANDS
    assert ("admin", "tokens", "list") in COMMANDS and len(COMMANDS) > 50


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "mobileid")
def test_help_fits_80_columns_uncut(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) > 3
    too_wide = [line for line in lines if cell_len(line) > WIDTH]
    cut = [line for line in lines if "…" in line]
    assert not too_wide and not cut, "\n".join(too_wide + cut)
