"""Shared pieces of the `mobileid` sub-commands: console, settings, the issuer runtime, and
where a command looks for its data (`--verbose`, "not found", no database made by surprise)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from issuer.errors import IssuerError
from mobileid.db import database_exists, database_label
from mobileid.runtime import IssuerRuntime, open_issuer_runtime
from mobileid.settings import Settings, SourceError, data_root_origin, explain_settings_error
from vc.sealing import MAKE_SECRET_HINT, placeholder_problem

__all__ = [
    "console",
    "fail",
    "issuer_database",
    "issuer_runtime",
    "load_settings",
    "looked_in",
    "require_database",
    "set_verbose",
    "settings_or_exit",
    "tell_where",
    "warn_if_placeholder_secret",
]

S = TypeVar("S", bound=BaseSettings)
console = Console()
err_console = Console(stderr=True)
_options = {"verbose": False}  # the root command's `--verbose`, set once per invocation
MAKE_DATABASE_HINT = (
    "make one with `mobileid demo` or `mobileid hr import FILE`, "
    "or set MOBILEID_DATA_DIR to the directory that has it"
)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr (the message printed as it is, brackets and all), then exit `code`."""
    err_console.print(f"[red]오류 / error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def set_verbose(on: bool) -> None:
    _options["verbose"] = on


def tell_where(label: str, place: object, why: str) -> None:
    """With `--verbose`: which directory or database a command opens, and why that one."""
    if _options["verbose"]:
        err_console.print(
            f"{label}: {place} ({why})", highlight=False, soft_wrap=True, markup=False
        )


def looked_in(url: str, why: str) -> str:
    """The tail of a "not found" message: the database the command looked in, and why there."""
    return f" — 찾은 곳 / looked in: {database_label(url)} ({why})"


def require_database(url: str, *, what: str = "mobileid", hint: str = MAKE_DATABASE_HINT) -> None:
    """A command that only reads or changes existing data never creates an empty database: a
    missing SQLite file ends it (exit 1), naming the path and how to make one."""
    if not database_exists(url):
        fail(f"no {what} database at {database_label(url)}: {hint}")


def issuer_database(settings: Settings) -> tuple[str, str]:
    """The issuer's database URL and why it is that one (both told with `--verbose`)."""
    tell_where("데이터 디렉터리 / data directory", settings.data_dir, data_root_origin())
    url = settings.resolved_database_url
    why = (
        "from MOBILEID_DATABASE_URL"
        if settings.database_url
        else f"MOBILEID_DATABASE_URL unset; data directory: {data_root_origin()}"
    )
    tell_where("데이터베이스 / database", database_label(url), why)
    earlier = Path("data") / "mobileid.sqlite3"  # releases before the stable default used ./data
    if not database_exists(url) and earlier.is_file():
        err_console.print(
            f"[yellow]주의 / note:[/] {earlier.absolute()} is an earlier release's default "
            f"database; to keep using it, set MOBILEID_DATA_DIR={earlier.parent.absolute()}",
            highlight=False,
            soft_wrap=True,
        )
    return url, why


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


def _issuer_failure(exc: IssuerError, url: str, why: str) -> NoReturn:
    where = looked_in(url, why) if exc.code.endswith("not_found") else ""
    fail(f"{exc.code}: {exc.detail}{where}")


@contextmanager
def issuer_runtime(*, create: bool = False) -> Iterator[IssuerRuntime]:
    """Settings -> migrated database + keys; closed on exit. Domain errors end the command.

    Only a command that makes the first data (`create`: an HR import, an API token) may start a
    new database; any other refuses to, rather than answer "not found" from an empty one."""
    settings = load_settings()
    url, why = issuer_database(settings)
    if not create:
        require_database(url)
    try:
        runtime = open_issuer_runtime(settings)
    except IssuerError as exc:
        _issuer_failure(exc, url, why)
    except SQLAlchemyError as exc:
        fail(f"데이터베이스 오류 / database unavailable ({type(exc).__name__})")
    try:
        yield runtime
    except IssuerError as exc:
        _issuer_failure(exc, url, why)
    finally:
        runtime.close()
