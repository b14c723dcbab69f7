"""`mobileid login ...` (the login service: OpenID4VP verifier + OpenID Connect bridge) and
`mobileid verifier init-cert` (the verifier's X.509 identity for signed requests).

The service itself is assembled in `mobileid.login_app`; `login serve` runs it with uvicorn;
several `login serve` processes on one database (PostgreSQL) with the same secret serve one
login together. The other commands open the database in one unit of work each.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mobileid.cli_common import (
    console,
    err_console,
    fail,
    looked_in,
    require_database,
    settings_or_exit,
    tell_where,
    warn_if_placeholder_secret,
)
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script, print_json
from mobileid.db import connection_transaction, create_db_engine, database_label
from mobileid.login_app import open_login_service, trust_warnings
from mobileid.settings import LoginSettings
from vc.private_files import ensure_private_dir
from verifier.login.claims import OIDC_CLAIMS
from verifier.login.clients import (
    ClientError,
    list_clients,
    register_client,
    set_client_enabled,
)
from verifier.login.keys import LoginKeyError
from verifier.login.records import RecordFilter, find_login_records
from verifier.login.service import purge_all
from verifier.migrate import upgrade_verifier_database
from verifier.x509 import (
    CertificateError,
    create_local_pki,
    load_verifier_certificate,
)

__all__ = ["login_app", "verifier_app"]

login_app = typer.Typer(
    name="login",
    help="업무시스템 로그인 / Business-system login: OpenID4VP, with an OpenID Connect bridge.",
    no_args_is_help=True,
    add_completion=False,
)
verifier_app = typer.Typer(
    name="verifier",
    help="검증기 인증서 / The verifier's X.509 certificate for signed OpenID4VP requests.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings(**overrides: Any) -> LoginSettings:
    return settings_or_exit(LoginSettings, **overrides)


def _database_why(settings: LoginSettings) -> str:
    if settings.database_url:
        return "from MOBILEID_LOGIN_DATABASE_URL"
    return f"MOBILEID_LOGIN_DATABASE_URL unset; login directory: {settings.data_dir_origin}"


def _where(settings: LoginSettings, *, create: bool) -> None:
    """Tell (`--verbose`) the login service's directory and database, and why those; refuse a
    missing database unless the command may create it."""
    tell_where("로그인 디렉터리 / login directory", settings.data_dir, settings.data_dir_origin)
    tell_where("데이터베이스 / database", database_label(settings.db_url), _database_why(settings))
    if not create:
        require_database(
            settings.db_url,
            what="login",
            hint="`mobileid demo`, `mobileid login add-client` or `login serve` makes one "
            "(or set MOBILEID_LOGIN_DATA_DIR or MOBILEID_DATA_DIR)",
        )


def _engine(settings: LoginSettings, *, create: bool = False) -> Any:
    _where(settings, create=create)
    ensure_private_dir(settings.data_dir)
    engine = create_db_engine(settings.db_url)
    upgrade_verifier_database(engine, "login")
    return engine


@verifier_app.command("init-cert")
def init_cert(  # noqa: PLR0917 - Typer maps parameters to options
    dns: Annotated[
        str | None, typer.Option("--dns", help="DNS name of the verifier (SAN).")
    ] = None,
    cert_dir: Annotated[Path | None, typer.Option("--cert-dir", help="Where to write.")] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="Existing leaf PEM.")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="Its private key PEM (P-256).")] = None,
    chain: Annotated[Path | None, typer.Option("--chain", help="Intermediates PEM.")] = None,
    ca: Annotated[Path | None, typer.Option("--ca", help="The CA wallets trust (PEM).")] = None,
) -> None:
    """인증서 생성·등록 / Make a local CA and a leaf for --dns, or install PEM files."""
    import shutil

    from verifier import x509 as files

    settings = _settings()
    directory = cert_dir or settings.certificate_dir
    tell_where(
        "인증서 디렉터리 / certificate directory",
        directory,
        "from --cert-dir"
        if cert_dir
        else "MOBILEID_LOGIN_CERT_DIR, else cert in the login directory",
    )
    if cert or key:
        if not (cert and key):
            fail("--cert and --key go together", code=2)
        ensure_private_dir(directory)
        for source, name in (
            (cert, files.LEAF_CERT_FILE),
            (key, files.LEAF_KEY_FILE),
            (chain, files.CHAIN_FILE),
            (ca, files.CA_CERT_FILE),
        ):
            if source is not None:
                shutil.copyfile(source, directory / name)
        (directory / files.LEAF_KEY_FILE).chmod(0o600)
        try:
            loaded = load_verifier_certificate(directory)
        except CertificateError as exc:
            fail(str(exc), code=2)
    else:
        if not dns:
            fail("give --dns HOST (or --cert and --key)", code=2)
        try:
            loaded = create_local_pki(directory, dns)
        except CertificateError as exc:
            fail(str(exc), code=2)
    console.print(f"certificate → {directory}")
    if loaded.dns_names:
        console.print(f"client_id: {loaded.client_id('x509_san_dns')}")
    console.print(f"client_id: {loaded.client_id('x509_hash')}")
    if loaded.anchor is not None:
        console.print(f"wallets trust: {directory / files.CA_CERT_FILE}")


@login_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Public URL (OIDC issuer).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """로그인 서비스 실행 / Run the login service (OpenID4VP + OIDC) on its own port.

    It trusts the issuers in MOBILEID_LOGIN_TRUSTED_ISSUERS (a JSON list of https URLs, e.g.
    '["https://id.mois.go.kr"]'); in development MOBILEID_LOGIN_ALLOW_INSECURE_LOOPBACK=true
    also trusts http issuers on 127.0.0.1 / localhost. It warns at start about either."""
    import uvicorn

    from mobileid.login_app import create_login_app, open_login_console

    settings = _settings(host=host, port=port, base_url=base_url)
    _where(settings, create=True)
    warn_if_placeholder_secret("MOBILEID_LOGIN_SECRET_KEY", settings.secret_key.get_secret_value())
    for line in trust_warnings(settings):
        err_console.print(line, style="yellow", highlight=False, soft_wrap=True, markup=False)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        admin = open_login_console(settings)
    except ValueError as exc:
        fail(f"설정 오류 / login console: {exc}", code=2)
    try:
        service = open_login_service(settings)
    except (CertificateError, LoginKeyError) as exc:
        fail(str(exc), code=2)
    console.print(
        f"[bold]mobileid login[/] → http://{settings.host}:{settings.port}  "
        f"(issuer {settings.base_url}, {len(settings.trusted_issuers)} trusted issuer(s))"
        + (f"; console {settings.base_url}/admin" if admin is not None else "")
    )
    app = create_login_app(service, console=admin)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
    )


@login_app.command("add-client")
def add_client(  # noqa: PLR0917 - Typer maps parameters to options
    name: Annotated[str, typer.Option("--name", help="System name shown on the login page.")],
    redirect_uri: Annotated[list[str], typer.Option("--redirect-uri", help="Repeatable.")],
    claim: Annotated[
        list[str] | None,
        typer.Option("--claim", help=f"Allowed OIDC claim, repeatable: {', '.join(OIDC_CLAIMS)}"),
    ] = None,
    subject: Annotated[str, typer.Option("--sub", help="pairwise | employee_number")] = "pairwise",
    id_token_alg: Annotated[str, typer.Option("--id-token-alg", help="RS256 | ES256")] = "RS256",  # noqa: S107
    agency: Annotated[
        list[str] | None, typer.Option("--agency", help="Only these agency codes (repeatable).")
    ] = None,
    public: Annotated[bool, typer.Option(help="Public client (PKCE only, no secret).")] = False,
    client_id: Annotated[str | None, typer.Option("--client-id", help="Choose the id.")] = None,
    backchannel_logout_uri: Annotated[
        str | None,
        typer.Option(
            "--logout-uri",
            help="Where the system receives logout tokens (OIDC Back-Channel Logout).",
        ),
    ] = None,
    backchannel_logout_session_required: Annotated[
        bool,
        typer.Option(
            "--logout-sid",
            help="The system needs `sid` in logout tokens (always sent).",
        ),
    ] = False,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            "--after-logout",
            help="Where end_session may send the browser back (repeatable).",
        ),
    ] = None,
    plain: Annotated[
        bool,
        typer.Option(
            "--plain",
            help="Print one line, client_id TAB client_secret (empty for a public client), "
            "for `read -r ID SECRET` in a shell.",
        ),
    ] = False,
) -> None:
    """업무시스템 등록 / Register a relying system; prints its client_id and secret (once)."""
    settings = _settings()
    engine = _engine(settings, create=True)
    try:
        with connection_transaction(engine) as db:
            new = register_client(
                db,
                name=name,
                redirect_uris=redirect_uri,
                allowed_claims=claim or [],
                subject_type=subject,
                id_token_alg=id_token_alg,
                allowed_agencies=agency or [],
                public=public,
                client_id=client_id,
                backchannel_logout_uri=backchannel_logout_uri,
                backchannel_logout_session_required=backchannel_logout_session_required,
                post_logout_redirect_uris=post_logout_redirect_uri or [],
                now=time.time(),
            )
    except ClientError as exc:
        fail(exc.detail, code=2)
    finally:
        engine.dispose()
    if plain:
        typer.echo(f"{new.client.client_id}\t{new.secret or ''}")
        return
    print_json({**new.client.to_json(), "client_secret": new.secret})


_CLIENT_COLUMNS = (
    "client_id",
    "name",
    "enabled",
    "public",
    "subject_type",
    "id_token_alg",
    "allowed_claims",
    "allowed_agencies",
    "redirect_uris",
    "backchannel_logout_uri",
    "post_logout_redirect_uris",
)


@login_app.command()
def clients(as_json: JsonOpt = False, plain: PlainOpt = False) -> None:
    """등록된 업무시스템 / Registered systems, one JSON object a line."""
    engine = _engine(_settings())
    try:
        with connection_transaction(engine) as db:
            found = [client.to_json() for client in list_clients(db)]
    finally:
        engine.dispose()
    _json_lines(found, as_json=as_json, plain=plain, columns=_CLIENT_COLUMNS)


def _json_lines(
    rows: list[dict[str, Any]], *, as_json: bool, plain: bool, columns: tuple[str, ...]
) -> None:
    """The default output of these listings: one JSON object a line."""
    if not emit_for_script(rows, as_json=as_json, plain=plain, columns=columns):
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))


def _set_enabled(client_id: str, enabled: bool) -> None:
    settings = _settings()
    engine = _engine(settings)
    try:
        with connection_transaction(engine) as db:
            found = set_client_enabled(db, client_id, enabled)
    finally:
        engine.dispose()
    if not found:
        fail(f"no client {client_id}{looked_in(settings.db_url, _database_why(settings))}", code=2)
    console.print(f"{client_id}: {'enabled' if enabled else 'disabled'}")


@login_app.command("disable-client")
def disable_client(client_id: Annotated[str, typer.Argument(help="client_id")]) -> None:
    """업무시스템 사용 중지 / Stop a system's logins (token exchange too; within seconds)."""
    _set_enabled(client_id, False)


@login_app.command("enable-client")
def enable_client(client_id: Annotated[str, typer.Argument(help="client_id")]) -> None:
    """업무시스템 다시 사용 / Allow a disabled system's logins again."""
    _set_enabled(client_id, True)


_RECORD_COLUMNS = (
    "at",
    "client_id",
    "outcome",
    "flow",
    "employee_number",
    "issuer",
    "session_id",
    "id",
)


@login_app.command()
def records(
    since: Annotated[str, typer.Option("--since", help="ISO date/time (UTC if no offset).")],
    system: Annotated[str | None, typer.Option("--system", help="Only this client_id.")] = None,
    as_json: JsonOpt = False,
    plain: PlainOpt = False,
) -> None:
    """로그인 기록 / Login records since a moment (system, employee, time, outcome), JSON lines."""
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        fail(f"--since must be an ISO date or time ({since})", code=2)
    start = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    engine = _engine(_settings())
    try:
        with engine.connect() as conn:
            rows, _total = find_login_records(conn, RecordFilter(client_id=system, since=start))
    finally:
        engine.dispose()
    entries = [{**row, "at": datetime.fromtimestamp(row["at"], UTC).isoformat()} for row in rows]
    _json_lines(entries, as_json=as_json, plain=plain, columns=_RECORD_COLUMNS)


@login_app.command()
def purge() -> None:
    """만료·보존기간 경과 정리 / Purge expired sessions, codes, tokens and old login records."""
    settings = _settings()
    _where(settings, create=False)
    try:
        service = open_login_service(settings)
    except (CertificateError, LoginKeyError) as exc:
        fail(str(exc), code=2)
    try:
        counts = purge_all(service)
    finally:
        service.close()
        service.engine.dispose()
    console.print(f"purged: {counts} (records kept {settings.retention_days} days)")
