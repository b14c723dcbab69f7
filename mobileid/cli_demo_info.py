"""`mobileid demo-info`: the values a script needs of the demo (its URLs, the login service's
API token and CA, the data directory), read from what `mobileid demo` wrote in the data
directory's demo/, so a script never rebuilds paths that differ from one platform to another.

`mobileid demo` records its URLs and paths in demo/info.json (0600) when it starts its parts,
with the consoles' URLs and the example administrator's single-use sign-in link of this run; the
token stays in demo/login-api-token alone (0600), where the demo keeps it between runs.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mobileid.cli_common import fail, tell_where
from mobileid.cli_output import print_json
from mobileid.settings import data_root_origin, default_data_root
from vc.private_files import write_private_file

__all__ = [
    "DemoDataDirOpt",
    "DemoField",
    "demo_dir",
    "demo_info",
    "token_file",
    "write_demo_info",
]

DemoDataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where all parts keep their data "
        "(default: MOBILEID_DATA_DIR, else ~/.local/share/mobileid).",
    ),
]
INFO_FILE = "info.json"
TOKEN_FILE = "login-api-token"  # noqa: S105 - a file name, not a secret


class DemoField(StrEnum):
    """One value `demo-info --field` prints."""

    data_dir = "data-dir"
    issuer_url = "issuer-url"
    gate_url = "gate-url"
    central_url = "central-url"
    login_url = "login-url"
    login_ca = "login-ca"
    console_url = "console-url"
    gate_display_url = "gate-display-url"
    login_admin_url = "login-admin-url"
    signin_link = "signin-link"
    login_api_token = "login-api-token"  # noqa: S105 - a field name, not a secret


def demo_dir(root: Path) -> Path:
    """The demo's own files (its logs, configs, token and info) in a data directory."""
    return root / "demo"


def token_file(root: Path) -> Path:
    """The login service's development API token, made once by the demo and reused."""
    return demo_dir(root) / TOKEN_FILE


def write_demo_info(root: Path, values: dict[DemoField, str]) -> None:
    """Record a demo's values but its token (kept in `token_file` only) for `demo-info`."""
    record = {str(name): value for name, value in values.items()}
    text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    write_private_file(demo_dir(root) / INFO_FILE, text.encode("utf-8"))


def _read_demo_info(root: Path) -> dict[str, str]:
    """What the last `mobileid demo` in `root` recorded, with its token; ends the command
    naming the directory when no demo was set up there."""
    where = demo_dir(root)
    not_set_up = (
        f"데모 정보 없음 / no demo set up in {root}: {where / INFO_FILE} is missing. Start one "
        "with `mobileid demo`, or set MOBILEID_DATA_DIR (or --data-dir) to the directory it uses"
    )
    try:
        record = json.loads((where / INFO_FILE).read_text(encoding="utf-8"))
        token = token_file(root).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        fail(not_set_up)
    except (OSError, ValueError) as exc:
        fail(f"데모 정보를 읽을 수 없습니다 / cannot read the demo's files in {where} ({exc})")
    values = {**(record if isinstance(record, dict) else {}), DemoField.login_api_token: token}
    found = {str(name): values.get(name) for name in DemoField}
    if not all(isinstance(value, str) and value for value in found.values()):
        fail(f"데모 정보가 손상되었습니다 / the demo's files in {where} are damaged: rerun it")
    return {name: str(value) for name, value in found.items()}


def demo_info(
    field: Annotated[
        DemoField | None,
        typer.Option(
            "--field",
            metavar="NAME",
            help="Print this one value alone, for VAR=$(...): "
            + ", ".join(name.value for name in DemoField),
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Every value as one JSON object, for scripts.")
    ] = False,
    data_dir: DemoDataDirOpt = None,
) -> None:
    """데모 정보 / The demo's URLs, login token and CA file, for scripts.

    Reads what `mobileid demo` wrote in the data directory: e.g.
    TOKEN=$(mobileid demo-info --field login-api-token)"""
    if field is not None and as_json:
        fail("--field and --json: choose one", code=2)
    root = (data_dir or default_data_root()).absolute()
    tell_where(
        "데이터 디렉터리 / data directory",
        root,
        "from --data-dir" if data_dir else data_root_origin(),
    )
    values = _read_demo_info(root)
    if field is not None:
        typer.echo(values[field])
    elif as_json:
        print_json(values)
    else:
        width = max(map(len, values))
        for name, value in values.items():
            typer.echo(f"{name:<{width}}  {value}")
