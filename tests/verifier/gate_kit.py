"""Test kit for the verifier: a clock, an issuer double on real HTTP, gates, presentations.

The issuer double is built from `vc` primitives only (keys, SD-JWT VC issuance, status list
tokens) and serves exactly the issuer's public contract: `/.well-known/jwt-vc-issuer`, status
lists at the credential's `uri` with ETag/304, and their aggregation (RFC 8414 metadata naming
`status_list_aggregation_endpoint`), so every gate test runs over real HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from server_kit import Served, bound_socket, serve_app

from schemas.employee_id import DISCLOSABLE, PURPOSES, Purpose, employee_vct
from vc.base64url import b64url_encode
from vc.keys import Ed25519PrivateKey, PrivateKey
from vc.sd_jwt import present
from vc.sd_jwt_vc import issue_sd_jwt_vc, jwt_vc_issuer_metadata, status_reference
from vc.status_list import STATUS_LIST_MEDIA_TYPE, StatusList, sign_status_list_token
from verifier.fetch import new_http_client
from verifier.gate.service import GateService, build_gate
from verifier.gate.store import records_since
from verifier.policy import GatePolicy, parse_gate_policy

OPEN_SERVICES: list[Any] = []
"""Gates built by `make_gate`, closed by the autouse fixture in conftest after every test."""

AGENCY = "1741000"
OTHER_AGENCY = "1311000"


@dataclass
class Clock:
    """Epoch seconds: real time plus an offset tests advance."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


serve, free_socket = serve_app, bound_socket
"""The servers' plumbing (`server_kit`) under the names the verifier and login tests use."""


WAIT_S = 20.0
"""How long a test waits for what takes about a second (a wait, never a timing assertion)."""


def wait_until(check: Any, what: str) -> Any:
    """`check()`'s first truthy answer, polled every 50 ms; fails after `WAIT_S`."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def employee_claims(number: str = "E1001", agency: str = AGENCY) -> dict[str, Any]:
    return {
        "employee_number": number,
        "name": "홍길동",
        "name_en": "HONG Gildong",
        "agency": "행정안전부",
        "agency_code": agency,
        "department": "디지털정부과",
        "position": "주무관",
        "grade": "6급",
        "employment_type": "general",
        "active_public_servant_of": agency,
        "opaque_id": b64url_encode(secrets.token_bytes(16)),
    }


@dataclass
class IssuerDouble:
    """Issues employee credentials and serves its metadata and one 2-bit status list."""

    clock: Clock
    key: PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    ttl: int = 60
    url: str = "http://127.0.0.1:0"
    size: int = 4096
    fetches: int = 0
    not_modified: int = 0
    next_idx: int = 0
    status_list: StatusList = field(init=False)
    token: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.status_list = StatusList(self.size, bits=2)

    @property
    def kid(self) -> str:
        return self.key.public_key.thumbprint()

    @property
    def status_uri(self) -> str:
        return self.url + "/status-lists/1"

    def publish(self) -> None:
        self.token = sign_status_list_token(
            self.status_list,
            self.key,
            kid=self.kid,
            sub=self.status_uri,
            iat=int(self.clock()),
            ttl=self.ttl,
            issuer=self.url,
        )

    def set_status(self, idx: int, value: int) -> None:
        self.status_list.set(idx, value)
        self.publish()

    def issue(self, holder: PrivateKey, **claims: Any) -> tuple[str, int]:
        idx = self.next_idx
        self.next_idx += 1
        now = int(self.clock())
        body = employee_claims(**claims)
        credential = issue_sd_jwt_vc(
            issuer=self.url,
            vct=employee_vct(self.url),
            claims=body,
            disclosable=DISCLOSABLE.intersection(body),
            key=self.key,
            kid=self.kid,
            holder_jwk=holder.public_key.to_jwk(),
            iat=now - 60,
            exp=now + 365 * 86400,
            status=status_reference(idx, self.status_uri),
        )
        return credential, idx

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/jwt-vc-issuer")
        def metadata() -> JSONResponse:
            jwks = {"keys": [{**self.key.public_key.to_jwk(), "kid": self.kid}]}
            return JSONResponse(jwt_vc_issuer_metadata(self.url, jwks))

        @app.get("/.well-known/oauth-authorization-server")
        def authorization_server() -> JSONResponse:
            return JSONResponse(
                {"issuer": self.url, "status_list_aggregation_endpoint": self.url + "/status-lists"}
            )

        @app.get("/status-lists")
        def aggregation() -> JSONResponse:
            return JSONResponse({"status_lists": [self.status_uri]})

        @app.get("/status-lists/1")
        def status_list(request: Request) -> Response:
            self.fetches += 1
            etag = '"' + hashlib.sha256(self.token.encode()).hexdigest()[:16] + '"'
            if request.headers.get("if-none-match") == etag:
                self.not_modified += 1
                return Response(status_code=304, headers={"ETag": etag})
            return Response(
                self.token,
                media_type=STATUS_LIST_MEDIA_TYPE,
                headers={"ETag": etag, "Cache-Control": f"max-age={self.ttl}"},
            )

        return app


@contextmanager
def running_issuer(clock: Clock, **kwargs: Any) -> Iterator[tuple[IssuerDouble, Served]]:
    issuer = IssuerDouble(clock, **kwargs)
    served = Served(issuer.app())
    issuer.url = served.url
    issuer.publish()
    served.start()
    try:
        yield issuer, served
    finally:
        served.stop()


def gate_policy(issuer_url: str, **overrides: Any) -> GatePolicy:
    data: dict[str, Any] = {
        "gate_id": "sejong-06-east-01",
        "site": "sejong",
        "trusted_issuers": [{"issuer": issuer_url}],
        "allow_insecure_loopback": True,
    }
    data.update(overrides)
    return parse_gate_policy(data, environ={"LIB_SECRET": "library-secret-0123456789abcdef"})


def make_gate(
    policy: GatePolicy, tmp_path: Path, clock: Clock, *, online: bool = True, name: str = "gate"
) -> GateService:
    from mobileid.db import create_db_engine

    data_dir = tmp_path / name
    data_dir.mkdir(mode=0o700, exist_ok=True)
    engine = create_db_engine(f"sqlite:///{data_dir / 'gate.sqlite3'}")
    client = new_http_client() if online else None
    service = build_gate(policy, engine=engine, client=client, clock=clock)
    OPEN_SERVICES.append(service)
    service.refresher.run_once()  # what its background refresher does first
    return service


def scan(gate: Served, payload: bytes | str) -> dict[str, Any]:
    """`POST /scan` as a scanner sends it; every scan is answered 200 with its decision."""
    body = payload.encode() if isinstance(payload, str) else payload
    response = httpx.post(gate.url + "/scan", content=body, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def records(service: GateService) -> list[dict[str, Any]]:
    """Every entry record of a gate."""
    with service.engine.connect() as conn:
        return records_since(conn, 0)


def entry_record(gate_id: str, **changes: Any) -> dict[str, Any]:
    """An entry record as a gate uploads it to the central service."""
    return {
        "id": secrets.token_hex(16),
        "gate_id": gate_id,
        "site": "sejong",
        "purpose": "gate",
        "at": 1.0,
        "allow": True,
        "reason": "ok",
        "issuer": "https://issuer.example",
        "employee_number": "E1001",
        "agency_code": "1741000",
        "member_id": "m1",
        "elapsed_ms": 1.0,
        **changes,
    }


def presentation(
    credential: str,
    holder: PrivateKey,
    *,
    audience: str,
    iat: float,
    purpose: Purpose = Purpose.gate,
) -> str:
    names = PURPOSES[purpose] - {"photo"}
    return present(
        credential,
        select=[(n,) for n in sorted(names)],
        holder_key=holder,
        audience=audience,
        nonce=b64url_encode(secrets.token_bytes(16)),
        iat=int(iat),
    )
