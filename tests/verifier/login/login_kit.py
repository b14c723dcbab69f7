"""Test kit for logins: the login service on real HTTP (own tables, a local verifier PKI for
`localhost`), the gate kit's issuer double (credentials, status list), wallets holding its
credentials, and helpers to craft responses a real wallet would never send.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from gate_kit import Clock, IssuerDouble, Served, running_issuer

from mobileid.login_app import create_login_app, open_login_service
from mobileid.settings import LoginSettings
from schemas.employee_id import DISCLOSABLE
from vc.base64url import b64url_encode
from vc.keys import PrivateKey
from vc.sd_jwt import present
from vc.sd_jwt_vc import verify_sd_jwt_vc
from verifier.login.service import LoginService
from verifier.refresh import Refresher
from verifier.x509 import VerifierCertificate, create_local_pki
from wallet_sim.presenter import Presenter
from wallet_sim.store import INTERACTIVE, UnlockedWallet, WalletStore

PIN = "246810"
API_TOKEN = "desk-terminal-token-0123456789abcdef"
OPEN: list[Any] = []


@dataclass
class Login:
    """A running login service and what a test needs around it."""

    service: LoginService
    settings: LoginSettings
    served: Served
    certificate: VerifierCertificate
    issuer: IssuerDouble
    clock: Clock
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.served.url.replace("127.0.0.1", "localhost")

    def db(self) -> Any:
        return self.service.runtime.unit_of_work()

    def session(self, **body: Any) -> dict[str, Any]:
        """API mode: ask for a presentation (`POST /oid4vp/sessions`)."""
        body.setdefault("claims", ["employee_number", "name", "department"])
        response = self.http.post(
            f"{self.url}/oid4vp/sessions",
            json=body,
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def result(self, session: dict[str, Any], response_code: str | None = None) -> httpx.Response:
        params = {"response_code": response_code} if response_code else None
        return self.http.post(
            f"{self.url}/oid4vp/sessions/{session['id']}/result",
            headers={"Authorization": f"Bearer {session['handle']}"},
            params=params,
        )

    def refresh(self) -> None:
        """One round of the caches' refresher, as the service's own runs in the background."""
        verifier = self.service.runtime.vp.verifier
        Refresher(verifier.trust, verifier.status, clock=self.clock).run_once()

    def status_changed(self) -> None:
        """The issuer's status list changed: past its ttl, and refreshed."""
        self.clock.advance(self.issuer.ttl + 1)
        self.refresh()

    def presenter(self) -> Presenter:
        return Presenter(self.http, clock=self.clock, trust_anchors=[self.certificate.anchor])


def settings_for(
    tmp_path: Path, database_url: str, port: int, issuer_url: str, **overrides: Any
) -> LoginSettings:
    values: dict[str, Any] = {
        "base_url": f"http://localhost:{port}",
        "database_url": database_url,
        "data_dir": tmp_path / "login",
        "cert_dir": tmp_path / "cert",
        "trusted_issuers": [issuer_url],
        "allow_insecure_loopback": True,
        "purge_every_s": 3600,
        "api_token": API_TOKEN,
    }
    values.update(overrides)
    return LoginSettings(**values)


@contextlib.contextmanager
def running_login(
    tmp_path: Path, database_url: str, clock: Clock, issuer: IssuerDouble, **overrides: Any
) -> Iterator[Login]:
    certificate = create_local_pki(tmp_path / "cert", "localhost")
    served = Served(None)
    settings = settings_for(tmp_path, database_url, served.port, issuer.url, **overrides)
    service = open_login_service(settings, clock=clock)
    served.app = create_login_app(service)
    served.start()
    http = httpx.Client(timeout=10)
    login = Login(service, settings, served, certificate, issuer, clock, http)
    login.refresh()  # as the service's refresher does first
    try:
        yield login
    finally:
        http.close()
        served.stop()
        service.engine.dispose()


@contextlib.contextmanager
def login_world(tmp_path: Path, database_url: str, **overrides: Any) -> Iterator[Login]:
    clock = Clock()
    with (
        running_issuer(clock) as (issuer, _),
        running_login(tmp_path, database_url, clock, issuer, **overrides) as login,
    ):
        yield login


def claims_of(credential: str, issuer: IssuerDouble) -> dict[str, Any]:
    verified = verify_sd_jwt_vc(
        credential,
        issuer_key=issuer.key.public_key,
        algorithms=("EdDSA", "Ed25519", "ES256"),
        key_binding=False,
        now=issuer.clock(),
    )
    return dict(verified.claims)


def make_wallet(path: Path, issuer: IssuerDouble, **claims: Any) -> tuple[UnlockedWallet, int]:
    """A wallet holding one employee ID from `issuer`; returns it and the status index."""
    wallet = WalletStore(path, kdf_limits=INTERACTIVE).create(PIN)
    credential, idx = issuer.issue(wallet.device_key, **claims)
    wallet.add_credential(
        {
            "id": f"cred-{secrets.token_hex(4)}",
            "credential": credential,
            "credential_issuer": issuer.url,
            "vct": claims_of(credential, issuer)["vct"],
            "claims": claims_of(credential, issuer),
        }
    )
    return wallet, idx


def crafted(
    credential: str,
    holder: PrivateKey,
    *,
    audience: str,
    nonce: str,
    iat: float,
    names: tuple[str, ...] = tuple(sorted(DISCLOSABLE - {"photo"})),
) -> str:
    """A presentation with whatever audience and nonce a test wants."""
    return present(
        credential,
        select=[(n,) for n in names],
        holder_key=holder,
        audience=audience,
        nonce=nonce,
        iat=int(iat),
    )


def request_object_of(login: Login, session: dict[str, Any]) -> dict[str, Any]:
    """The (verified) parameters of a session's request, as the wallet sees them."""
    from vc.openid4vp import parse_request_link, verify_request_object

    link = parse_request_link(session["link"])
    if link.params is not None:
        return dict(link.params)
    assert link.request_uri is not None
    token = login.http.get(link.request_uri).text
    verified = verify_request_object(
        token, client_id=link.client_id, trust_anchors=[login.certificate.anchor], now=login.clock()
    )
    return verified.params


def random_nonce() -> str:
    return b64url_encode(secrets.token_bytes(16))


def data_link(html: str, element_id: str = "qr") -> str:
    """The cross-device link on the login page (`data-link`) or the same-device button's href."""
    import html as html_lib

    if element_id == "qr":
        found = re.search(r"id='qr'[^>]*data-link='([^']+)'", html)
    else:
        found = re.search(rf"id='{element_id}' href='([^']+)'", html)
    assert found, html[:500]
    return html_lib.unescape(found.group(1))
