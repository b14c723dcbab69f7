"""`mobileid wallet ...`: the phone simulator on the command line (a thin layer on `wallet_sim`).

Every command works on one wallet directory (`--wallet DIR`, env `MOBILEID_WALLET_DIR`, default
under the user's data directory). PINs, consent and transaction codes are prompted for unless
given as options (tests and scripts pass them). Tests may inject an httpx transport and a
cheaper Argon2id cost through the Typer context object:
`CliRunner().invoke(wallet_app, args, obj={"transport": ..., "kdf_limits": ...})`.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from cryptography import x509

from mobileid.cli_common import fail, tell_where
from mobileid.cli_output import JsonOpt, PlainOpt, emit_for_script, print_json
from mobileid.settings import data_root_origin, default_data_root
from schemas.employee_id import EMPLOYMENT_TYPE_LABELS_KO
from vc.keys import ALG_EDDSA
from wallet_sim.errors import ConsentDeclined, WalletError
from wallet_sim.holder import Holder
from wallet_sim.http import new_client
from wallet_sim.issuer_client import IssuerClient
from wallet_sim.presenter import Presenter
from wallet_sim.qr import qr_terminal, write_qr_png, write_qr_svg
from wallet_sim.store import INTERACTIVE, KdfLimits, UnlockedWallet, WalletStore

_STATUS_KO = {"valid": "유효", "revoked": "폐지", "suspended": "정지"}

__all__ = ["default_wallet_dir", "wallet_app"]

wallet_app = typer.Typer(
    name="wallet",
    help="모바일 공무원증 지갑 시뮬레이터 / Mobile civil-servant ID wallet simulator.",
    no_args_is_help=True,
    add_completion=False,
)


def default_wallet_dir() -> Path:
    """`wallet` in the data directory (`mobileid.settings.default_data_root`)."""
    return default_data_root() / "wallet"


WalletOpt = Annotated[
    Path | None,
    typer.Option(
        "--wallet",
        envvar="MOBILEID_WALLET_DIR",
        help="Wallet directory (one phone). Default: the user data dir.",
    ),
]
PinOpt = Annotated[str | None, typer.Option("--pin", help="6-digit PIN (prompted if absent).")]


def _obj(ctx: typer.Context) -> dict[str, Any]:
    return ctx.obj if isinstance(ctx.obj, dict) else {}


def _store(ctx: typer.Context, wallet: Path | None) -> WalletStore:
    limits = _obj(ctx).get("kdf_limits", INTERACTIVE)
    assert isinstance(limits, KdfLimits)
    why = (
        "from --wallet or MOBILEID_WALLET_DIR"
        if wallet
        else f"wallet in the data directory, {data_root_origin()}"
    )
    directory = wallet or default_wallet_dir()
    tell_where("지갑 디렉터리 / wallet directory", directory, why)
    return WalletStore(directory, kdf_limits=limits)


def _client(ctx: typer.Context) -> httpx.Client:
    transport = _obj(ctx).get("transport")
    return new_client(transport if isinstance(transport, httpx.BaseTransport) else None)


@contextmanager
def _wallet_errors() -> Iterator[None]:
    """A wallet failure ends the command with its code and message (exit 1); a file or directory
    it cannot read or write (the wallet's, a QR's), with one line naming it (exit 2)."""
    try:
        yield
    except WalletError as exc:
        typer.echo(f"오류 / Error [{exc.code}]: {exc.ko}\n  {exc.en}", err=True)
        raise typer.Exit(1) from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.filename is None:  # stdout, e.g. a closed pipe after `--raw`
            fail(f"입출력 오류 / {reason}", code=2)
        fail(f"파일 오류 / cannot use {exc.filename}: {reason}", code=2)


def _trust_anchors(paths: list[Path]) -> list[x509.Certificate]:
    """The CA certificates of `--trust-anchor` files; one that cannot be read ends the command
    with one line naming it (exit 2)."""
    anchors = []
    for path in paths:
        try:
            anchors.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        except OSError as exc:
            fail(f"--trust-anchor {path}: 읽을 수 없습니다 / cannot read it ({exc.strerror})", 2)
        except ValueError:
            fail(f"--trust-anchor {path}: PEM 인증서가 아닙니다 / not a PEM certificate", 2)
    return anchors


def _new_pin(pin: str | None) -> str:
    if pin is not None:
        return pin
    value: str = typer.prompt(
        "새 PIN 6자리 / New 6-digit PIN", hide_input=True, confirmation_prompt=True
    )
    return value


def _unlock(store: WalletStore, pin: str | None) -> UnlockedWallet:
    value = pin if pin is not None else typer.prompt("PIN", hide_input=True)
    return store.unlock(value)


def _when(ts: Any) -> str:
    if not isinstance(ts, int | float):
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(ts: Any) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if isinstance(ts, int | float) else None


def _confirm(flag: bool, question: str) -> None:
    if not flag and not typer.confirm(question, default=False):
        raise ConsentDeclined()


@wallet_app.command()
def init(
    ctx: typer.Context,
    wallet: WalletOpt = None,
    alg: Annotated[str, typer.Option("--alg", help="Device key: EdDSA or ES256.")] = ALG_EDDSA,
    pin: PinOpt = None,
) -> None:
    """새 지갑(기기 ID, 기기 키) 만들기 / Create the phone: device id and device key."""
    store = _store(ctx, wallet)
    with _wallet_errors():
        opened = store.create(_new_pin(pin), alg=alg)
    typer.echo(f"지갑을 만들었습니다 / Wallet created: device {opened.device_id} ({opened.alg})")


@wallet_app.command()
def accept(  # noqa: PLR0917 - Typer maps parameters to options
    ctx: typer.Context,
    link: Annotated[str, typer.Argument(help="openid-credential-offer:// link from the SMS")],
    wallet: WalletOpt = None,
    accept_terms: Annotated[
        bool, typer.Option("--accept-terms", help="Consent to the use of personal data.")
    ] = False,
    tx_code: Annotated[str | None, typer.Option("--tx-code", help="Code sent by SMS.")] = None,
    pin: PinOpt = None,
    alg: Annotated[str, typer.Option("--alg", help="Key for a new wallet: EdDSA or ES256.")] = (
        ALG_EDDSA
    ),
) -> None:
    """발급 링크 수락(공무원증 받기) / Accept an offer and store the credential."""
    store = _store(ctx, wallet)
    with _wallet_errors(), _client(ctx) as client:
        holder = Holder(client)
        preview = holder.resolve_offer(link)
        typer.echo(
            f"발급기관 / Issuer: {preview.issuer_name.get('ko')} ({preview.issuer_name.get('en')})"
        )
        typer.echo(
            f"증명서 / Credential: {preview.credential_name.get('ko')} "
            f"({preview.credential_name.get('en')})"
        )
        typer.echo("저장될 정보 / Will be stored on this phone:")
        for name, label in preview.claim_labels.items():
            typer.echo(f"  - {label.get('ko', name)} / {label.get('en', name)}")
        _confirm(
            accept_terms,
            "개인정보 수집·이용에 동의합니까? / Do you consent to the use of personal data?",
        )
        code = tx_code
        if preview.tx_code is not None and code is None:
            hint = preview.tx_code.get("description") or "SMS"
            code = typer.prompt(f"인증 코드 / Transaction code ({hint})", hide_input=True)
        if store.exists() and not store.is_locked():
            opened = _unlock(store, pin)
        else:
            if store.is_locked():
                typer.echo("잠긴 지갑을 새 PIN으로 다시 설정합니다 / Re-keying the locked wallet")
            opened = store.create(_new_pin(pin), alg=alg)
        record = holder.accept(preview, tx_code=code, wallet=opened)
    typer.echo("공무원증을 저장했습니다 / Credential stored.")
    value = record["status"]["value"]
    typer.echo(f"  상태 / Status: {_STATUS_KO.get(value, value)} / {value}")
    if not record.get("notified"):
        typer.echo("  (발급 완료 통지를 보내지 못했습니다 / issuer was not notified)")


_CLAIM_COLUMNS = ("credential", "claim", "value")


def _credential_json(record: dict[str, Any]) -> dict[str, Any]:
    """A stored credential for `show --json`: names, every claim, status as last seen."""
    status = record.get("status", {})
    return {
        "credential_name": record.get("credential_name", {}),
        "credential_issuer": record.get("credential_issuer"),
        "issuer_name": record.get("issuer_name", {}),
        "claims": record["claims"],
        "status": status.get("value"),
        "status_checked_at": _iso(status.get("checked_at")),
        "expires_at": _iso(record["claims"].get("exp")),
    }


@wallet_app.command()
def show(  # noqa: PLR0917 - Typer maps parameters to options
    ctx: typer.Context,
    wallet: WalletOpt = None,
    pin: PinOpt = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch the status list again.")
    ] = False,
    as_json: JsonOpt = False,
    plain: PlainOpt = False,
) -> None:
    """공무원증 보기 / Show the credential's claims, status as last seen and expiry.

    --plain prints one claim a line: credential number, claim name, value."""
    store = _store(ctx, wallet)
    with _wallet_errors():
        opened = _unlock(store, pin)
        if not opened.credentials:
            typer.echo("공무원증이 없습니다 / No credential stored.")
            return
        if refresh:
            with _client(ctx) as client:
                issuers = IssuerClient(client)
                for record in opened.credentials:
                    record["status"] = issuers.check_status(
                        record["claims"], record["credential_issuer"]
                    )
            opened.save()
    if as_json and not plain:
        print_json([_credential_json(record) for record in opened.credentials])
        return
    claim_rows = [
        {"credential": n, "claim": name, "value": value}
        for n, record in enumerate(opened.credentials, start=1)
        for name, value in _credential_json(record)["claims"].items()
    ]
    if emit_for_script(claim_rows, as_json=as_json, plain=plain, columns=_CLAIM_COLUMNS):
        return
    hidden = {"iss", "iat", "exp", "nbf", "cnf", "vct", "status"}
    for record in opened.credentials:
        name = record.get("credential_name", {})
        typer.echo(f"== {name.get('ko', '')} / {name.get('en', '')}")
        typer.echo(f"   발급기관 / Issuer: {record['issuer_name'].get('ko', '')}")
        labels = record.get("claim_labels", {})
        rank = {claim: n for n, claim in enumerate(labels)}  # the type metadata's order
        claims = sorted(record["claims"].items(), key=lambda c: rank.get(c[0], len(rank)))
        for claim, value in claims:
            if claim in hidden:
                continue
            label = labels.get(claim, {})
            shown = value if not (isinstance(value, str) and value.startswith("data:")) else "[…]"
            if claim == "employment_type" and value in EMPLOYMENT_TYPE_LABELS_KO:
                shown = f"{EMPLOYMENT_TYPE_LABELS_KO[value]} ({value})"
            typer.echo(f"   {label.get('ko', claim)} / {label.get('en', claim)}: {shown}")
        status = record.get("status", {})
        value = status.get("value")
        typer.echo(
            f"   상태 / Status: {_STATUS_KO.get(value, value)} / {value}"
            f" (as of {_when(status.get('checked_at'))})"
        )
        typer.echo(f"   만료 / Expires: {_when(record['claims'].get('exp'))}")


@wallet_app.command()
def qr(  # noqa: PLR0917 - Typer maps parameters to options
    ctx: typer.Context,
    purpose: Annotated[str, typer.Option("--purpose", help="gate, library or identity")],
    audience: Annotated[str, typer.Option("--audience", help="Verifier audience for the KB-JWT")],
    wallet: WalletOpt = None,
    pin: PinOpt = None,
    nonce: Annotated[str | None, typer.Option("--nonce", help="Verifier nonce")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write the QR as PNG")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="Write the QR as SVG")] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="Write exactly the bytes a scanner reads from the QR to stdout, nothing else "
            "(binary with --format compact), for a pipe to the gate: "
            "... --raw | curl --data-binary @- http://127.0.0.1:8100/scan",
        ),
    ] = False,
    qr_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="compact: the binary QR encoding of vc.qr_compact (fits QR version 25 at "
            "level L); plain: the SD-JWT+KB string as text. POST /scan takes either",
        ),
    ] = "compact",
) -> None:
    """출입용 QR 제시 / Present for a purpose as a QR code (only that purpose's claims).

    The terminal QR takes 2x2 modules a character (63 columns at most for a gate); the
    disclosed claims go to stderr with --raw."""
    if qr_format not in ("compact", "plain"):
        raise typer.BadParameter("--format is compact or plain")
    if raw and qr_format == "compact" and sys.stdout.isatty():
        typer.echo(
            "오류 / Error: --raw writes binary; pipe it (| curl --data-binary @- URL/scan) "
            "or add --format plain",
            err=True,
        )
        raise typer.Exit(2)
    store = _store(ctx, wallet)
    with _wallet_errors():
        opened = _unlock(store, pin)
        result = Presenter().purpose_presentation(opened, purpose, audience=audience, nonce=nonce)
        data: str | bytes = result.qr_data if qr_format == "compact" else result.payload
        if png:
            write_qr_png(data, png)
        if svg:
            write_qr_svg(data, svg)
        if raw:
            stdout = typer.get_binary_stream("stdout")
            stdout.write(data if isinstance(data, bytes) else data.encode("ascii"))
            stdout.flush()
        else:
            _print_terminal_qr(qr_terminal(data))
    typer.echo(f"제시 항목 / Disclosed: {', '.join(result.disclosed)}", err=raw)


def _print_terminal_qr(text: str) -> None:
    """The QR if the terminal is wide enough; a cut one would not scan."""
    width = len(text.partition("\n")[0])
    columns = shutil.get_terminal_size().columns
    if width <= columns:
        typer.echo(text, nl=False)
    else:
        typer.echo(
            f"QR이 화면보다 넓습니다 / the QR needs {width} columns, the terminal has {columns}: "
            "use --png or --svg",
            err=True,
        )


@wallet_app.command("present")
def present_cmd(  # noqa: PLR0917 - Typer maps parameters to options
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="openid4vp:// request link")],
    wallet: WalletOpt = None,
    pin: PinOpt = None,
    trust_anchor: Annotated[
        list[Path] | None,
        typer.Option("--trust-anchor", help="PEM CA certificate(s) trusted for x509 clients"),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Consent without asking")] = False,
    follow: Annotated[bool, typer.Option(help="Follow a returned redirect_uri")] = True,
) -> None:
    """검증 요청에 제시(OpenID4VP) / Answer an OpenID4VP request after consent."""
    anchors = _trust_anchors(trust_anchor or [])
    store = _store(ctx, wallet)
    with _wallet_errors():
        opened = _unlock(store, pin)
        with _client(ctx) as client:
            presenter = Presenter(client, trust_anchors=anchors)
            plan = presenter.resolve_request(uri, opened)
            typer.echo(f"요청자 / Verifier: {plan.verifier_name} [{plan.request.client_id}]")
            typer.echo(f"응답 주소 / Response goes to: {plan.request.response_uri}")
            for query_id, claims in plan.disclosed().items():
                typer.echo(f"  [{query_id}] 제시 항목 / Disclosed: {', '.join(claims) or '(none)'}")
            try:
                _confirm(yes, "위 정보를 제시합니까? / Send this information?")
            except ConsentDeclined:
                presenter.decline(plan)
                raise
            outcome = presenter.respond(plan, opened, follow_redirect=follow)
    typer.echo(f"검증기관 응답 / Verifier answered: HTTP {outcome.status_code}")
    if outcome.redirect_uri:
        typer.echo(f"이동 / Redirect: {outcome.redirect_uri} (HTTP {outcome.followed_status})")


_HISTORY_COLUMNS = ("at", "kind", "verifier", "purpose", "verifier_name", "claims", "outcome")


@wallet_app.command()
def history(
    ctx: typer.Context,
    wallet: WalletOpt = None,
    pin: PinOpt = None,
    as_json: JsonOpt = False,
    plain: PlainOpt = False,
) -> None:
    """제시 기록 / Presentation history (kept on this phone only)."""
    store = _store(ctx, wallet)
    with _wallet_errors():
        opened = _unlock(store, pin)
    rows: list[dict[str, Any]] = []
    for entry in opened.history:
        claims = entry.get("claims")
        if isinstance(claims, dict):
            claims = sorted({c for names in claims.values() for c in names})
        rows.append(
            {
                "at": _iso(entry.get("at")),
                "kind": entry.get("kind"),
                "verifier": entry.get("verifier"),
                "purpose": entry.get("purpose"),
                "verifier_name": entry.get("verifier_name"),
                "claims": list(claims or []),
                "outcome": entry.get("outcome"),
            }
        )
    if emit_for_script(rows, as_json=as_json, plain=plain, columns=_HISTORY_COLUMNS):
        return
    if not rows:
        typer.echo("제시 기록이 없습니다 / No presentations yet.")
    for entry, row in zip(opened.history, rows, strict=True):
        what = row["purpose"] or row["verifier_name"] or ""
        typer.echo(
            f"{_when(entry.get('at'))}  {row['kind']}  {row['verifier']}  {what}  "
            f"[{', '.join(row['claims'])}]  {row['outcome'] or ''}".rstrip()
        )


@wallet_app.command()
def reset(
    ctx: typer.Context,
    wallet: WalletOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """지갑 초기화(모두 삭제) / Wipe this wallet."""
    store = _store(ctx, wallet)
    with _wallet_errors():
        _confirm(yes, "지갑의 모든 정보를 삭제합니까? / Erase everything in this wallet?")
        store.reset()
    typer.echo("지갑을 초기화했습니다 / Wallet wiped.")


@wallet_app.command("change-pin")
def change_pin(
    ctx: typer.Context,
    wallet: WalletOpt = None,
    pin: PinOpt = None,
    new_pin: Annotated[str | None, typer.Option("--new-pin", help="New 6-digit PIN")] = None,
) -> None:
    """PIN 변경 / Change the PIN (re-encrypts the store with a new salt)."""
    store = _store(ctx, wallet)
    with _wallet_errors():
        opened = _unlock(store, pin)
        opened.set_pin(_new_pin(new_pin))
    typer.echo("PIN을 변경했습니다 / PIN changed.")


@wallet_app.command("export-status", hidden=True)
def export_status(ctx: typer.Context, wallet: WalletOpt = None) -> None:
    """Machine-readable lock state (no PIN needed; reveals nothing secret)."""
    store = _store(ctx, wallet)
    with _wallet_errors():
        state = {"exists": store.exists(), **store.pin_state()}
    json.dump(state, sys.stdout)
    typer.echo()


if __name__ == "__main__":  # pragma: no cover - `python -m mobileid.cli_wallet`
    wallet_app()
