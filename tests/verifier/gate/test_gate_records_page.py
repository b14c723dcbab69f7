"""The entry records page and its CSV export: filters, paging, scopes, RFC 4180 and no formulas."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from display_kit import GATE_ID, display_app, operator_roles, signed_in
from gate_kit import Clock, entry_record, gate_policy, make_gate, serve

from verifier.gate.console import KST
from verifier.gate.service import GateService

LATE_ON_1 = datetime(2026, 12, 1, 23, 30, tzinfo=KST).timestamp()
EARLY_ON_2 = datetime(2026, 12, 2, 0, 30, tzinfo=KST).timestamp()
ROW = 'class="num"'


def add(service: GateService, gate_id: str, **changes: object) -> None:
    """An entry record as the gate writes it."""
    service.recorder.record({**entry_record(gate_id, stale_status=False), **changes})


@pytest.fixture
def gate(tmp_path: Path) -> GateService:
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, Clock(), online=False)
    add(service, GATE_ID, at=LATE_ON_1, employee_number="E1001")
    add(service, GATE_ID, at=EARLY_ON_2, employee_number="E1002")
    add(service, GATE_ID, at=EARLY_ON_2 + 1, allow=False, reason="revoked", employee_number=None)
    add(service, "seoul-01-main", at=EARLY_ON_2 + 2, employee_number="E1003")
    return service


def page(service: GateService, query: str, scope: str | None = None) -> str:
    with (
        serve(display_app(service, operator_roles(scope))) as served,
        signed_in(served.url) as client,
    ):
        response = client.get("/records" + query)
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", ["E1003", "E1002", "E1001"], id="all_newest_first"),
        pytest.param("?from=2026-12-02&to=2026-12-02", ["E1003", "E1002"], id="one_kst_day"),
        pytest.param("?to=2026-12-01", ["E1001"], id="until_a_day"),
        pytest.param("?decision=deny", [], id="denied"),
        pytest.param("?employee=E1002", ["E1002"], id="employee"),
        pytest.param("?lane=seoul-01-main", ["E1003"], id="lane"),
    ],
)
def test_filters(gate: GateService, query: str, expected: list[str]) -> None:
    text = page(gate, query)
    found = [n for n in ("E1001", "E1002", "E1003") if n in text]
    assert sorted(found) == sorted(expected)
    if expected:
        assert text.index(expected[0]) <= text.index(expected[-1])
    if "deny" in query:
        assert text.count(ROW) == 1 and "폐지된 공무원증 / credential revoked" in text


def test_a_scoped_operator_sees_only_this_gates_records(gate: GateService) -> None:
    text = page(gate, "", scope=GATE_ID)
    assert "E1002" in text and "E1003" not in text and text.count(ROW) == 3


def test_paging(tmp_path: Path) -> None:
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, Clock(), online=False)
    for i in range(60):
        add(service, GATE_ID, at=EARLY_ON_2 + i, employee_number=f"P{i}")
    first, second = page(service, "?decision=allow"), page(service, "?decision=allow&page=2")
    assert first.count(ROW) == 50 and second.count(ROW) == 10
    assert "P59" in first and "P9<" in second and "1 / 2" in first
    assert 'href="/records?decision=allow&amp;page=2"' in first


@pytest.mark.parametrize(
    "query",
    [
        "?from=2026-13-01",
        "?to=yesterday",
        "?decision=maybe",
        "?employee=%3Cscript%3E",
        "?lane=..%2Fx",
        "?page=0",
        "?page=abc",
    ],
)
def test_a_bad_filter_is_a_400_page(gate: GateService, query: str) -> None:
    with serve(display_app(gate, operator_roles(None))) as served, signed_in(served.url) as client:
        response = client.get("/records" + query)
        export = client.get("/records.csv" + query)
    assert response.status_code == 400 and "<code>invalid_filter</code>" in response.text
    if "page" not in query:  # an export has no pages
        assert export.status_code == 400 and "<code>invalid_filter</code>" in export.text


def test_csv_export_is_excel_ready_and_formula_safe(tmp_path: Path) -> None:
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, Clock(), online=False)
    nasty = {
        '=HYPERLINK("http://x")': '\'=HYPERLINK("http://x")',
        "+1": "'+1",
        "-1": "'-1",
        "@SUM(A1)": "'@SUM(A1)",
        "\tTAB": "'\tTAB",
    }
    for i, value in enumerate(nasty):
        add(service, GATE_ID, at=EARLY_ON_2 + i, member_id=value, issuer='https://x/"a,b"')
    with (
        serve(display_app(service, operator_roles())) as served,
        signed_in(served.url) as client,
    ):
        response = client.get("/records.csv?from=2026-12-02")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM
    text = body[3:].decode("utf-8")
    assert text.count("\r\n") == len(nasty) + 1 and "\n" not in text.replace("\r\n", "")
    assert '"https://x/""a,b"""' in text  # RFC 4180 quoting
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["member_id"] for r in rows] == list(nasty.values())
    assert all(r["gate_id"] == GATE_ID for r in rows)


def test_csv_export_streams_every_record_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from verifier.gate import console

    monkeypatch.setattr(console, "CSV_CHUNK", 7)
    service = make_gate(gate_policy("http://127.0.0.1:9"), tmp_path, Clock(), online=False)
    for i in range(30):  # some at the same moment: the (at, id) key keeps every one
        add(service, GATE_ID, at=EARLY_ON_2 + i // 3)
    with (
        serve(display_app(service, operator_roles())) as served,
        signed_in(served.url) as client,
    ):
        text = client.get("/records.csv").content[3:].decode()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len({r["id"] for r in rows}) == 30 == len(rows)
