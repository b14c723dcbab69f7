"""The issuer's app with its console, as `mobileid serve` builds it: settings naming a login
service and the console's registration there, HR data imported."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from issuer_kit import standard_staff
from server_kit import Served

from issuer.hr.importing import HrSource, import_records, validate_records
from mobileid.app import create_app
from mobileid.settings import Settings


def write_secret(path: Path, secret: str, mode: int = 0o600) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    os.chmod(path, mode)
    return path


def issuer_settings(tmp_path: Path, database_url: str, **values: Any) -> Settings:
    values.setdefault("issuer_base_url", "http://127.0.0.1:9")
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        outbox_console=False,
        **values,
    )


def seed_staff(app: FastAPI, rows: list[dict[str, Any]] | None = None) -> None:
    runtime = app.state.runtime
    with runtime.unit_of_work() as session:
        records = validate_records(rows or standard_staff())
        import_records(session, records, source=HrSource.central, now=runtime.clock())


@contextlib.contextmanager
def served_issuer(
    tmp_path: Path,
    database_url: str,
    *,
    login_url: str,
    client_id: str,
    secret: str | None,
    served: Served | None = None,
    run_outbox: bool = False,
) -> Iterator[tuple[Served, FastAPI]]:
    """The issuer with its console on 127.0.0.1, its standard staff imported (`run_outbox`: SMS
    shown in `<tmp_path>/data/dev-sms.log`)."""
    served = served or Served(None)
    secret_file = write_secret(tmp_path / "console-secret", secret) if secret else None
    settings = issuer_settings(
        tmp_path,
        database_url,
        issuer_base_url=served.url,
        console_login_url=login_url,
        console_client_id=client_id,
        console_client_secret_file=secret_file,
        outbox_poll_s=0.05,
    )
    app = create_app(settings, run_outbox=run_outbox)
    seed_staff(app)
    served.app = app
    served.start()
    try:
        yield served, app
    finally:
        served.stop()
