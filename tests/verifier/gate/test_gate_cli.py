"""`mobileid gate records --csv` and `purge` on a gate's data directory."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from gate_kit import Clock, gate_policy, make_gate
from typer.testing import CliRunner

from mobileid.cli_gate import SHUTDOWN_GRACE_S, gate_app
from mobileid.settings import load_central_config

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
    out = runner.invoke(gate_app, ["records", *common, "--since", "2000-01-01", "--json"])
    listed = json.loads(out.stdout)
    assert [(r["reason"], r["allow"]) for r in listed] == [("malformed", False)] * 2
    out = runner.invoke(gate_app, ["records", *common, "--since", "2000-01-01", "--plain"])
    header, *lines = out.stdout.splitlines()
    plain = [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]
    assert [r["id"] for r in plain] == [r["id"] for r in listed] and plain[0]["allow"] == "false"
    both = runner.invoke(gate_app, ["records", *common, "--since", "2000-01-01", "--csv", "--json"])
    assert both.exit_code == 2

    out = runner.invoke(gate_app, ["purge", *common])
    assert out.exit_code == 0 and "deleted 0" in out.stdout  # never uploaded: kept
    out = runner.invoke(gate_app, ["purge", *common, "--include-unsent"])
    assert out.exit_code == 0 and "deleted 1" in out.stdout
    out = runner.invoke(gate_app, ["records", *common, "--since", "2000-01-01"])
    assert len(out.stdout.splitlines()) == 1

    bad = runner.invoke(gate_app, ["records", *common, "--since", "yesterday"])
    assert bad.exit_code != 0


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The options of every `uvicorn.run` a command would have started."""
    started: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: started.append(options))
    return started


def test_run_announces_the_gate_and_serves_it_on_loopback(
    tmp_path: Path, served: list[dict[str, Any]]
) -> None:
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
        {
            "host": "127.0.0.1",
            "port": 8100,
            "log_level": "warning",
            "access_log": False,
            "timeout_graceful_shutdown": SHUTDOWN_GRACE_S,
        }
    ]


def test_run_takes_what_the_options_leave_out_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[dict[str, Any]]
) -> None:
    monkeypatch.setenv("MOBILEID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MOBILEID_GATE_PORT", "8111")
    monkeypatch.setenv("MOBILEID_GATE_LOG_LEVEL", "info")
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        f"gate_id: seoul-03\nsite: seoul\ntrusted_issuers:\n  - issuer: {ISSUER}\n"
    )
    out = CliRunner().invoke(
        gate_app, ["run", "--policy", str(policy_file), "--offline", "--host", "127.0.0.2"]
    )
    assert out.exit_code == 0, out.output
    assert served == [
        {
            "host": "127.0.0.2",
            "port": 8111,
            "log_level": "info",
            "access_log": False,
            "timeout_graceful_shutdown": SHUTDOWN_GRACE_S,
        }
    ]
    assert (tmp_path / "data" / "gate-seoul-03" / "gate.sqlite3").exists()


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_central_reads_its_config_file_and_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[dict[str, Any]], suffix: str
) -> None:
    monkeypatch.setenv("MOBILEID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MOBILEID_GATE_CENTRAL_PORT", "8299")
    monkeypatch.setenv("CENTRAL_TOKEN", "token-from-the-environment")
    data = {
        "trusted_issuers": [{"issuer": ISSUER}],
        "gate_token_env": "CENTRAL_TOKEN",
        "retention_days": 30,
    }
    config_file = tmp_path / f"central{suffix}"
    config_file.write_text(json.dumps(data))  # JSON is YAML too
    out = CliRunner().invoke(gate_app, ["central", "--config", str(config_file)])
    assert out.exit_code == 0, out.output
    assert "http://127.0.0.1:8299" in out.stdout
    assert served == [
        {
            "host": "127.0.0.1",
            "port": 8299,
            "log_level": "warning",
            "timeout_graceful_shutdown": 5,
        }
    ]
    assert (tmp_path / "data" / "central-verifier.sqlite3").exists()
    config = load_central_config(config_file)
    assert config.gate_token == "token-from-the-environment"
    assert config.retention_days == 30 and not config.allow_insecure_loopback


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param("{}", "central config needs 'trusted_issuers'", id="no_issuers"),
        pytest.param("[1", "central config file is not JSON", id="not_json"),
        pytest.param(
            json.dumps({"trusted_issuers": [{"issuer": "ftp://x"}]}),
            "unusable trusted issuer",
            id="bad_issuer",
        ),
        pytest.param(
            json.dumps({"trusted_issuers": [], "retention_days": "1y"}),
            "'retention_days' must be a whole number of days",
            id="bad_retention",
        ),
    ],
)
def test_central_refuses_an_unusable_config(tmp_path: Path, content: str, problem: str) -> None:
    config_file = tmp_path / "central.json"
    config_file.write_text(content)
    out = CliRunner().invoke(gate_app, ["central", "--config", str(config_file)])
    assert out.exit_code == 2
    assert problem in " ".join(out.output.split())
