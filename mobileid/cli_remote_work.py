"""`mobileid remote-work ...`: the remote-work system (원격근무), assembled in
`mobileid.remote_work_app`."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from mobileid.cli_common import console, fail, settings_or_exit
from mobileid.settings import RemoteWorkSettings

__all__ = ["remote_work_app"]

remote_work_app = typer.Typer(
    help="원격근무 / The remote-work system (plans, approval, work time)", no_args_is_help=True
)


@remote_work_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Public URL.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """원격근무 시스템 실행 / Run the remote-work system on its own port.

    Register it at the login service first: `mobileid login add-client --name 원격근무
    --redirect-uri <base_url>/work/callback --backchannel-logout-uri <base_url>/backchannel-logout
    --sub employee_number --claim name --claim department`, then set
    MOBILEID_REMOTE_WORK_LOGIN_URL and MOBILEID_REMOTE_WORK_CLIENT_ID."""
    import uvicorn

    from mobileid.remote_work_app import create_remote_work_app, open_remote_work

    settings = settings_or_exit(RemoteWorkSettings, host=host, port=port, base_url=base_url)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        opened = open_remote_work(settings)
    except ValueError as exc:
        fail(f"설정 오류 / remote work: {exc}", code=2)
    console.print(
        f"[bold]mobileid remote-work[/] → http://{settings.host}:{settings.port}  "
        f"(login {settings.login_url}, client {settings.client_id})"
    )
    uvicorn.run(
        create_remote_work_app(opened),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
    )
