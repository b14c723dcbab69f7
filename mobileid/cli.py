"""The `mobileid` command. Each party's commands live in their own `cli_*` module and are mounted
here with one line each."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from issuer.errors import IssuerError
from mobileid import __version__
from mobileid.cli_admin import register_admin_commands
from mobileid.cli_common import (
    console,
    err_console,
    fail,
    issuer_database,
    load_settings,
    set_verbose,
    warn_if_placeholder_secret,
)
from mobileid.cli_demo import demo
from mobileid.cli_demo_info import demo_info
from mobileid.cli_doctor import doctor
from mobileid.cli_gate import gate_app
from mobileid.cli_hr import admin_app, hr_app
from mobileid.cli_issuer import issuer_app
from mobileid.cli_login import login_app, verifier_app
from mobileid.cli_records import audit_app, outbox_app
from mobileid.cli_remote_work import remote_work_app
from mobileid.cli_wallet import wallet_app
from vc.private_files import UnsafePermissions

__all__ = ["app", "main"]
_SHUTDOWN_GRACE_S = 5

app = typer.Typer(
    name="mobileid",
    help="모바일 공무원증 (Mobile Civil Servant ID): issuer, verifiers and wallet simulator.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(hr_app, name="hr")
register_admin_commands(admin_app)
app.add_typer(admin_app, name="admin")
app.add_typer(issuer_app, name="issuer")
app.add_typer(outbox_app, name="outbox")
app.add_typer(audit_app, name="audit")
app.add_typer(wallet_app, name="wallet")
app.add_typer(gate_app, name="gate")
app.add_typer(login_app, name="login")
app.add_typer(verifier_app, name="verifier")
app.add_typer(remote_work_app, name="remote-work")
app.command()(demo)
app.command("demo-info")(demo_info)
app.command()(doctor)


def _version(value: bool) -> None:
    if value:
        console.print(f"mobileid {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Say which data directory and database each command opens."
        ),
    ] = False,
) -> None:
    """Settings come from MOBILEID_* environment variables (see README). Data lives in
    MOBILEID_DATA_DIR, default ~/.local/share/mobileid (XDG_DATA_HOME)."""
    set_verbose(verbose)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """서버 실행 / Run the issuer HTTP service (OpenAPI docs at /docs)."""
    import uvicorn

    from mobileid.app import create_app
    from mobileid.log_redaction import install_log_redaction
    from mobileid.settings import SettingsError

    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = load_settings(**overrides)
    issuer_database(settings)
    warn_if_placeholder_secret("MOBILEID_SECRET_KEY", settings.secret_key.get_secret_value())
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    try:
        application = create_app(settings)
    except ValidationError as exc:  # pragma: no cover - settings were validated above
        fail(f"설정 오류 / invalid settings: {exc.error_count()} problem(s)")
    except IssuerError as exc:  # e.g. signing keys sealed with another MOBILEID_SECRET_KEY
        fail(f"{exc.code}: {exc.detail}")
    except SettingsError as exc:  # e.g. the console's client secret file unreadable
        fail(f"설정 오류 / invalid settings: {exc}", code=2)
    console.print(
        f"[bold]mobileid[/] → http://{settings.host}:{settings.port}  "
        f"(issuer {settings.issuer_base_url}, docs /docs)"
    )
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=_SHUTDOWN_GRACE_S,  # change-feed streams never end by themselves
    )


def main() -> None:
    # Whatever a library creates with default modes (SQLite's temporary files, a log) stays
    # owner-only too; our own files are created with explicit modes in any case.
    os.umask(0o077)
    try:
        app()
    except UnsafePermissions as exc:
        err_console.print(f"[red]권한 오류 / unsafe permissions:[/] {exc.detail}", highlight=False)
        sys.exit(2)
