"""`mobileid doctor` reports unsafe permissions, placeholder secrets and key disagreements in one
screen, creating nothing, and exits 1 when anything is unsafe."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from typer.testing import CliRunner

from mobileid.cli import app as cli

ROOT = Path(__file__).resolve().parents[2]


def _doctor(env: dict[str, str]) -> tuple[int, list[dict[str, str]]]:
    result = CliRunner().invoke(cli, ["doctor", "--json"], env=env)
    return result.exit_code, [json.loads(line) for line in result.output.splitlines()]


def _levels(findings: list[dict[str, str]], area: str) -> set[str]:
    return {f["level"] for f in findings if f["area"] == area}


def test_doctor_creates_nothing_and_warns_about_the_dev_placeholder(tmp_path: Path) -> None:
    env = {"MOBILEID_DATA_DIR": str(tmp_path / "data")}
    code, findings = _doctor(env)
    assert code == 0, findings
    assert _levels(findings, "secret") == {"warn"}
    assert not (tmp_path / "data").exists()


def test_doctor_reports_unsafe_permissions_and_keys_sealed_with_another_secret(
    tmp_path: Path,
) -> None:
    secret = secrets.token_urlsafe(48)
    env = {"MOBILEID_DATA_DIR": str(tmp_path / "data"), "MOBILEID_SECRET_KEY": secret}
    imported = CliRunner().invoke(
        cli, ["hr", "import", str(ROOT / "examples/employees.csv")], env=env
    )
    assert imported.exit_code == 0, imported.output
    code, findings = _doctor(env)
    assert code == 0, findings
    assert _levels(findings, "secret") == {
        "ok",
        "warn",
    }  # the login secret is still the placeholder
    assert _levels(findings, "keys") == {"ok"} and _levels(findings, "files") == {"ok"}

    (tmp_path / "data" / "mobileid.sqlite3").chmod(0o644)
    code, findings = _doctor(env)
    assert code == 1
    assert any("chmod 600" in f["message"] for f in findings if f["level"] == "fail")
    (tmp_path / "data" / "mobileid.sqlite3").chmod(0o600)

    other = {**env, "MOBILEID_SECRET_KEY": secrets.token_urlsafe(48)}
    code, findings = _doctor(other)
    assert code == 1
    failed = [f["message"] for f in findings if f["level"] == "fail"]
    assert any("another MOBILEID_SECRET_KEY" in m for m in failed), failed
