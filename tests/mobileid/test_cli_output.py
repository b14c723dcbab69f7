"""`--json` and `--plain` of the listing commands: values in full, one record a line, parseable."""

from __future__ import annotations

import json

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from mobileid.cli_output import plain_value, script_text

COLUMNS = ("id", "note", "tags", "extra", "gone", "ok")


def _unescape(field: str) -> str:
    out, chars = [], iter(field)
    for char in chars:
        out.append(
            {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[next(chars)] if char == "\\" else char
        )
    return "".join(out)


@given(st.text())
def test_a_plain_field_is_one_field_on_one_line_and_reads_back(text: str) -> None:
    field = plain_value(text)
    assert "\t" not in field and "\n" not in field and "\r" not in field
    assert _unescape(field) == text


def test_plain_has_a_header_and_a_line_per_record_in_full() -> None:
    long_id = "c" * 64
    records = [
        {"id": long_id, "note": "a\tb\nc", "tags": ["x", "y"], "extra": {"k": "한"}, "ok": True},
        {"id": "2", "note": "", "tags": [], "extra": None, "ok": False},
    ]
    text = script_text(records, as_json=False, plain=True, columns=COLUMNS)
    assert text is not None
    header, first, second = text.splitlines()
    assert header.split("\t") == list(COLUMNS)
    assert first.split("\t") == [long_id, "a\\tb\\nc", "x,y", '{"k":"한"}', "", "true"]
    assert second.split("\t") == ["2", "", "", "", "", "false"]


def test_json_is_one_document_and_neither_flag_is_for_a_person() -> None:
    records = [{"id": "1", "note": "é"}]
    text = script_text(records, as_json=True, plain=False, columns=COLUMNS)
    assert text is not None and json.loads(text) == records
    assert script_text(records, as_json=False, plain=False, columns=COLUMNS) is None


def test_both_flags_are_refused() -> None:
    with pytest.raises(typer.Exit) as refused:
        script_text([], as_json=True, plain=True, columns=COLUMNS)
    assert refused.value.exit_code == 2
