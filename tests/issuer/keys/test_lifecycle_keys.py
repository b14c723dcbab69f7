"""Issuer key rotation (`mobileid issuer rotate-key`) and key compromise (`--compromised KID`).

The CLI runs as another process would (its own runtime on the live server's database); the
server follows the keys table within about a second, so checks of its JWKS wait for that.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lifecycle_kit import Office
from sqlalchemy import select
from typer.testing import CliRunner

from issuer.models import AuditEntry, Credential, SigningKeyRecord
from mobileid.cli import app as cli
from vc.jws import decode_unverified
from vc.status_list import INVALID, SUSPENDED


def _cli(server, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=server.env)
    assert result.exit_code == 0, result.output
    return result.output


def _jwks_kids(office: Office) -> set[str]:
    return set(office.issuer_keys())


def _followed(office: Office, done: Callable[[set[str]], bool]) -> set[str]:
    """The server's JWKS kids once it has followed a key change made by the CLI."""
    deadline = time.monotonic() + 20
    while not done(kids := _jwks_kids(office)):
        assert time.monotonic() < deadline, f"the server did not follow the key change: {kids}"
        time.sleep(0.05)
    return kids


def _token_kid(office: Office, uri: str) -> str:
    return str(decode_unverified(office.fetch(uri).text)[0]["kid"])


def test_rotation_keeps_old_credentials_verifiable(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    old = office.issue("E1001")
    kid1 = old.kid
    assert _jwks_kids(office) == {kid1} and _token_kid(office, old.uri) == kid1

    out = _cli(live_server, "issuer", "rotate-key")
    assert "new signing key" in out and kid1 in out
    kids = _followed(office, lambda k: len(k) == 2)
    assert kid1 in kids  # the new key is published before it signs anything
    (kid2,) = kids - {kid1}

    new = office.issue("E1002")
    assert new.kid == kid2
    assert office.verify(old)["employee_number"] == "E1001"  # old credential still verifies
    assert office.verify(new)["employee_number"] == "E1002"
    assert office.act("revoke", new, "app_deleted").status_code == 200
    assert _token_kid(office, old.uri) == kid2
    office.assert_published(old.uri, {new.idx: INVALID})

    # ES256 from the next rotation on; both earlier keys stay published
    _cli(live_server, "issuer", "rotate-key", "--alg", "ES256")
    _followed(office, lambda k: len(k) == 3)
    p256 = office.issue("E9000")
    assert decode_unverified(p256.credential.split("~")[0])[0]["alg"] == "ES256"
    assert {kid1, kid2, p256.kid} == _jwks_kids(office)
    assert office.verify(old) and office.verify(p256)
    info = _cli(live_server, "issuer", "info")
    assert all(k[:12] in info for k in (kid1, kid2, p256.kid))

    # once every credential a retired-from-signing key signed has expired (plus a day), it
    # leaves the JWKS; the signing key always stays
    with live_server.runtime.unit_of_work() as s:
        last = max(s.scalars(select(Credential.expires_at).where(Credential.kid == kid1)))
    live_server.clock.advance((last - live_server.clock()).total_seconds() - 3600)
    assert _jwks_kids(office) == {kid1, kid2, p256.kid}
    live_server.clock.advance(3600 + 2 * 86400)
    assert _jwks_kids(office) == {p256.kid}
    with live_server.runtime.unit_of_work() as s:
        rotations = s.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "issuer.rotate_key")
        ).all()
    assert len(rotations) == 2 and json.loads(rotations[0])["previous_kid"] == kid1


def test_compromise_revokes_exactly_what_the_key_signed(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    a, b, d = (office.issue(n) for n in ("E1001", "E1002", "E9001"))
    kid1 = a.kid
    assert office.act("suspend", b, "investigation").status_code == 200
    assert office.act("revoke", d, "phone_lost").status_code == 200
    assert _token_kid(office, a.uri) == kid1
    offers_before = office.pending_offers()

    out = _cli(live_server, "issuer", "rotate-key", "--compromised", kid1)
    assert "2 credential(s) revoked, 1 reissue offer(s) queued" in " ".join(out.split())
    kids = _followed(office, lambda k: kid1 not in k)
    assert len(kids) == 1
    (kid2,) = kids
    with pytest.raises(KeyError):
        office.verify(a)  # a verifier with the current JWKS no longer trusts kid1
    assert _token_kid(office, a.uri) == kid2  # the status list is re-signed too
    office.assert_published(a.uri, {a.idx: INVALID, b.idx: INVALID, d.idx: INVALID})
    reasons = {
        c["id"]: (c["state"], c["revocation_reason"])
        for n in ("E1001", "E1002", "E9001")
        for c in office.credentials(n)
    }
    assert reasons == {
        a.credential_id: ("revoked", "key_compromise"),
        b.credential_id: ("revoked", "key_compromise"),
        d.credential_id: ("revoked", "phone_lost"),
    }

    # the active holder got a reissue offer; the suspended one did not
    assert office.pending_offers() == offers_before + 1
    c = office.accept_offer("E1001")
    assert c.kid == kid2 and office.verify(c)["employee_number"] == "E1001"

    # an older, non-signing key compromised: exactly its credentials, no new key
    _cli(live_server, "issuer", "rotate-key")
    (kid3,) = _followed(office, lambda k: len(k) == 2) - {kid2}
    e = office.issue("E9002")
    assert e.kid == kid3
    out = _cli(live_server, "issuer", "rotate-key", "--compromised", kid2)
    assert "1 credential(s) revoked" in " ".join(out.split())
    assert "new signing key" not in out
    assert _followed(office, lambda k: kid2 not in k) == {kid3}
    office.assert_published(a.uri, {a.idx: INVALID, b.idx: INVALID, d.idx: INVALID, c.idx: INVALID})
    assert office.state_of(e) == "active" and office.verify(e)

    # compromising it again changes nothing; an unknown kid is refused
    out = _cli(live_server, "issuer", "rotate-key", "--compromised", kid2)
    assert "0 credential(s) revoked" in " ".join(out.split())
    unknown = CliRunner().invoke(
        cli, ["issuer", "rotate-key", "--compromised", "nope"], env=live_server.env
    )
    assert unknown.exit_code == 1 and "signing_key_not_found" in unknown.output
    with live_server.runtime.unit_of_work() as s:
        retired = s.scalars(
            select(AuditEntry.subject).where(AuditEntry.action == "issuer.retire_key")
        ).all()
    assert retired == [f"kid:{kid1}", f"kid:{kid2}", f"kid:{kid2}"]


def test_suspended_list_entries_survive_a_rotation(live_server, tmp_path: Path) -> None:
    office = Office(live_server, tmp_path)
    a = office.issue("E1001")
    assert office.act("suspend", a, "leave_of_absence").status_code == 200
    _cli(live_server, "issuer", "rotate-key")
    office.assert_published(a.uri, {a.idx: SUSPENDED})
    assert office.act("reinstate", a, "leave_ended").status_code == 200
    office.assert_published(a.uri, {})


def test_new_key_published_ahead_of_signing(live_server, tmp_path: Path) -> None:
    """`--activate-after`: verifiers that cache the JWKS see the new key before it signs."""
    office = Office(live_server, tmp_path)
    first = office.issue("E1001")
    kid1 = first.kid
    out = _cli(live_server, "issuer", "rotate-key", "--activate-after", "3600")
    assert "signs from" in out
    kids = _followed(office, lambda k: len(k) == 2)
    (kid2,) = kids - {kid1}
    info = " ".join(_cli(live_server, "issuer", "info").split())
    assert "published, signs from" in info and "signing" in info
    still_old = office.issue("E1002")
    assert still_old.kid == kid1  # the old key signs until the switch
    live_server.clock.advance(3601)
    switched = office.issue("E9000")
    assert switched.kid == kid2
    assert office.verify(first) and office.verify(still_old) and office.verify(switched)
    # the old key stays published until a credential issued at the switch has expired
    live_server.clock.advance(3 * 365 * 86400 - 7200)
    assert kid1 in _jwks_kids(office)


@pytest.mark.parametrize("args", [["--alg", "RS256"], ["--activate-after", "-5"]])
def test_rotate_key_refuses_bad_options(live_server, args: list[str]) -> None:
    def stored() -> list[str]:
        with live_server.runtime.unit_of_work() as s:
            return list(s.scalars(select(SigningKeyRecord.kid)))

    before = stored()
    result = CliRunner().invoke(cli, ["issuer", "rotate-key", *args], env=live_server.env)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert stored() == before and len(before) == 1
