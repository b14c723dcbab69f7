"""Test helpers for the issuer: HR records, seeding through the real CLI/services, a holder."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from PIL import Image

from vc.keys import Ed25519PrivateKey, PrivateKey
from vc.openid4vci import PRE_AUTHORIZED_GRANT, create_proof_jwt, parse_credential_offer_link

AGENCY = "1741000"  # 행정안전부
OTHER_AGENCY = "1311000"
CONFIG_ID = "KrPublicServantEmployeeId"
TOKEN_LIFETIME = timedelta(days=90)


def cli_env(database_url: str, tmp_path: Path, monkeypatch: Any) -> dict[str, str]:
    """The settings `mobileid` commands in a test read: a fresh database and data directory."""
    values = {
        "MOBILEID_DATA_DIR": str(tmp_path / "data"),
        "MOBILEID_DATABASE_URL": database_url,
        "MOBILEID_OUTBOX_CONSOLE": "false",
        "COLUMNS": "300",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def tiny_jpeg_data_uri() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (24, 32), (120, 140, 160)).save(buf, format="JPEG", quality=60)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def employee(
    number: str,
    *,
    department_code: str = "D100",
    department: str = "디지털정부과",
    name: str = "홍길동",
    **extra: Any,
) -> dict[str, Any]:
    record = {
        "employee_number": number,
        "name": name,
        "name_en": "Hong Gildong",
        "agency": "행정안전부",
        "agency_code": AGENCY,
        "department": department,
        "department_code": department_code,
        "position": "주무관",
        "grade": "6급",
        "employment_type": "general",
        "employment_status": "active",
        "retirement_date": "",
        "dispatched_to_agency_code": "",
        "phone": "010-1234-5678",
        "photo": "",
    }
    record.update(extra)
    return record


def standard_staff() -> list[dict[str, Any]]:
    """Two departments, a dispatched employee, a photo, someone on leave."""
    return [
        employee("E1001", photo=tiny_jpeg_data_uri()),
        employee("E1002", name="김철수"),
        employee("E2001", department_code="D200", department="인사과", name="이영희"),
        employee("E3001", name="박민수", dispatched_to_agency_code=OTHER_AGENCY),
        employee("E4001", name="최휴직", employment_status="휴직"),
    ] + [employee(f"E9{n:03d}", name=f"직원{n}") for n in range(12)]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_json(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"employees": rows}, ensure_ascii=False), encoding="utf-8")
    return path


@dataclass
class Tokens:
    admin: str
    head_d100: str
    head_d200: str
    officer: str
    e1001: str
    e1002: str


def seed(server: Any, tmp_path: Path) -> Tokens:
    """Import the standard staff and create tokens, through the services in one transaction."""
    from issuer.api_tokens import Role, create_api_token
    from issuer.hr.importing import HrSource, import_records, validate_records

    runtime = server.runtime
    now = runtime.clock()
    with runtime.unit_of_work() as s:
        import_records(s, validate_records(standard_staff()), source=HrSource.central, now=now)
        make = lambda role, **kw: create_api_token(  # noqa: E731
            s, role=role, now=now, lifetime=TOKEN_LIFETIME, **kw
        )[0]
        return Tokens(
            admin=make(Role.hr_admin),
            head_d100=make(Role.department_head, department_code="D100"),
            head_d200=make(Role.department_head, department_code="D200"),
            officer=make(Role.agency_officer, agency_code=OTHER_AGENCY),
            e1001=make(Role.employee, employee_number="E1001"),
            e1002=make(Role.employee, employee_number="E1002"),
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def read_sms(
    data_dir: Path, *, kind: str, count: int = 1, timeout: float = 10
) -> list[dict[str, Any]]:
    """SMS the development sender showed in `dev-sms.log` (the simulated phone)."""
    path = data_dir / "dev-sms.log"
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        # Complete lines only: the server may be in the middle of appending the next one.
        lines = text[: text.rfind("\n") + 1].splitlines()
        found = [m for m in map(json.loads, lines) if m["kind"] == kind]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


class Phone:
    """A fake SMS sender: what the employee's phone received, secrets included."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def send(self, message: Any) -> None:
        self.received.append(message)

    def last(self, kind: str) -> dict[str, Any]:
        """The newest SMS of `kind`, shaped as `read_sms` returns them."""
        return {"body": next(m.body for m in reversed(self.received) if m.kind == kind)}


def queue_sms(runtime: Any, *, text: str, shown: str, now: datetime) -> None:
    """One tx_code SMS to 010-1234-5678, queued (sealed) as an approval queues it."""
    from issuer.messages.outbox import enqueue_message, outbox_sealer

    with runtime.unit_of_work() as session:
        enqueue_message(
            session,
            channel="sms",
            recipient="01012345678",
            kind="tx_code",
            subject="employee:E1",
            text=text,
            shown=shown,
            sealer=outbox_sealer(runtime.config.secret_key),
            now=now,
        )


def tx_code_of(sms: Mapping[str, Any]) -> str:
    body = sms["body"]
    return body.split("Transaction code: ")[1][:6]


def link_of(sms: Mapping[str, Any]) -> str:
    return str(sms["body"].split("Issuance link: ")[1].split(" ")[0])


def apply_and_approve(
    client: httpx.Client,
    tokens: Tokens,
    *,
    applicant: str,
    employee_number: str | None = None,
    head: str | None = None,
    reason: str = "new",
    phone: str = "010-1234-5678",
) -> dict[str, Any]:
    body: dict[str, Any] = {"phone": phone, "reason": reason}
    if employee_number:
        body["employee_number"] = employee_number
    r = client.post("/hr/applications", json=body, headers=bearer(applicant))
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = client.post(
        f"/hr/applications/{app_id}/approve",
        json={"comment": "승인"},
        headers=bearer(head or tokens.head_d100),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


class Holder:
    """A minimal wallet speaking OpenID4VCI 1.0 to the issuer under test."""

    def __init__(self, client: httpx.Client, key: PrivateKey, clock: Any) -> None:
        self.client = client
        self.key = key
        self.clock = clock

    def offer(self, link: str) -> dict[str, Any]:
        kind, uri = parse_credential_offer_link(link)
        assert kind == "uri"
        r = self.client.get(urlsplit(uri).path)
        assert r.status_code == 200, r.text
        return dict(r.json())

    @staticmethod
    def code_of(offer: Mapping[str, Any]) -> str:
        return str(offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"])

    def token(self, code: str, tx_code: str | None) -> httpx.Response:
        form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code}
        if tx_code is not None:
            form["tx_code"] = tx_code
        return self.client.post("/token", data=form)

    def nonce(self) -> str:
        r = self.client.post("/nonce")
        assert r.status_code == 200, r.text
        return str(r.json()["c_nonce"])

    def proof(
        self,
        nonce: str | None,
        *,
        audience: str | None = None,
        iat: int | None = None,
        key: PrivateKey | None = None,
    ) -> str:
        aud = audience or str(self.client.base_url).rstrip("/")
        return create_proof_jwt(
            key or self.key, audience=aud, nonce=nonce, iat=iat or self.clock.timestamp()
        )

    def credential(self, access_token: str | None, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        return self.client.post("/credential", json=body, headers=headers)

    def request(self, proof: str) -> dict[str, Any]:
        return {"credential_configuration_id": CONFIG_ID, "proofs": {"jwt": [proof]}}

    def access_token(self, link: str, tx_code: str) -> str:
        r = self.token(self.code_of(self.offer(link)), tx_code)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def receive(self, link: str, tx_code: str) -> dict[str, Any]:
        """offer -> token -> nonce -> credential; returns the credential response."""
        access = self.access_token(link, tx_code)
        r = self.credential(access, self.request(self.proof(self.nonce())))
        assert r.status_code == 200, r.text
        return dict(r.json(), access_token=access)


def approved_offer(server: Any, tmp_path: Path) -> tuple[Holder, str, str]:
    """HR data seeded and E1001's application approved: a test holder with a fresh Ed25519
    key, the offer's pre-authorized code and its tx_code."""
    tokens = seed(server, tmp_path)
    apply_and_approve(server.client, tokens, applicant=tokens.e1001)
    link = link_of(read_sms(server.data_dir, kind="offer_link")[0])
    tx = tx_code_of(read_sms(server.data_dir, kind="tx_code")[0])
    holder = Holder(server.client, Ed25519PrivateKey.generate(), server.clock)
    return holder, holder.code_of(holder.offer(link)), tx


def onboard_wallet(server: Any, wallet: Path, pin: str) -> Path:
    """HR data seeded, E1002 applies and is approved, and `mobileid wallet accept` takes the SMS
    link and code into the wallet at `wallet`: the phone other parties' tests start from."""
    from typer.testing import CliRunner

    from mobileid.cli import app as cli

    tokens = seed(server, wallet.parent)
    apply_and_approve(server.client, tokens, applicant=tokens.e1002)
    link = link_of(read_sms(server.data_dir, kind="offer_link")[-1])
    tx = tx_code_of(read_sms(server.data_dir, kind="tx_code")[-1])
    args = ["wallet", "accept", link, "--accept-terms", "--tx-code", tx, "--pin", pin]
    result = CliRunner().invoke(cli, [*args, "--wallet", str(wallet)])
    assert result.exit_code == 0, result.output
    return wallet


def revoke_via_hr_api(server: Any, employee_number: str, *, comment: str) -> None:
    """Revoke the employee's live credential through the issuer's HR API, as HR would."""
    from issuer.api_tokens import Role, create_api_token

    with server.runtime.unit_of_work() as session:
        token, _ = create_api_token(
            session, role=Role.hr_admin, now=server.runtime.clock(), lifetime=TOKEN_LIFETIME
        )
    headers = {"Authorization": f"Bearer {token}"}
    listed = server.client.get(f"/hr/employees/{employee_number}/credentials", headers=headers)
    live = [c for c in listed.json() if c["state"] == "active"]
    assert len(live) == 1, listed.text
    r = server.client.post(
        f"/hr/credentials/{live[0]['id']}/revoke",
        headers=headers,
        json={"reason": "phone_lost", "comment": comment},
    )
    assert r.status_code == 200 and r.json()["after"] == "revoked", r.text


def offer_link_query(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)
