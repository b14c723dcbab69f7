"""`mobileid demo-info`: the values a script needs of the demo, as `mobileid demo` recorded
them in the data directory (tests/mobileid/test_demo.py checks them against a running demo)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobileid.cli import app
from mobileid.cli_demo_info import DemoField, demo_dir, token_file, write_demo_info
from vc.private_files import ensure_private_dir, write_private_file

VALUES = {
    DemoField.data_dir: "/srv/demo",
    DemoField.issuer_url: "http://127.0.0.1:9000",
    DemoField.gate_url: "http://127.0.0.1:9100",
    DemoField.central_url: "http://127.0.0.1:9200",
    DemoField.login_url: "http://127.0.0.1:9300",
    DemoField.login_ca: "/srv/demo/login/cert/ca.pem",
    DemoField.console_url: "http://127.0.0.1:9000/console",
    DemoField.gate_display_url: "http://127.0.0.1:9100/display",
    DemoField.login_admin_url: "http://127.0.0.1:9300/admin",
    DemoField.signin_link: "http://127.0.0.1:9000/console/link/abc",
}


def _run(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["demo-info", *args], env={"MOBILEID_DATA_DIR": str(root)})
    return result.exit_code, result.stdout, result.stderr


def _set_up(root: Path, token: str = "tok-123") -> None:
    ensure_private_dir(demo_dir(root))
    write_private_file(token_file(root), token.encode() + b"\n")
    write_demo_info(root, VALUES)


def test_prints_one_value_or_all(tmp_path: Path) -> None:
    _set_up(tmp_path)
    assert _run(tmp_path, "--field", "login-api-token") == (0, "tok-123\n", "")
    assert _run(tmp_path, "--field", "gate-url") == (0, "http://127.0.0.1:9100\n", "")
    code, out, _ = _run(tmp_path, "--json")
    assert code == 0
    assert json.loads(out) == {str(k): v for k, v in VALUES.items()} | {
        "login-api-token": "tok-123"
    }
    code, out, _ = _run(tmp_path)
    assert code == 0 and len(out.splitlines()) == len(DemoField)
    assert "login-url         http://127.0.0.1:9300" in out.splitlines()
    assert _run(tmp_path, "--field", "signin-link")[1] == VALUES[DemoField.signin_link] + "\n"
    assert (demo_dir(tmp_path) / "info.json").stat().st_mode & 0o777 == 0o600


def test_no_demo_there_is_one_line_naming_the_directory(tmp_path: Path) -> None:
    code, out, err = _run(tmp_path / "elsewhere", "--field", "login-url")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and str(tmp_path / "elsewhere") in err
    assert "no demo set up" in err and "mobileid demo" in err


@pytest.mark.parametrize("info", ["not json", '["a list"]', '{"data-dir": "/srv/demo"}'])
def test_damaged_files_are_said_so(tmp_path: Path, info: str) -> None:
    _set_up(tmp_path)
    (demo_dir(tmp_path) / "info.json").write_text(info)
    code, out, err = _run(tmp_path)
    assert code == 1 and out == "" and str(demo_dir(tmp_path)) in err, err


def test_field_and_json_together_are_refused(tmp_path: Path) -> None:
    _set_up(tmp_path)
    code, _, err = _run(tmp_path, "--field", "login-url", "--json")
    assert code == 2 and "choose one" in err
