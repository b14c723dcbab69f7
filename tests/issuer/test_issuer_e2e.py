"""End to end over real HTTP: CLI import and tokens, apply, approve, SMS, OpenID4VCI, verify."""

from __future__ import annotations

from pathlib import Path

from issuer_kit import (
    Holder,
    apply_and_approve,
    bearer,
    link_of,
    read_sms,
    seed,
    standard_staff,
    tx_code_of,
    write_csv,
)
from sqlalchemy import select
from typer.testing import CliRunner

from issuer.models import Application, Credential, StatusListRecord
from mobileid.cli import app as cli
from schemas.employee_id import PURPOSES, EmployeeIdClaims, Purpose
from vc.keys import Ed25519PrivateKey, P256PrivateKey
from vc.sd_jwt_vc import parse_jwt_vc_issuer_metadata, verify_sd_jwt_vc
from vc.status_list import VALID


def _issuer_keys(server):
    doc = server.client.get("/.well-known/jwt-vc-issuer").json()
    return parse_jwt_vc_issuer_metadata(doc, server.url)


def _verify(server, credential: str):
    keys = _issuer_keys(server)
    return verify_sd_jwt_vc(
        credential,
        issuer_key=lambda h, p: keys[h["kid"]],
        algorithms=["EdDSA", "ES256"],
        key_binding=False,
        vct_values=[f"{server.url}/types/employee-id/v1"],
        now=server.clock.timestamp(),
    )


def test_full_flow_via_cli_and_http(live_server, tmp_path: Path) -> None:
    server = live_server
    runner = CliRunner()
    hr_file = write_csv(tmp_path / "hr.csv", standard_staff())
    result = runner.invoke(
        cli, ["hr", "import", str(hr_file), "--source", "central"], env=server.env
    )
    assert result.exit_code == 0, result.output
    assert "created 17" in result.output.replace("[bold]", "")

    def token(*args: str) -> str:
        r = runner.invoke(cli, ["admin", "create-token", *args], env=server.env)
        assert r.exit_code == 0, r.output
        return r.output.strip().splitlines()[-1]

    employee_token = token("--role", "employee", "--employee", "E1001")
    head_token = token("--role", "department_head", "--department", "D100")

    r = server.client.post(
        "/hr/applications",
        json={"phone": "010-2222-3333", "reason": "new"},
        headers=bearer(employee_token),
    )
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert r.json()["phone"] == "010-****-3333"
    r = server.client.post(
        f"/hr/applications/{app_id}/approve", json={"comment": "확인"}, headers=bearer(head_token)
    )
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert r.json()["offer"]["state"] == "active"

    link_sms = read_sms(server.data_dir, kind="offer_link")[0]
    code_sms = read_sms(server.data_dir, kind="tx_code")[0]
    assert link_sms["to"] == code_sms["to"] == "01022223333"
    link = link_of(link_sms)
    assert link.startswith("openid-credential-offer://?credential_offer_uri=")
    tx_code = tx_code_of(code_sms)
    assert tx_code.isdigit() and len(tx_code) == 6
    assert tx_code not in link_sms["body"]

    holder = Holder(server.client, Ed25519PrivateKey.generate(), server.clock)
    offer = holder.offer(link)
    assert offer["credential_issuer"] == server.url
    assert (
        offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["length"]
        == 6
    )
    response = holder.receive(link, tx_code)
    credential = response["credentials"][0]["credential"]

    verified = _verify(server, credential)
    claims = verified.claims
    assert claims["iss"] == server.url
    assert claims["cnf"]["jwk"] == holder.key.public_key.to_jwk()
    assert claims["employee_number"] == "E1001" and claims["name"] == "홍길동"
    assert claims["active_public_servant_of"] == "1741000"
    assert claims["photo"].startswith("data:image/jpeg;base64,")
    EmployeeIdClaims.model_validate(
        {k: v for k, v in claims.items() if k in EmployeeIdClaims.model_fields}
    )
    disclosed = {d.name for d in verified.disclosures}
    assert PURPOSES[Purpose.identity] <= disclosed
    assert {"iss", "exp", "cnf", "vct", "status"}.isdisjoint(disclosed)
    ref = claims["status"]["status_list"]

    with server.runtime.unit_of_work() as s:
        row = s.scalars(select(Credential)).one()
        status_list = s.get(StatusListRecord, row.status_list_id)
        assert (row.status_idx, status_list.uri) == (ref["idx"], ref["uri"])
        assert status_list.bits == 2 and row.state == "active"
        assert row.holder_jkt == holder.key.public_key.thumbprint()
        assert s.get(Application, app_id).state == "issued"
        assert row.kid == server.runtime.keyring.active.kid
    assert VALID == 0

    r = server.client.post(
        "/notification",
        json={"notification_id": response["notification_id"], "event": "credential_accepted"},
        headers=bearer(response["access_token"]),
    )
    assert r.status_code == 204

    wide = dict(server.env, COLUMNS="400")
    listing = runner.invoke(cli, ["outbox", "list"], env=wide)
    assert listing.exit_code == 0 and "offer_link" in listing.output
    assert tx_code in listing.output  # development shows the SMS in full; production does not
    assert "development only" in listing.output
    audit = runner.invoke(cli, ["audit", "verify"], env=server.env)
    assert audit.exit_code == 0, audit.output
    log_text = runner.invoke(cli, ["audit", "list", "--limit", "1000"], env=wide).output
    assert "credential.issue" in log_text and "application.approve" in log_text
    assert tx_code not in log_text and credential[:40] not in log_text
    assert Holder.code_of(offer) not in log_text


def test_reissue_with_p256_holder_revokes_previous(live_server, tmp_path: Path) -> None:
    server = live_server
    tokens = seed(server, tmp_path)
    issued = []
    for key in (Ed25519PrivateKey.generate(), P256PrivateKey.generate()):
        apply_and_approve(
            server.client, tokens, applicant=tokens.e1002, reason="reissue" if issued else "new"
        )
        n = len(issued) + 1
        link = link_of(read_sms(server.data_dir, kind="offer_link", count=n)[-1])
        tx = tx_code_of(read_sms(server.data_dir, kind="tx_code", count=n)[-1])
        cred = Holder(server.client, key, server.clock).receive(link, tx)["credentials"][0]
        verified = _verify(server, cred["credential"])
        assert verified.claims["cnf"]["jwk"] == key.public_key.to_jwk()
        issued.append(verified.claims["status"]["status_list"]["idx"])
    with server.runtime.unit_of_work() as s:
        rows = s.scalars(select(Credential).order_by(Credential.issued_at)).all()
        assert [r.state for r in rows] == ["revoked", "active"]
        assert rows[0].revocation_reason == "superseded"
        assert [r.status_idx for r in rows] == issued and issued[0] != issued[1]


def test_discovery_documents(live_server) -> None:
    server = live_server
    meta = server.client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == server.url
    assert meta["credential_endpoint"] == server.url + "/credential"
    assert meta["nonce_endpoint"] == server.url + "/nonce"
    conf = meta["credential_configurations_supported"]["KrPublicServantEmployeeId"]
    assert conf["format"] == "dc+sd-jwt"
    assert conf["vct"] == server.url + "/types/employee-id/v1"
    assert conf["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == [
        "EdDSA",
        "ES256",
    ]
    assert {d["locale"] for d in conf["credential_metadata"]["display"]} == {"ko-KR", "en-US"}
    assert "authorization_servers" not in meta
    as_meta = server.client.get("/.well-known/oauth-authorization-server").json()
    assert as_meta["issuer"] == server.url and as_meta["token_endpoint"] == server.url + "/token"
    assert as_meta["pre-authorized_grant_anonymous_access_supported"] is True
    type_meta = server.client.get("/types/employee-id/v1").json()
    assert type_meta["vct"] == conf["vct"]
    labels = {c["path"][0]: {d["locale"] for d in c["display"]} for c in type_meta["claims"]}
    assert all(v == {"ko-KR", "en-US"} for v in labels.values()) and "photo" in labels
    schema = server.client.get("/types/employee-id/v1/schema.json").json()
    assert "employee_number" in schema["required"]
    keys = _issuer_keys(server)
    assert list(keys) == [server.runtime.keyring.active.kid]
    nonce = server.client.post("/nonce")
    assert nonce.headers["cache-control"] == "no-store"
    assert len(nonce.json()["c_nonce"]) >= 22
    assert server.client.get("/openapi.json").status_code == 200
    assert not (server.data_dir / "issuer_keys").exists()  # keys live in the database, sealed
