"""Shared pieces of the `mobileid` sub-commands: console, settings, the issuer runtime."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from issuer.errors import IssuerError
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import Settings, get_settings
from vc.sealing import MAKE_SECRET_HINT, placeholder_problem

__all__ = [
    "console",
    "fail",
    "fail_on_settings",
    "issuer_runtime",
    "load_settings",
    "warn_if_placeholder_secret",
]

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]오류 / error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn_if_placeholder_secret(variable: str, secret: str) -> None:
    """A service starting in development on a public placeholder secret says so, loudly, once."""
    problem = placeholder_problem(variable, secret)
    if problem is None:
        return
    bar = "!" * 72
    err_console.print(
        f"[bold red]{bar}\n"
        f"!! 경고 / WARNING: {variable} is the public development placeholder (or too short).\n"
        "!! Anyone can forge what it protects; 개발용 / development only: refused outside dev.\n"
        f"!! {MAKE_SECRET_HINT}\n{bar}[/]",
        highlight=False,
        soft_wrap=True,
    )


def fail_on_settings(exc: ValidationError) -> NoReturn:
    """End the command with every settings problem on one line (exit 2)."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
        + str(e["msg"]).removeprefix("Value error, ")
        for e in exc.errors()
    )
    fail(f"설정 오류 / invalid settings: {problems}", code=2)


def load_settings(**overrides: object) -> Settings:
    try:
        return get_settings(**overrides)
    except ValidationError as exc:
        fail_on_settings(exc)


@contextmanager
def issuer_runtime() -> Iterator[IssuerRuntime]:
    """Settings -> migrated database + keys; closed on exit. Domain errors end the command."""
    settings = load_settings()
    try:
        runtime = open_issuer_runtime(settings)
    except IssuerError as exc:
        fail(f"{exc.code}: {exc.detail}")
    except SQLAlchemyError as exc:
        fail(f"데이터베이스 오류 / database unavailable ({type(exc).__name__})")
    try:
        yield runtime
    except IssuerError as exc:
        fail(f"{exc.code}: {exc.detail}")
    finally:
        runtime.close()
