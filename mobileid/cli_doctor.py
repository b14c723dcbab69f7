"""`mobileid doctor`: unsafe permissions, placeholder secrets and key disagreements, one screen."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from mobileid.cli_common import console, load_settings, settings_or_exit, tell_where
from mobileid.doctor import run_checks
from mobileid.settings import LoginSettings, data_root_origin

__all__ = ["doctor"]

_MARK = {"ok": "[green]ok[/]", "warn": "[yellow]주의 / warn[/]", "fail": "[red]위험 / fail[/]"}


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per finding.")] = False,
) -> None:
    """점검 / Check this deployment: file permissions, secrets, keys (changes nothing)."""
    settings, login = load_settings(), settings_or_exit(LoginSettings)
    tell_where("데이터 디렉터리 / data directory", settings.data_dir, data_root_origin())
    tell_where(
        "로그인 디렉터리 / login directory",
        login.data_dir,
        login.data_dir_origin,
    )
    findings = run_checks(settings, login)
    if as_json:
        for finding in findings:
            typer.echo(
                json.dumps(
                    {"area": finding.area, "level": finding.level, "message": finding.message},
                    ensure_ascii=False,
                )
            )
    else:
        table = Table("", "area", "finding", show_header=False, box=None, pad_edge=False)
        for finding in findings:
            table.add_row(_MARK[finding.level], finding.area, finding.message)
        console.print(table)
    if any(finding.level == "fail" for finding in findings):
        raise typer.Exit(1)
