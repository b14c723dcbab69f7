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

__all__ = ["console", "fail", "issuer_runtime", "load_settings"]

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]오류 / error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def load_settings(**overrides: object) -> Settings:
    try:
        return get_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"설정 오류 / invalid settings: {problems}", code=2)


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
