"""A bad setting ends every command that reads it with one line a person can act on: the
variable (or the option) that holds it, what is wrong and an example, exit 2; never a traceback
and never the value given (it may be a secret)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobileid.cli import app as cli

POLICY = str(Path(__file__).parents[2] / "examples" / "gate-sejong.yaml")
ISSUER = ["outbox", "list"]
LOGIN = ["login", "serve"]
GATE = ["gate", "run", "--policy", POLICY]
CENTRAL = ["gate", "central", "--config", "central.yaml"]
DOCTOR = ["doctor"]

# (command, variable, bad value, what the line says, the example it gives)
BAD_VALUES = [
    (ISSUER, "MOBILEID_PORT", "eighty", "valid integer", "8000"),
    (ISSUER, "MOBILEID_ENV", "staging", "'dev' or 'prod'", "dev"),
    (ISSUER, "MOBILEID_ISSUER_BASE_URL", "id.mois.go.kr", "http(s) URL", "https://id.mois.go.kr"),
    (ISSUER, "MOBILEID_DPOP_REQUIRED", "perhaps", "valid boolean", "false"),
    (ISSUER, "MOBILEID_OFFER_LIFETIME_HOURS", "0", "greater than or equal to 1", "72"),
    (ISSUER, "MOBILEID_OUTBOX_POLL_S", "-1", "greater than 0", "1.0"),
    (ISSUER, "MOBILEID_SIGNING_ALG", "RS256", "'EdDSA' or 'ES256'", "EdDSA"),
    (LOGIN, "MOBILEID_LOGIN_TRUSTED_ISSUERS", "https://id.mois.go.kr", "not JSON", None),
    (LOGIN, "MOBILEID_LOGIN_TRUSTED_ISSUERS", "[1]", "valid string", None),
    (LOGIN, "MOBILEID_LOGIN_TRUSTED_ISSUERS", '[{"name": "MOIS"}]', "'issuer'", None),
    (
        LOGIN,
        "MOBILEID_LOGIN_BASE_URL",
        "login.mois.go.kr",
        "http(s) URL",
        "https://login.mois.go.kr",
    ),
    (LOGIN, "MOBILEID_LOGIN_ALLOW_INSECURE_LOOPBACK", "perhaps", "valid boolean", "true"),
    (LOGIN, "MOBILEID_LOGIN_RESPONSE_MODE", "query", "'direct_post' or", "direct_post.jwt"),
    (LOGIN, "MOBILEID_LOGIN_SESSION_TTL_S", "1", "greater than or equal to 10", "300.0"),
    (LOGIN, "MOBILEID_ENV", "staging", "'dev' or 'prod'", "dev"),
    (GATE, "MOBILEID_GATE_PORT", "99999", "less than or equal to 65535", "8100"),
    (GATE, "MOBILEID_GATE_LOG_LEVEL", "loud", "'critical', 'error'", "warning"),
    (CENTRAL, "MOBILEID_GATE_CENTRAL_PORT", "central", "valid integer", "8200"),
    (CENTRAL, "MOBILEID_GATE_LOG_LEVEL", "loud", "'critical', 'error'", "warning"),
    (DOCTOR, "MOBILEID_LOGIN_TRUSTED_ISSUERS", "{not json", "not JSON", None),
    (DOCTOR, "MOBILEID_PORT", "eighty", "valid integer", "8000"),
]
TRUSTED_EXAMPLE = """'["https://id.mois.go.kr"]'"""


def _one_line(command: list[str], env: dict[str, str], tmp_path: Path) -> str:
    base = {
        "MOBILEID_DATA_DIR": str(tmp_path / "data"),
        "MOBILEID_LOGIN_DATA_DIR": str(tmp_path / "login"),
        "COLUMNS": "80",
    }
    result = CliRunner().invoke(cli, command, env=base | env)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return lines[0]


@pytest.mark.parametrize(
    ("command", "variable", "bad", "says", "example"),
    BAD_VALUES,
    ids=[f"{'-'.join(cmd[:2])}:{variable}={bad}" for cmd, variable, bad, *_ in BAD_VALUES],
)
def test_bad_setting_is_one_line_with_its_variable_and_an_example(
    command: list[str], variable: str, bad: str, says: str, example: str | None, tmp_path: Path
) -> None:
    line = _one_line(command, {variable: bad}, tmp_path)
    assert line.startswith(f"오류 / error: 설정 오류 / invalid setting {variable}: "), line
    assert says in line, line
    assert line.endswith(f"(example: {example or TRUSTED_EXAMPLE})"), line
    if len(bad) > 4:  # the value given is never repeated (it may be a secret)
        assert bad not in line.split(" (example: ")[0], line


def test_every_bad_setting_in_the_one_line(tmp_path: Path) -> None:
    line = _one_line(
        LOGIN,
        {"MOBILEID_LOGIN_BASE_URL": "ftp://login", "MOBILEID_LOGIN_PORT": "-1"},
        tmp_path,
    )
    assert "invalid settings: MOBILEID_LOGIN_BASE_URL: " in line, line
    assert "; MOBILEID_LOGIN_PORT: " in line and "(example: 8300)" in line, line


def test_a_bad_option_is_named_as_the_option(tmp_path: Path) -> None:
    line = _one_line([*LOGIN, "--base-url", "login.mois.go.kr"], {}, tmp_path)
    assert "invalid setting --base-url: base_url must be an http(s) URL" in line, line
    assert "(example: https://login.mois.go.kr)" in line, line
