"""Test helpers for the credential lifecycle: issue real credentials over HTTP, read the published
status list token the way a verifier does (JWKS from the issuer, `vc.status_list`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from issuer_kit import (
    Holder,
    Tokens,
    apply_and_approve,
    bearer,
    link_of,
    read_sms,
    seed,
    tx_code_of,
)
from server_kit import bound_socket, serve_app

from vc.jws import decode_unverified
from vc.keys import Ed25519PrivateKey, PrivateKey
from vc.sd_jwt_vc import parse_jwt_vc_issuer_metadata, verify_sd_jwt_vc
from vc.status_list import StatusList, VerifiedStatusList, verify_status_list_token

STATUS_LIST_SIZE = 2**20


@dataclass(frozen=True)
class Issued:
    employee_number: str
    credential: str
    credential_id: str
    idx: int
    uri: str
    kid: str
    key: PrivateKey


class Office:
    """An HR office on a live issuer: seeded staff and tokens, issuing and checking credentials."""

    def __init__(self, server: Any, tmp_path: Path) -> None:
        self.server = server
        self.client: httpx.Client = server.client
        self.tokens: Tokens = seed(server, tmp_path)
        self.offers_seen = 0

    # -- issuing ----------------------------------------------------------------------------

    def issue(self, employee_number: str) -> Issued:
        """File (as HR, to the phone on record) an application, approve it (as the employee's
        department head: nobody approves their own filing), accept the offer from the SMS."""
        apply_and_approve(
            self.client,
            self.tokens,
            applicant=self.tokens.admin,
            employee_number=employee_number,
            head=self.head_of(employee_number),
        )
        return self.accept_offer(employee_number)

    def head_of(self, employee_number: str) -> str:
        """The token of the employee's department head (D100 or D200)."""
        r = self.client.get(f"/hr/employees/{employee_number}", headers=bearer(self.tokens.admin))
        assert r.status_code == 200, r.text
        heads = {"D100": self.tokens.head_d100, "D200": self.tokens.head_d200}
        return heads[r.json()["department_code"]]

    def accept_offer(self, employee_number: str) -> Issued:
        """Accept the next offer SMS (reissue, HR change or a fresh application)."""
        self.offers_seen += 1
        n = self.offers_seen
        link = link_of(read_sms(self.server.data_dir, kind="offer_link", count=n)[n - 1])
        tx = tx_code_of(read_sms(self.server.data_dir, kind="tx_code", count=n)[n - 1])
        key = Ed25519PrivateKey.generate()
        reply = Holder(self.client, key, self.server.clock).receive(link, tx)
        credential = reply["credentials"][0]["credential"]
        header, payload, _, _ = decode_unverified(credential.split("~")[0])
        ref = payload["status"]["status_list"]
        row = next(c for c in self.credentials(employee_number) if c["status_idx"] == ref["idx"])
        return Issued(
            employee_number, credential, row["id"], ref["idx"], ref["uri"], header["kid"], key
        )

    def pending_offers(self) -> int:
        return len(read_sms(self.server.data_dir, kind="offer_link", count=10**6, timeout=0.5))

    # -- HR API -----------------------------------------------------------------------------

    def credentials(self, employee_number: str) -> list[dict[str, Any]]:
        r = self.client.get(
            f"/hr/employees/{employee_number}/credentials", headers=bearer(self.tokens.admin)
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    def state_of(self, issued: Issued) -> str:
        return next(
            c["state"]
            for c in self.credentials(issued.employee_number)
            if c["id"] == issued.credential_id
        )

    def act(
        self, verb: str, issued: Issued | str, reason: str, token: str | None = None, **extra: Any
    ) -> httpx.Response:
        cid = issued.credential_id if isinstance(issued, Issued) else issued
        return self.client.post(
            f"/hr/credentials/{cid}/{verb}",
            json={"reason": reason, **extra},
            headers=bearer(token or self.tokens.admin),
        )

    # -- what verifiers see -----------------------------------------------------------------

    def issuer_keys(self) -> dict[str, Any]:
        doc = self.client.get("/.well-known/jwt-vc-issuer").json()
        return parse_jwt_vc_issuer_metadata(doc, self.server.url)

    def verify(self, issued: Issued) -> dict[str, Any]:
        """Verify a credential as a verifier would, with the issuer's currently published keys."""
        keys = self.issuer_keys()
        verified = verify_sd_jwt_vc(
            issued.credential,
            issuer_key=lambda h, p: keys[h["kid"]],
            algorithms=["EdDSA", "ES256"],
            key_binding=False,
            vct_values=[f"{self.server.url}/types/employee-id/v1"],
            now=self.server.clock.timestamp(),
        )
        return dict(verified.claims)

    def fetch(self, uri: str, **headers: str) -> httpx.Response:
        return self.client.get(urlsplit(uri).path, headers=headers)

    def published(self, uri: str) -> VerifiedStatusList:
        """The Status List Token at `uri`, verified with the JWKS (typ, signature, sub, exp)."""
        r = self.fetch(uri, Accept="application/statuslist+jwt")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/statuslist+jwt"
        keys = self.issuer_keys()
        header = decode_unverified(r.text)[0]
        return verify_status_list_token(
            r.text,
            keys[header["kid"]],
            uri=uri,
            algorithms=["EdDSA", "ES256"],
            now=self.server.clock.timestamp(),
        )

    def assert_published(self, uri: str, expected: dict[int, int]) -> VerifiedStatusList:
        """The published list holds exactly `expected` (index -> status); every other is VALID."""
        published = self.published(uri)
        assert published.status_list.size == STATUS_LIST_SIZE
        for idx, value in expected.items():
            assert published.status(idx) == value, (idx, value, published.status(idx))
        want = StatusList(STATUS_LIST_SIZE, 2)
        for idx, value in expected.items():
            want.set(idx, value)
        assert published.status_list.to_bytes() == want.to_bytes(), "other indices changed"
        return published


class Clock:
    """Real time plus an offset tests may advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def timestamp(self) -> int:
        return int(self().timestamp())

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class RunningIssuer:
    """What `Office` needs of a server (the same shape as the `live_server` fixture)."""

    url: str
    data_dir: Path
    env: dict[str, str]
    clock: Clock
    app: Any
    client: httpx.Client

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@contextmanager
def run_issuer(env: dict[str, str], port: int) -> Iterator[RunningIssuer]:
    """Start the issuer app (start-up rebuild included) on `port`; the caller set `env`."""
    from mobileid.app import create_app
    from mobileid.settings import get_settings

    clock = Clock()
    app = create_app(get_settings(), clock=clock)
    with serve(app, bound_socket(port)) as client:
        yield RunningIssuer(
            str(client.base_url).rstrip("/"),
            Path(env["MOBILEID_DATA_DIR"]),
            env,
            clock,
            app,
            client,
        )


@contextmanager
def serve(app: Any, sock: socket.socket | None = None) -> Iterator[httpx.Client]:
    """Run an ASGI app with uvicorn on 127.0.0.1 in a thread; a client for it."""
    with (
        serve_app(app, sock) as served,
        httpx.Client(base_url=served.url, timeout=30) as client,
    ):
        yield client
