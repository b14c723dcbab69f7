"""No issuance secret at rest (issue "Secrets at rest", point 4), written as the attacks: a copy of
the database, of the data directory or of the logs redeems nothing; production SMS go through a
gateway that keeps nothing; the placeholder secret is refused outside dev and shouted about in it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from issuer_kit import Holder, Phone, apply_and_approve, link_of, queue_sms, seed, tx_code_of
from pydantic import ValidationError
from server_kit import served_nothing
from sqlalchemy import Engine, inspect, select, text
from typer.testing import CliRunner

from issuer.hashing import derive_pre_authorized_code
from issuer.messages.outbox import REDACTED, OutgoingMessage, deliver_one, outbox_sealer
from issuer.messages.sms import DEV_ONLY_BANNER, DevSmsSender, SmsGatewaySender
from issuer.models import OutboxMessage
from mobileid.app import create_app
from mobileid.cli import app as cli
from mobileid.log_redaction import install_log_redaction
from mobileid.outbox_worker import drain_outbox
from mobileid.runtime import message_sender, open_issuer_runtime
from mobileid.settings import Settings, SettingsError, get_settings
from vc.keys import Ed25519PrivateKey
from vc.sealing import PLACEHOLDER_SECRET

SECRET = "s" * 16 + secrets.token_urlsafe(32)
GATEWAY = "https://sms.example.go.kr/v1/send"
MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class WallClock:
    def timestamp(self) -> int:
        return int(time.time())


@contextmanager
def serving_with_access_log(
    app: Any, sock: socket.socket, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """The app on `sock` as `mobileid serve` runs it (uvicorn's access log on), every log
    record from DEBUG up captured, offer references redacted as `serve` does."""
    config = uvicorn.Config(app, log_level="info", lifespan="on", access_log=True)
    server = uvicorn.Server(config)  # uvicorn's logging is configured by now: tap it
    tapped = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.access")]
    for logger in tapped:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    undo = install_log_redaction()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        undo()
        for logger in tapped:
            logger.removeHandler(caplog.handler)


def database_text(engine: Engine) -> str:
    """Every row of every table, read with plain SQL, as an attacker's dump would have it."""
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(row))
            for name in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{name}"'))
        )


def files_text(root: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("latin-1") for p in sorted(root.rglob("*")) if p.is_file()
    )


def found(secret: str, haystack: str) -> bool:
    """`secret` as a token of its own (a 6-digit code inside a phone number or a hash is not)."""
    pattern = rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])"
    return re.search(pattern, haystack) is not None


def test_no_issuance_secret_at_rest(database_url: str, tmp_path: Path, caplog) -> None:
    phone = Phone()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = get_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        issuer_base_url=f"http://127.0.0.1:{port}",
        port=port,
        secret_key=SECRET,
    )
    app = create_app(settings, sender=phone, run_outbox=False)
    runtime = app.state.runtime
    with sock, serving_with_access_log(app, sock, caplog):
        client = httpx.Client(base_url=settings.issuer_base_url, timeout=30)
        tokens = seed(SimpleNamespace(runtime=runtime), tmp_path)
        approved = apply_and_approve(client, tokens, applicant=tokens.e1001)
        dumps = {
            "database before delivery": database_text(runtime.engine),
            "HR API's answer to the approval": json.dumps(approved),
        }
        assert drain_outbox(runtime) == (2, 0)
        link, tx_code = link_of(phone.last("offer_link")), tx_code_of(phone.last("tx_code"))
        holder = Holder(client, Ed25519PrivateKey.generate(), WallClock())
        pre_authorized_code = holder.code_of(holder.offer(link))
        assert holder.receive(link, tx_code)["credentials"]  # the SMS did carry what redeems
        client.close()
        dumps["database after issuance"] = database_text(runtime.engine)
        env = {  # as production lists it (development shows the SMS to the local user)
            "MOBILEID_ENV": "prod",
            "MOBILEID_ISSUER_BASE_URL": "https://id.example.go.kr",
            "MOBILEID_SMS_GATEWAY_URL": GATEWAY,
            "MOBILEID_SMS_GATEWAY_TOKEN": "gateway-token",
            "MOBILEID_DATA_DIR": str(settings.data_dir),
            "MOBILEID_DATABASE_URL": database_url,
            "MOBILEID_SECRET_KEY": SECRET,
            "COLUMNS": "400",
        }
        listing = CliRunner().invoke(cli, ["outbox", "list"], env=env)
        assert listing.exit_code == 0 and REDACTED in listing.output, listing.output
    reference = unquote(link).rsplit("/credential-offer/", 1)[1]
    assert pre_authorized_code == derive_pre_authorized_code(SECRET.encode(), reference)
    dumps |= {
        "files (data directory, SQLite files)": files_text(tmp_path),
        "log records": caplog.text,
        "`mobileid outbox list`": listing.output,
    }
    assert "/credential-offer/[redacted]" in caplog.text  # the access log was read
    for where, haystack in dumps.items():
        for name, secret in (
            ("tx_code", tx_code),
            ("pre-authorized code", pre_authorized_code),
            ("offer reference", reference),
        ):
            assert not found(secret, haystack), f"the {name} is readable in the {where}"


def _prod(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "prod",
        "secret_key": SECRET,
        "issuer_base_url": "https://id.example.go.kr",
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "sms_gateway_url": GATEWAY,
        "sms_gateway_token": "gateway-token",
    }
    return Settings(**(values | extra))


class FakeGateway:
    """An SMS gateway behind httpx.MockTransport: answers 503 first, then accepts."""

    def __init__(self, answers: list[int | type[Exception]]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, type):
            raise answer("gateway gone", request=request)
        return httpx.Response(answer, json={"accepted": answer == 200})


def test_prod_sender_is_a_gateway_and_keeps_nothing(
    database_url: str, tmp_path: Path, caplog
) -> None:
    legacy_log = tmp_path / "data" / "outbox.log"  # an earlier release's SMS, codes included
    legacy_log.parent.mkdir(mode=0o700)
    legacy_log.write_text('{"kind": "tx_code", "body": "... Transaction code: 123456"}\n')
    settings = _prod(tmp_path, database_url)
    assert isinstance(message_sender(settings), SmsGatewaySender)
    gateway = FakeGateway([503, httpx.ConnectTimeout, 200])
    sender = SmsGatewaySender(
        GATEWAY, "gateway-token", timeout_s=2, transport=httpx.MockTransport(gateway)
    )
    caplog.set_level(logging.DEBUG)
    runtime = open_issuer_runtime(settings, sender=sender)
    try:
        assert not legacy_log.exists()
        sealer = outbox_sealer(runtime.config.secret_key)
        code_text = "[모바일 공무원증] 인증번호 / Transaction code: 739154"
        shown = f"[모바일 공무원증] 인증번호 / Transaction code: {REDACTED}"
        queue_sms(runtime, text=code_text, shown=shown, now=runtime.clock())
        errors = []
        for wait in (0, 10, 30):  # back-off 2 s, then 4 s
            with runtime.unit_of_work() as s:
                msg = deliver_one(s, sender, runtime.clock() + _secs(wait), sealer=sealer)
                errors.append(msg.last_error)
        assert errors == [
            "SMS gateway answered 503",
            "SMS gateway unreachable (ConnectTimeout)",
            None,
        ]
        with runtime.unit_of_work() as s:
            row = s.scalar(select(OutboxMessage))
            assert (row.state, row.sealed_body, row.attempts) == ("sent", None, 3)
            assert "739154" not in row.body
        sent = gateway.requests[-1]
        assert json.loads(sent.content) == {"to": "01012345678", "text": code_text, "id": row.id}
        assert sent.headers["Authorization"] == "Bearer gateway-token"
        assert sent.url == GATEWAY
        assert "739154" not in repr(vars(sender))  # nothing kept in the sender
        assert not found("739154", files_text(tmp_path))
        assert not found("739154", caplog.text)
    finally:
        runtime.close()


def _secs(n: float):
    from datetime import timedelta

    return timedelta(seconds=n)


def test_dev_sender_says_development_only(tmp_path: Path) -> None:
    shown: list[str] = []
    path = tmp_path / "data" / "dev-sms.log"
    path.parent.mkdir(mode=0o700)
    DevSmsSender(path, shown.append).send(
        OutgoingMessage(7, "sms", "01012345678", "tx_code", "Transaction code: 739154")
    )
    assert shown == [f"[{DEV_ONLY_BANNER}] SMS → 01012345678: Transaction code: 739154"]
    assert "development only" in DEV_ONLY_BANNER and "not sent" in DEV_ONLY_BANNER
    assert json.loads(path.read_text())["note"] == DEV_ONLY_BANNER
    assert path.stat().st_mode & 0o777 == 0o600
    dev = Settings(data_dir=tmp_path / "data")
    assert isinstance(message_sender(dev), DevSmsSender)
    assert message_sender(dev).path == dev.dev_sms_log_path == path
    with_gateway = Settings(sms_gateway_url="http://127.0.0.1:9/send", sms_gateway_token="t")
    assert isinstance(message_sender(with_gateway), SmsGatewaySender)
    # Outside dev it cannot be had: no gateway is refused, and so is handing it in.
    with pytest.raises(ValidationError, match="MOBILEID_SMS_GATEWAY_URL is required"):
        _prod(tmp_path, "sqlite://", sms_gateway_url=None)
    with pytest.raises(ValidationError, match="MOBILEID_SMS_GATEWAY_URL must be https"):
        _prod(tmp_path, "sqlite://", sms_gateway_url="http://sms.example.go.kr/send")
    with pytest.raises(SettingsError, match="development SMS sender"):
        open_issuer_runtime(_prod(tmp_path, "sqlite://"), sender=DevSmsSender(path))


def _one_line_error(result: Any) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    return str(lines[0])


def test_placeholder_secret_refused_outside_dev(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"MOBILEID_ENV": "prod", "MOBILEID_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "80"}
    for placeholder in (PLACEHOLDER_SECRET, "change-me", "x" * 31):
        issuer = _one_line_error(
            runner.invoke(cli, ["serve"], env=env | {"MOBILEID_SECRET_KEY": placeholder})
        )
        assert "MOBILEID_SECRET_KEY" in issuer and MAKE_ONE in issuer, issuer
        login = _one_line_error(
            runner.invoke(
                cli, ["login", "serve"], env=env | {"MOBILEID_LOGIN_SECRET_KEY": placeholder}
            )
        )
        assert "MOBILEID_LOGIN_SECRET_KEY" in login and MAKE_ONE in login, login
    no_gateway = _one_line_error(
        runner.invoke(
            cli,
            ["serve"],
            env=env
            | {"MOBILEID_SECRET_KEY": SECRET, "MOBILEID_ISSUER_BASE_URL": "https://id.go.kr"},
        )
    )
    assert "MOBILEID_SMS_GATEWAY_URL" in no_gateway, no_gateway


def test_dev_warns_loudly_about_placeholder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(uvicorn, "run", served_nothing)
    # `serve` redacts every log record of its process from then on; not of this test process.
    monkeypatch.setattr(logging, "setLogRecordFactory", lambda factory: None)
    env = {
        "MOBILEID_DATA_DIR": str(tmp_path / "data"),
        "MOBILEID_OUTBOX_CONSOLE": "false",
        "MOBILEID_LOGIN_DATA_DIR": str(tmp_path / "login"),
        "MOBILEID_LOGIN_CLIENT_ID_PREFIX": "redirect_uri",
        "COLUMNS": "200",
    }
    runner = CliRunner()
    for command, variable in (
        (["serve"], "MOBILEID_SECRET_KEY"),
        (["login", "serve"], "MOBILEID_LOGIN_SECRET_KEY"),
    ):
        started = runner.invoke(cli, command, env=env)
        assert started.exit_code == 0, started.output
        warnings = [line for line in started.output.splitlines() if "WARNING" in line]
        assert len(warnings) == 1 and variable in warnings[0], started.output
        assert "development only" in started.output and MAKE_ONE in started.output
        elsewhere = {  # keys sealed anew under the real secret
            "MOBILEID_DATA_DIR": str(tmp_path / "d2"),
            "MOBILEID_LOGIN_DATA_DIR": str(tmp_path / "l2"),
        }
        quiet = runner.invoke(cli, command, env=env | elsewhere | {variable: SECRET})
        assert quiet.exit_code == 0 and "WARNING" not in quiet.output, quiet.output
