"""Shared pieces of the `mobileid` sub-commands: console, settings, the issuer runtime."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from issuer.errors import IssuerError
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import Settings, SourceError, explain_settings_error
from vc.sealing import MAKE_SECRET_HINT, placeholder_problem

__all__ = [
    "console",
    "fail",
    "issuer_runtime",
    "load_settings",
    "settings_or_exit",
    "warn_if_placeholder_secret",
]

S = TypeVar("S", bound=BaseSettings)
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


def settings_or_exit(model: type[S], **overrides: Any) -> S:
    """One service's settings from the environment and the command's options (`overrides`,
    None = not given); a bad value ends the command with one line naming the variable (or the
    option) and an example (exit 2)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return model(**given)
    except (ValidationError, SourceError) as exc:
        fail(f"설정 오류 / {explain_settings_error(model, exc, options=given)}", code=2)


def load_settings(**overrides: object) -> Settings:
    return settings_or_exit(Settings, **overrides)


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
