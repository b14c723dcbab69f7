"""`mobileid gate records --csv` and `purge` on a gate's data directory."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from gate_kit import Clock, gate_policy, make_gate
from typer.testing import CliRunner

from mobileid.cli_gate import gate_app

ISSUER = "http://127.0.0.1:9"  # never contacted: the scans below are refused before that


def test_records_csv_and_purge(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(
        json.dumps(
            {
                "gate_id": "seoul-01",
                "site": "seoul",
                "trusted_issuers": [{"issuer": ISSUER}],
                "retention_days": 1,
                "allow_insecure_loopback": True,
            }
        )
    )
    clock = Clock()
    gate = make_gate(
        gate_policy(ISSUER, gate_id="seoul-01", site="seoul"), tmp_path, clock, online=False
    )
    gate.scan(b"=HYPERLINK(junk)")
    clock.advance(-3 * 86400)  # a scan three days ago
    gate.scan(b"eyJ.junk")
    gate.close()

    runner = CliRunner()
    common = ["--policy", str(policy_file), "--data-dir", str(tmp_path / "gate")]
    out = runner.invoke(gate_app, ["records", *common, "--since", "2000-01-01", "--csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["reason"] for r in rows] == ["malformed", "malformed"]
    assert rows[0]["gate_id"] == "seoul-01" and rows[0]["allow"] in ("False", "0")

    out = runner.invoke(gate_app, ["purge", *common])
    assert out.exit_code == 0 and "deleted 0" in out.stdout  # never uploaded: kept
    out = runner.invoke(gate_app, ["purge", *common, "--include-unsent"])
    assert out.exit_code == 0 and "deleted 1" in out.stdout
    out = runner.invoke(gate_app, ["records", *common, "--since", "2000-01-01"])
    assert len(out.stdout.splitlines()) == 1

    bad = runner.invoke(gate_app, ["records", *common, "--since", "yesterday"])
    assert bad.exit_code != 0


def test_run_announces_the_gate_and_serves_it_on_loopback(tmp_path: Path, monkeypatch) -> None:
    served: list[dict] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.append(options))
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(
        json.dumps(
            {"gate_id": "sejong-02", "site": "sejong", "trusted_issuers": [{"issuer": ISSUER}]}
        )
    )
    out = CliRunner().invoke(
        gate_app,
        ["run", "--policy", str(policy_file), "--data-dir", str(tmp_path / "gate"), "--offline"],
    )
    assert out.exit_code == 0, out.output
    assert "gate sejong-02" in out.stdout
    assert "http://127.0.0.1:8100/scan" in out.stdout
    assert served == [
        {"host": "127.0.0.1", "port": 8100, "log_level": "warning", "access_log": False}
    ]
