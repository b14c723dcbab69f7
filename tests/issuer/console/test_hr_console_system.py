"""The issuer's pages for HR administrators: the SMS outbox shows delivery state and never a
text, code or link; status lists; key rotation after a confirmation; the audit log filtered
and its chain verified (OK, then the first broken entry after tampering)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hr_console_kit import admin, csrf_of, hr_desk
from issuer_kit import link_of, read_sms, tx_code_of
from sqlalchemy import text

from issuer.models import AuditEntry


@pytest.fixture
def desk(server_env, monkeypatch, tmp_path: Path):
    with hr_desk(server_env, monkeypatch, tmp_path) as desk:
        yield desk


def test_outbox_shows_delivery_state_and_no_secret(desk) -> None:
    issued = desk.office.issue("E1001")
    link = link_of(read_sms(desk.server.data_dir, kind="offer_link")[0])
    code = tx_code_of(read_sms(desk.server.data_dir, kind="tx_code")[0])
    desk.sign_in(admin())
    page = desk.client.get("/console/hr/outbox")
    assert page.status_code == 200
    assert "010-****-5678" in page.text and "01012345678" not in page.text
    assert "employee:E1001" in page.text and "sent" in page.text
    offer_ref = link.rsplit("%2F", 1)[-1].rsplit("/", 1)[-1]
    assert len(offer_ref) >= 16, link
    for secret in (link, offer_ref, code):
        assert secret not in page.text, secret
    assert issued.credential_id not in page.text
    assert desk.client.get("/console/hr/outbox", params={"state": "pending"}).status_code == 200


def test_status_lists_page(desk) -> None:
    issued = desk.office.issue("E1001")
    desk.sign_in(admin())
    page = desk.client.get("/console/hr/status-lists")
    assert page.status_code == 200
    assert issued.uri in page.text and "<td>1048576</td><td>1</td><td>0</td><td>0</td>" in page.text


def test_key_rotation_needs_confirmation_and_is_audited(desk) -> None:
    desk.sign_in(admin("A9"))
    before = desk.client.get("/console/hr/keys")
    old_kid = desk.server.runtime.keyring.active.kid
    assert old_kid in before.text
    page = desk.client.get("/console/hr/keys/rotate")
    token = csrf_of(page)
    unconfirmed = desk.client.post(
        "/console/hr/keys/rotate", data={"csrf_token": token, "alg": "EdDSA"}
    )
    assert unconfirmed.status_code == 400
    assert desk.server.runtime.keyring.active.kid == old_kid
    done = desk.client.post(
        "/console/hr/keys/rotate",
        data={"csrf_token": token, "alg": "ES256", "confirmed": "yes"},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Rotated" in done.text
    new = desk.server.app.state.issuer.keyring.signing_key(desk.server.clock().timestamp())
    assert new.kid != old_kid and new.alg == "ES256" and new.kid in done.text
    audit = desk.client.get("/console/hr/audit", params={"action": "issuer.rotate_key"}).text
    assert "console:A9" in audit and new.kid[:20] in audit


def test_audit_log_filters_pages_and_verifies_the_chain(desk) -> None:
    desk.office.issue("E1001")
    desk.sign_in(admin())
    by_employee = desk.client.get("/console/hr/audit", params={"employee": "E1001"}).text
    assert "application.approve" in by_employee and "token.create" not in by_employee
    by_prefix = desk.client.get("/console/hr/audit", params={"action": "token."}).text
    assert "token.create" in by_prefix and "application.approve" not in by_prefix
    token = csrf_of(desk.client.get("/console/hr/audit"))
    ok = desk.client.post("/console/hr/audit/verify", data={"csrf_token": token})
    assert ok.status_code == 200 and "verify-ok" in ok.text

    with desk.server.runtime.engine.begin() as conn:  # what a database owner can do
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER issuer_audit_log_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE issuer_audit_log DISABLE TRIGGER USER")
        conn.execute(
            text(f"UPDATE {AuditEntry.__tablename__} SET actor = 'someone else' WHERE seq = 3")
        )
    broken = desk.client.post("/console/hr/audit/verify", data={"csrf_token": token})
    assert broken.status_code == 409 and "verify-broken" in broken.text
    assert "#3" in broken.text and "entry content changed" in broken.text
    forged = desk.client.post("/console/hr/audit/verify", data={"csrf_token": "x"})
    assert forged.status_code == 403
