"""Issuer commands on `mobileid issuer`: identity, keys and metadata, key rotation, status lists;
the credential lifecycle commands come from `cli_lifecycle`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from issuer.api_tokens import operator
from issuer.keys.rotation import retire_compromised_key, rotate_signing_key
from issuer.keys.signing import IssuerKeyring, SigningKey
from issuer.oid4vci.metadata import credential_issuer_metadata
from issuer.status.publication import status_list_summary
from mobileid.cli_common import console, fail, issuer_runtime
from mobileid.cli_lifecycle import register_lifecycle_commands
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script

__all__ = ["issuer_app"]

SIGNING_ALGS = ("EdDSA", "ES256")

issuer_app = typer.Typer(
    help="발급기관 / Issuer: keys, metadata and the credential lifecycle.", no_args_is_help=True
)


@issuer_app.command("info")
def info() -> None:
    """발급기관 정보 / Show the issuer identifier, signing keys and metadata URL."""
    with issuer_runtime() as runtime:
        console.print(f"발급기관 / issuer: {runtime.config.base_url}")
        console.print(f"유형 / vct: {runtime.config.vct}")
        ring = runtime.keyring
        for key in ring.keys:
            console.print(f"키 / key: kid={key.kid} alg={key.alg} ({_key_state(ring, key)})")
        console.print(
            f"메타데이터 / metadata: {runtime.config.base_url}/.well-known/openid-credential-issuer"
        )


def _key_state(ring: IssuerKeyring, key: SigningKey) -> str:
    def when(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")

    if key.retired_at is not None:
        return f"폐기 / retired {when(key.retired_at)}: {key.retired_reason or '-'}"
    if key is ring.active:
        return "서명 중 / signing"
    if key.activates_at is not None and key.activates_at > time.time():
        return f"공개, 서명 대기 / published, signs from {when(key.activates_at)}"
    if key.publish_until is not None:
        return f"공개 / published until {when(key.publish_until)}"
    return "공개 / published"


@issuer_app.command("metadata")
def metadata() -> None:
    """Print the Credential Issuer Metadata JSON."""
    with issuer_runtime() as runtime:
        doc = credential_issuer_metadata(runtime.config, runtime.keyring)
    print(json.dumps(doc, ensure_ascii=False, indent=2))


register_lifecycle_commands(issuer_app)


@issuer_app.command("rotate-key")
def rotate_key(
    alg: Annotated[str | None, typer.Option(help="EdDSA or ES256 (default: the setting)")] = None,
    compromised: Annotated[
        str | None,
        typer.Option(
            "--compromised",
            metavar="KID",
            help="retire this key now, revoke what it signed and send reissue offers",
        ),
    ] = None,
    activate_after: Annotated[
        int,
        typer.Option(
            min=0,
            max=30 * 86400,
            help="publish the new key now, sign with it after this many seconds (give "
            "verifiers that cache the JWKS time to fetch it); 0 = from the next issuance",
        ),
    ] = 0,
) -> None:
    """키 교체 / Rotate the issuer signing key (old keys stay published while their credentials
    are valid), or retire a compromised key. Keys live in the database, sealed with
    MOBILEID_SECRET_KEY; running servers on it follow within about a second."""
    if alg is not None and alg not in SIGNING_ALGS:
        fail(f"--alg must be one of {', '.join(SIGNING_ALGS)}", code=2)
    with issuer_runtime() as runtime:
        algorithm = alg or runtime.settings.signing_alg
        if compromised is None:
            with runtime.unit_of_work() as session:
                result = rotate_signing_key(
                    session,
                    runtime.keys.sealer,
                    alg=algorithm,
                    actor="cli",
                    now=runtime.clock(),
                    activate_after=timedelta(seconds=activate_after),
                    credential_lifetime=timedelta(seconds=runtime.config.credential_lifetime_s),
                )
            console.print(f"새 서명 키 / new signing key: {result.new.kid} ({result.new.alg})")
            if result.activates_at is not None:
                console.print(
                    "공개됨, 서명 시작 / published now, signs from "
                    f"{result.activates_at:%Y-%m-%d %H:%M:%S} UTC"
                )
            if result.previous is not None and result.previous_published_until is not None:
                console.print(
                    f"이전 키 / previous key {result.previous.kid} stays published "
                    f"until {result.previous_published_until:%Y-%m-%d}"
                )
            return
        with Progress(
            TextColumn("[bold]폐지 / revoking"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("revoke", total=None)
            outcome = retire_compromised_key(
                compromised,
                principal=operator(),
                alg=algorithm,
                keys=runtime.keys,
                unit_of_work=runtime.unit_of_work,
                publisher=runtime.status,
                clock=runtime.clock,
                config=runtime.config,
                progress=lambda n: progress.advance(task, n),
            )
    if outcome.new is not None:
        console.print(f"새 서명 키 / new signing key: {outcome.new.kid}")
    console.print(
        f"키 폐기 / key {outcome.kid} retired; {outcome.revoked.changed} credential(s) "
        f"revoked, {outcome.revoked.offers} reissue offer(s) queued, "
        f"{outcome.lists_resigned} status list(s) re-signed"
    )


_STATUS_LIST_COLUMNS = (
    "id",
    "uri",
    "size",
    "used",
    "revoked",
    "suspended",
    "version",
    "kid",
    "signed_at",
)


@issuer_app.command("status-lists")
def status_lists(as_json: JsonOpt = False, plain: PlainOpt = False) -> None:
    """상태 목록 / Status lists: size, use, revoked and suspended counts, published token."""
    with issuer_runtime() as runtime, runtime.unit_of_work() as session:
        runtime.status.rebuild(session, keyring=runtime.keyring, now=runtime.clock())
        rows = [
            {
                "id": row.list_id,
                "uri": row.uri,
                "size": row.size,
                "used": row.used,
                "revoked": row.revoked,
                "suspended": row.suspended,
                "version": row.version,
                "kid": row.kid,
                "signed_at": row.signed_at.isoformat() if row.signed_at else None,
            }
            for row in status_list_summary(session)
        ]
    if emit_for_script(rows, as_json=as_json, plain=plain, columns=_STATUS_LIST_COLUMNS):
        return
    # One record a few lines long: a URI and a key id fit 80 columns whole, a table row would not.
    for row in rows:
        signed = str(row["signed_at"] or "-")[:19].replace("T", " ")
        console.print(
            f"[bold]목록 / list {row['id']}[/]  {row['uri']}\n"
            f"  사용 / used {row['used']} of {row['size']}, 폐지 / revoked {row['revoked']}, "
            f"정지 / suspended {row['suspended']}\n"
            f"  서명 / signed {signed} UTC, 판 / version {row['version']}\n"
            f"  키 / kid {row['kid'] or '-'}",
            highlight=False,
            soft_wrap=True,
        )
