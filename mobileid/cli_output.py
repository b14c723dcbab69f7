"""What the listing commands print for scripts: `--json`, one JSON document (an array of the
records), or `--plain`, tab-separated text (a header line, then one record per line, every value
in full). A command builds its records once as dicts and prints them for a person otherwise."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated

import typer

from mobileid.cli_common import fail

__all__ = [
    "JsonOpt",
    "PlainOpt",
    "emit_for_script",
    "json_text",
    "plain_value",
    "print_json",
    "script_text",
]

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document, for scripts.")]
PlainOpt = Annotated[
    bool,
    typer.Option("--plain", help="Tab-separated for scripts: a header line, one record per line."),
]

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def plain_value(value: object) -> str:
    """One field of a `--plain` line: text in full with backslash, tab and line breaks escaped
    (as PostgreSQL's COPY text format does), lists comma-joined, objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(plain_value(v) for v in value)
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value).translate(_ESCAPES)


def json_text(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def print_json(document: object) -> None:
    """Straight to stdout: a console would wrap long values at the terminal's width."""
    typer.echo(json_text(document), nl=False)


def script_text(
    records: Sequence[Mapping[str, object]],
    *,
    as_json: bool,
    plain: bool,
    columns: Sequence[str],
) -> str | None:
    """`records` as `--json` or `--plain` asked, or None when neither was (print for a person
    then). Both at once end the command (exit 2)."""
    if as_json and plain:
        fail("--json and --plain: choose one", code=2)
    if as_json:
        return json_text(list(records))
    if plain:
        lines = ["\t".join(columns)]
        lines += ["\t".join(plain_value(r.get(c)) for c in columns) for r in records]
        return "\n".join(lines) + "\n"
    return None


def emit_for_script(
    records: Sequence[Mapping[str, object]],
    *,
    as_json: bool,
    plain: bool,
    columns: Sequence[str],
) -> bool:
    """Print `records` as `script_text` makes them; False when it made nothing."""
    text = script_text(records, as_json=as_json, plain=plain, columns=columns)
    if text is not None:
        typer.echo(text, nl=False)
    return text is not None
