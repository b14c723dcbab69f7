"""The outbox sends only what this issuer sealed, written as the attacks of someone who can write
the database but lacks MOBILEID_SECRET_KEY: redirecting a waiting SMS to their own phone, or
slipping in an SMS of their own (a phishing text from the official sender), sends nothing; the
readable SMS of an earlier release are redacted by the migration and never sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from issuer_kit import Phone, queue_sms
from sqlalchemy import insert, select, update

from issuer.messages.outbox import REDACTED, deliver_one, outbox_sealer
from issuer.migrate import upgrade_database
from issuer.models import OutboxMessage
from mobileid.db import create_db_engine
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import get_settings


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Any:
    rt = open_issuer_runtime(
        get_settings(data_dir=tmp_path / "data", database_url=database_url), sender=Phone()
    )
    yield rt
    rt.close()


def _deliver(rt: Any) -> OutboxMessage:
    with rt.unit_of_work() as s:
        sealer = outbox_sealer(rt.config.secret_key)
        msg = deliver_one(s, rt.sender, datetime.now(UTC), sealer=sealer)
        assert msg is not None
        return msg


def test_a_redirected_or_planted_sms_is_never_sent(runtime: Any) -> None:
    now = datetime.now(UTC)
    queue_sms(runtime, text="Transaction code: 739154", shown=f"code {REDACTED}", now=now)
    with runtime.engine.begin() as conn:
        conn.execute(update(OutboxMessage).values(recipient="01099998888"))  # the attacker's
        conn.execute(
            insert(OutboxMessage).values(
                channel="sms",
                recipient="01012345678",
                kind="offer_link",
                subject="employee:E1",
                body="[모바일 공무원증] 재발급 / reissue: https://phish.example/login",
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    redirected, planted = _deliver(runtime), _deliver(runtime)
    assert (redirected.state, redirected.sealed_body is not None) == ("pending", True)
    assert "does not open" in redirected.last_error
    assert (planted.state, planted.last_error.startswith("no sealed text")) == ("refused", True)
    assert runtime.sender.received == []


def test_sms_of_an_earlier_release_are_redacted_and_never_sent(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_db_engine(database_url)
    upgrade_database(engine, "0005")
    now = datetime.now(UTC)
    legacy = {
        "channel": "sms",
        "recipient": "01012345678",
        "subject": "employee:E1",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    with engine.begin() as conn:  # as that release left them: readable, sent or not
        for kind, body, state in (
            ("offer_link", "Issuance link: openid-credential-offer://?x=REF-4u8Zq", "sent"),
            ("tx_code", "Transaction code: 739154", "pending"),
        ):
            conn.execute(insert(OutboxMessage).values(kind=kind, body=body, state=state, **legacy))
    engine.dispose()
    runtime = open_issuer_runtime(
        get_settings(data_dir=tmp_path / "data", database_url=database_url), sender=Phone()
    )
    try:
        with runtime.unit_of_work() as s:
            bodies = s.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id)).all()
        assert not any("REF-4u8Zq" in b or "739154" in b for b in bodies), bodies
        assert _deliver(runtime).state == "refused"
        assert runtime.sender.received == []
    finally:
        runtime.close()
