"""`mobileid gate ...`: the gate terminal and the central verifier service (a thin layer on
`mobileid.gate_app`, `mobileid.central_app` and the services in `verifier.gate`).

Every gate command reads the gate's policy file (`--policy`, JSON or YAML) and works on the gate's
own data directory (`--data-dir`, default `<MOBILEID_DATA_DIR>/gate-<gate id>`), holding its
SQLite store (entry records, offline bundle, the presentations it accepted). Options left out
take their value from `mobileid.settings.GateSettings`.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from fastapi import FastAPI

from mobileid.cli_common import console, fail, require_database, settings_or_exit, tell_where
from mobileid.cli_gate_scan import scan
from mobileid.cli_output import JsonOpt, PlainOpt, script_text
from mobileid.db import create_db_engine, database_label
from mobileid.settings import GateSettings, SettingsError, data_root_origin, load_gate_policy
from vc.private_files import ensure_private_dir, write_private_file
from verifier.fetch import new_http_client
from verifier.gate.service import GateService, build_gate
from verifier.policy import GatePolicy, PolicyError

__all__ = ["gate_app"]

gate_app = typer.Typer(
    name="gate",
    help="출입 게이트 검증기 / Gate, desk and library verifier (QR scan, offline, entry records).",
    no_args_is_help=True,
    add_completion=False,
)

PolicyOpt = Annotated[Path, typer.Option("--policy", help="Policy file (JSON or YAML).")]
GateIdOpt = Annotated[str | None, typer.Option("--gate-id", help="Gate id (overrides the file).")]
SHUTDOWN_GRACE_S = 5
"""How long a stopping gate waits for open responses: the displays' event streams never end by
themselves (their browsers reconnect to the restarted gate)."""
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Gate data directory.")]


def _settings() -> GateSettings:
    return settings_or_exit(GateSettings)


def _policy(path: Path, gate_id: str | None) -> GatePolicy:
    try:
        return load_gate_policy(path, gate_id=gate_id)
    except PolicyError as exc:
        fail(f"정책 오류 / invalid policy: {exc.detail}", code=2)
    except SettingsError as exc:
        fail(f"정책 오류 / invalid policy: {exc}", code=2)


def _gate_dir(policy: GatePolicy, data_dir: Path | None) -> tuple[Path, str]:
    """The gate's directory and why it is that one."""
    if data_dir is not None:
        return data_dir, "from --data-dir"
    return (
        _settings().gate_dir(policy.gate_id),
        f"gate-{policy.gate_id} in the data directory, {data_root_origin()}",
    )


def _data_dir(policy: GatePolicy, data_dir: Path | None) -> Path:
    return ensure_private_dir(_gate_dir(policy, data_dir)[0])


def _open(
    policy: GatePolicy, data_dir: Path | None, *, online: bool = True, create: bool = True
) -> GateService:
    """The gate's store; only the commands that set a gate up (`run`, `sync`) may create it."""
    directory, why = _gate_dir(policy, data_dir)
    tell_where("게이트 디렉터리 / gate directory", directory, why)
    url = f"sqlite:///{(directory / 'gate.sqlite3').resolve()}"
    if not create:
        require_database(
            url,
            what=f"gate {policy.gate_id}",
            hint="`mobileid gate sync` or `gate run` with this policy makes it "
            "(or give --data-dir, or set MOBILEID_DATA_DIR)",
        )
    ensure_private_dir(directory)
    engine = create_db_engine(url)
    return build_gate(policy, engine=engine, client=new_http_client() if online else None)


def _since(value: str) -> float:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since must be an ISO date or time, e.g. 2026-11-01 or 2026-11-01T09:00 ({value})")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@gate_app.command()
def run(  # noqa: PLR0917 - Typer maps parameters to options
    policy_file: PolicyOpt,
    gate_id: GateIdOpt = None,
    data_dir: DataDirOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Listen address (default: MOBILEID_GATE_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port the scanner posts to (default: MOBILEID_GATE_PORT).")
    ] = None,
    offline: Annotated[bool, typer.Option(help="Never go online: decide from the bundle.")] = False,
    log_level: Annotated[
        str | None, typer.Option(help="uvicorn log level (default: MOBILEID_GATE_LOG_LEVEL).")
    ] = None,
    openid4vp: Annotated[
        bool,
        typer.Option(
            "--openid4vp",
            help="Also offer OpenID4VP: the terminal shows a QR (page /desk), "
            "the phone answers over the network.",
        ),
    ] = False,
    public_url: Annotated[
        str | None, typer.Option(help="URL phones reach this gate at (OpenID4VP mode).")
    ] = None,
    cert_dir: Annotated[
        Path | None, typer.Option(help="Verifier certificate (mobileid verifier init-cert).")
    ] = None,
) -> None:
    """게이트 실행 / Run a gate terminal; scanners POST the QR payload to /scan."""
    import uvicorn

    from mobileid.gate_app import create_gate_app, gate_console_of
    from verifier.gate.feed import GateFeed, feed_sources
    from verifier.gate.reload import BundleWatch

    settings = _settings()
    host = host or settings.host
    port = settings.port if port is None else port
    policy = _policy(policy_file, gate_id)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    service = _open(policy, data_dir, online=not offline)
    console.print(
        f"[bold]gate {policy.gate_id}[/] ({policy.site_name}, {policy.verification.purpose}) → "
        f"http://{host}:{port}/scan  audience={policy.audience}"
    )
    feed = None if offline else GateFeed(service)
    url = (public_url or f"http://{host}:{port}").rstrip("/")
    try:
        gate_console = gate_console_of(
            service, settings, data_dir=_data_dir(policy, data_dir), base_url=url
        )
    except SettingsError as exc:
        service.close()
        fail(f"설정 오류 / invalid settings: {exc}", code=2)
    app = create_gate_app(service, feed=feed, console=gate_console)
    if gate_console is not None:
        console.print(f"console: {url}/display (guard display), {url}/records (entry records)")
    if openid4vp:
        _mount_openid4vp(app, service, _data_dir(policy, data_dir), url, cert_dir)
    for url, _ in feed_sources(policy) if feed is not None else ():
        console.print(f"status feed: {url}")
    watch = BundleWatch(service, _data_dir(policy, data_dir))  # `gate sync` reaches this gate
    watch.start()
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level or settings.log_level,
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
    finally:
        watch.stop()


def _mount_openid4vp(
    app: FastAPI, service: GateService, data_dir: Path, public_url: str, cert_dir: Path | None
) -> None:
    """The OpenID4VP mode: signed requests when a certificate is there, else unsigned by value."""
    from mobileid.gate_app import mount_desk
    from verifier.x509 import CertificateError, load_verifier_certificate

    directory = cert_dir or data_dir / "cert"
    try:
        certificate = load_verifier_certificate(directory)
    except CertificateError:
        certificate = None
        console.print(
            f"[yellow]no verifier certificate in {directory}: requests are unsigned "
            f"(redirect_uri:). For signed ones: mobileid verifier init-cert --dns HOST "
            f"--cert-dir {directory}[/]"
        )
    mount_desk(app, service, base_url=public_url, certificate=certificate)
    console.print(
        f"OpenID4VP: terminal page {public_url}/desk, phones answer at {public_url}/oid4vp/response"
    )


gate_app.command("scan")(scan)


@gate_app.command()
def sync(
    policy_file: PolicyOpt,
    gate_id: GateIdOpt = None,
    data_dir: DataDirOpt = None,
    from_issuers: Annotated[
        bool, typer.Option("--from-issuers", help="Fetch from issuers, not central.")
    ] = False,
) -> None:
    """동기화 / Pull the offline bundle and upload buffered entry records (exactly once)."""
    from verifier.gate.sync import SyncError, pull_bundle, refresh_from_issuers, upload_records

    policy = _policy(policy_file, gate_id)
    service = _open(policy, data_dir)
    try:
        if from_issuers or not policy.central_url:
            result = refresh_from_issuers(service)
        else:
            result = pull_bundle(service)
        console.print(
            f"bundle: {result.issuers} issuer(s), {result.status_lists} status list(s), "
            f"{result.rejected} rejected"
        )
        _tell_running_gate(_data_dir(policy, data_dir))
        if policy.central_url:
            uploaded = upload_records(service)
            console.print(f"records uploaded: {uploaded.acknowledged}")
    except SyncError as exc:
        fail(str(exc))
    finally:
        service.close()


def _tell_running_gate(directory: Path) -> None:
    """Make a gate running on `directory` install the bundle just saved, and say whether it did."""
    from verifier.gate.reload import announce_bundle, await_pickup, running_gate

    pid = running_gate(directory)
    if pid is None:
        console.print("no gate is running on this data directory: it loads the bundle at start")
        return
    picked = await_pickup(directory, announce_bundle(directory))
    if picked is None:
        fail(f"the running gate (pid {pid}) did not pick the bundle up within 5 s; see its log")
    console.print(
        f"running gate (pid {picked.pid}) picked it up: {picked.issuers} issuer(s), "
        f"{picked.status_lists} status list(s), {picked.rejected} rejected"
    )


@gate_app.command()
def records(  # noqa: PLR0917 - Typer maps parameters to options
    policy_file: PolicyOpt,
    since: Annotated[str, typer.Option("--since", help="ISO date/time (UTC if no offset).")],
    gate_id: GateIdOpt = None,
    data_dir: DataDirOpt = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV instead of JSON lines.")] = False,
    as_json: JsonOpt = False,
    plain: PlainOpt = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """출입 기록 / Export this gate's entry records since a moment (JSON lines by default)."""
    from verifier.gate.store import records_csv, records_since
    from verifier.models import RECORD_COLUMNS

    if as_csv and (as_json or plain):
        fail("--csv, --json and --plain: choose one", code=2)
    policy = _policy(policy_file, gate_id)
    service = _open(policy, data_dir, online=False, create=False)
    try:
        with service.engine.connect() as conn:
            rows = records_since(conn, _since(since))
    finally:
        service.close()
    text = script_text(rows, as_json=as_json, plain=plain, columns=RECORD_COLUMNS)
    if text is None:
        text = records_csv(rows) if as_csv else "".join(json.dumps(r) + "\n" for r in rows)
    if output:
        write_private_file(output, text.encode("utf-8"))  # names people: owner-only
        console.print(f"{len(rows)} record(s) → {output}")
    else:
        typer.echo(text, nl=False)


@gate_app.command()
def purge(
    policy_file: PolicyOpt,
    gate_id: GateIdOpt = None,
    data_dir: DataDirOpt = None,
    include_unsent: Annotated[
        bool, typer.Option(help="Also delete old records never uploaded.")
    ] = False,
) -> None:
    """보존기간 경과 기록 삭제 / Delete records older than the policy's retention_days."""
    from verifier.gate.store import purge_records

    policy = _policy(policy_file, gate_id)
    service = _open(policy, data_dir, online=False, create=False)
    try:
        before = time.time() - policy.retention_days * 86400
        with service.engine.begin() as conn:
            result = purge_records(conn, before=before, include_unsent=include_unsent)
    finally:
        service.close()
    console.print(
        f"deleted {result.deleted} record(s) older than {policy.retention_days} days; "
        f"{result.kept_unsent} old record(s) kept because they were never uploaded"
    )


@gate_app.command()
def central(
    config_file: Annotated[Path, typer.Option("--config", help="Central config (JSON/YAML).")],
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL (default: MOBILEID_GATE_CENTRAL_DATABASE_URL)."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Listen address (default: MOBILEID_GATE_CENTRAL_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: MOBILEID_GATE_CENTRAL_PORT).")
    ] = None,
) -> None:
    """중앙 검증 서비스 / Run the central verifier service (records in, bundles out)."""
    import uvicorn

    from mobileid.central_app import create_central_app, open_central_service
    from mobileid.settings import load_central_config
    from verifier.feed_relay import FeedRelay

    settings = _settings()
    try:
        config = load_central_config(config_file)
    except SettingsError as exc:
        fail(f"설정 오류 / invalid config: {exc}", code=2)
    ensure_private_dir(settings.data_dir)
    url = database_url or settings.resolved_central_database_url
    why = (
        "from --database-url or MOBILEID_GATE_CENTRAL_DATABASE_URL"
        if database_url or settings.central_database_url
        else f"MOBILEID_GATE_CENTRAL_DATABASE_URL unset; data directory: {data_root_origin()}"
    )
    tell_where("데이터베이스 / database", database_label(url), why)
    engine = create_db_engine(url)
    service = open_central_service(config, engine=engine, client=new_http_client())
    host = host or settings.central_host
    port = settings.central_port if port is None else port
    console.print(f"[bold]central verifier[/] → http://{host}:{port}")
    relay = FeedRelay(
        [t.issuer for t in config.trusted_issuers],
        allow_insecure_loopback=config.allow_insecure_loopback,
    )
    app = create_central_app(service, relay=relay)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,  # the relayed change feed's streams never end by themselves
    )
