"""Open the issuer's runtime from settings: data directory, database (migrated), signing keys
(in the database, sealed with MOBILEID_SECRET_KEY; `issuer.keys.store`).

Shared by `create_app` and the CLI so both start the same way; nothing happens at import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from issuer.audit import AuditKey, bind_audit_key
from issuer.config import IssuerConfig
from issuer.keys.signing import IssuerKeyring, signing_key_sealer
from issuer.keys.store import KeyStore, open_key_store
from issuer.messages.outbox import MessageSender, forget_sent_texts
from issuer.messages.sms import DevSmsSender, SmsGatewaySender
from issuer.migrate import upgrade_database
from issuer.status.publication import StatusListPublisher
from mobileid.db import SessionFactory, create_db_engine, make_session_factory, transaction
from mobileid.settings import Settings, SettingsError
from vc.private_files import ensure_private_dir

__all__ = ["IssuerRuntime", "issuer_config", "message_sender", "open_issuer_runtime", "utc_now"]

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def issuer_config(settings: Settings) -> IssuerConfig:
    """The issuer's plain config from the assembly's settings."""
    return IssuerConfig(
        base_url=settings.issuer_base_url,
        secret_key=settings.secret_key.get_secret_value().encode("utf-8"),
        credential_lifetime_s=settings.credential_lifetime_days * 86400,
        offer_lifetime_s=settings.offer_lifetime_hours * 3600,
        access_token_lifetime_s=settings.access_token_lifetime_s,
        dpop_required=settings.dpop_required,
        c_nonce_lifetime_s=settings.c_nonce_lifetime_s,
        tx_code_max_attempts=settings.tx_code_max_attempts,
        status_list_size=settings.status_list_size,
        status_list_ttl_s=settings.status_list_ttl_s,
        status_list_token_lifetime_s=settings.status_list_token_lifetime_s,
    )


@dataclass(slots=True)
class IssuerRuntime:
    settings: Settings
    config: IssuerConfig
    engine: Engine
    sessions: SessionFactory
    keys: KeyStore
    status: StatusListPublisher
    sender: MessageSender
    clock: Callable[[], datetime]

    @property
    def keyring(self) -> IssuerKeyring:
        """The signing keys as of now (follows `mobileid issuer rotate-key`)."""
        return self.keys.current()

    def unit_of_work(self) -> AbstractContextManager[Session]:
        return transaction(self.sessions)

    def close(self) -> None:
        self.keys.stop()
        self.engine.dispose()


def _console_echo(console: Console) -> Callable[[str], None]:
    def echo(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    return echo


def open_issuer_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    sender: MessageSender | None = None,
    migrate: bool = True,
) -> IssuerRuntime:
    """Create the data directory, migrate the database, open (or create) the signing keys."""
    ensure_private_dir(settings.data_dir)
    if settings.env != "dev":
        if isinstance(sender, DevSmsSender):
            raise SettingsError("the development SMS sender is refused outside dev")
        _remove_legacy_outbox_log(settings)
    config = issuer_config(settings)
    engine = create_db_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    bind_audit_key(sessions, AuditKey(config.secret_key))
    try:
        if migrate:
            upgrade_database(engine)
        if settings.env != "dev":
            _forget_development_sms(sessions)
        keys = open_key_store(
            partial(transaction, sessions),
            signing_key_sealer(config.secret_key),
            alg=settings.signing_alg,
            now=clock(),
            legacy_dir=settings.keys_dir,
        )
    except BaseException:
        engine.dispose()
        raise
    return IssuerRuntime(
        settings,
        config,
        engine,
        sessions,
        keys,
        StatusListPublisher(config),
        sender or message_sender(settings),
        clock,
    )


def message_sender(settings: Settings) -> MessageSender:
    """The SMS gateway when one is configured, as it must be outside dev; in dev without one,
    the development sender, which shows each SMS and sends nothing."""
    if settings.sms_gateway_url is not None and settings.sms_gateway_token is not None:
        return SmsGatewaySender(
            settings.sms_gateway_url,
            settings.sms_gateway_token.get_secret_value(),
            timeout_s=settings.sms_gateway_timeout_s,
        )
    if settings.env != "dev":  # the settings refuse this already; never fall back to showing
        raise SettingsError("MOBILEID_SMS_GATEWAY_URL is required outside dev")
    console = _console_echo(Console(stderr=True)) if settings.outbox_console else None
    return DevSmsSender(settings.dev_sms_log_path, console)


def _forget_development_sms(sessions: SessionFactory) -> None:
    """Development keeps the text of sent SMS (sealed) for `mobileid outbox`; production keeps
    none, so a database that served in development loses them at its first production start."""
    with transaction(sessions) as session:
        dropped = forget_sent_texts(session)
    if dropped:
        log.warning("dropped the kept text of %s SMS sent in development", dropped)


def _remove_legacy_outbox_log(settings: Settings) -> None:
    """An earlier release logged every SMS, offer links and tx_codes included, to a file in the
    data directory; outside dev it goes at the first start (the outbox keeps what was sent,
    redacted)."""
    path = settings.legacy_outbox_log_path
    if path.is_file():
        path.unlink()
        log.warning("removed %s: it held the SMS of an earlier release, secrets included", path)
