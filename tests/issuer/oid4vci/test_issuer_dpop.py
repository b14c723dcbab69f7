"""DPoP at the issuer (RFC 9449), over HTTP: a token bound to the wallet's key works only with a
fresh proof by that key, never as a Bearer token; proofs that are wrong, replayed or old are
refused in the RFC's error shape (400 at the token endpoint, 401 with a DPoP challenge where the
token is presented), a proof is spent even when its request is refused further on, and one
proof sent many times at once succeeds once; wallets that send no proof still get Bearer tokens
unless DPoP is required."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from issuer_kit import Holder, approved_offer, onboard_wallet
from sqlalchemy import create_engine, func, select

from issuer.models import AccessToken, Credential
from vc.base64url import b64url_encode
from vc.dpop import create_dpop_proof
from vc.keys import Ed25519PrivateKey, P256PrivateKey, PrivateKey
from vc.openid4vci import PRE_AUTHORIZED_GRANT


@pytest.fixture
def offered(live_server: Any, tmp_path: Path) -> Any:
    """An approved application for E1001: (server, holder, pre-authorized code, tx_code)."""
    return (live_server, *approved_offer(live_server, tmp_path))


def _proof(server: Any, path: str, key: PrivateKey, **claims: Any) -> str:
    options: dict[str, Any] = {"htm": "POST", "htu": server.url + path}
    options["iat"] = claims.pop("iat", server.clock.timestamp())
    options.update(claims)
    return create_dpop_proof(key, **options)


def _token(server: Any, code: str, tx: str, dpop: str | list[str] | None) -> httpx.Response:
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": tx}
    headers: list[tuple[str, str]] = []
    for value in [dpop] if isinstance(dpop, str) else dpop or []:
        headers.append(("DPoP", value))
    return server.client.post("/token", data=form, headers=headers)


def _credential(
    server: Any, holder: Holder, scheme: str, token: str, dpop: str | None
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"}
    if dpop is not None:
        headers["DPoP"] = dpop
    body = holder.request(holder.proof(holder.nonce()))
    return server.client.post("/credential", json=body, headers=headers)


def _refused(response: httpx.Response, status: int, error: str, scheme: str = "DPoP") -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith(f'{scheme} error="{error}"'), challenge
        assert scheme == "Bearer" or 'algs="EdDSA ES256"' in challenge


def test_metadata_offers_dpop(live_server: Any) -> None:
    metadata = live_server.client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["dpop_signing_alg_values_supported"] == ["EdDSA", "ES256"]


@pytest.mark.parametrize("key_type", [Ed25519PrivateKey, P256PrivateKey])
def test_a_bound_token_works_only_with_its_key(offered: Any, key_type: type[PrivateKey]) -> None:
    server, holder, code, tx = offered
    key = holder.key = key_type.generate()
    answer = _token(server, code, tx, _proof(server, "/token", key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"
    token = answer.json()["access_token"]

    other = Ed25519PrivateKey.generate()
    _refused(_credential(server, holder, "Bearer", token, None), 401, "invalid_token")
    _refused(_credential(server, holder, "DPoP", token, None), 401, "invalid_dpop_proof")
    stolen = _proof(server, "/credential", other, access_token=token)
    _refused(_credential(server, holder, "DPoP", token, stolen), 401, "invalid_dpop_proof")
    for wrong in (
        _proof(server, "/credential", key),  # no ath
        _proof(server, "/credential", key, access_token="another-token"),
        _proof(server, "/token", key, access_token=token),  # another endpoint
        _proof(server, "/credential", key, access_token=token, htm="PUT"),
        _proof(server, "/credential", key, access_token=token, iat=server.clock.timestamp() - 600),
        "garbage",
    ):
        _refused(_credential(server, holder, "DPoP", token, wrong), 401, "invalid_dpop_proof")

    good = _proof(server, "/credential", key, access_token=token)
    issued = _credential(server, holder, "DPoP", token, good)
    assert issued.status_code == 200, issued.text
    notification = {
        "notification_id": issued.json()["notification_id"],
        "event": "credential_accepted",
    }
    replayed = server.client.post(
        "/notification",
        json=notification,
        headers={"Authorization": f"DPoP {token}", "DPoP": good},
    )
    _refused(replayed, 401, "invalid_dpop_proof")  # the credential endpoint's proof, elsewhere
    fresh = _proof(server, "/notification", key, access_token=token)
    ok = server.client.post(
        "/notification",
        json=notification,
        headers={"Authorization": f"DPoP {token}", "DPoP": fresh},
    )
    assert ok.status_code == 204, ok.text
    again = server.client.post(
        "/notification",
        json=notification,
        headers={"Authorization": f"DPoP {token}", "DPoP": fresh},
    )
    _refused(again, 401, "invalid_dpop_proof")  # the same proof twice: a replay

    engine = create_engine(server.env["MOBILEID_DATABASE_URL"])
    with engine.connect() as conn:
        bound = conn.execute(select(AccessToken.dpop_jkt)).scalars().all()
    engine.dispose()
    assert bound == [key.public_key.thumbprint()]


def test_bad_proofs_at_the_token_endpoint_spend_nothing(offered: Any) -> None:
    server, holder, code, tx = offered
    key = holder.key
    header = b64url_encode(b'{"typ":"dpop+jwt","alg":"none"}')
    for bad in (
        "garbage",
        f"{header}.{b64url_encode(b'{}')}.",  # alg none
        _proof(server, "/credential", key),  # for another endpoint
        _proof(server, "/token", key, iat=server.clock.timestamp() + 600),
        [_proof(server, "/token", key), _proof(server, "/token", key)],  # two headers
    ):
        _refused(_token(server, code, tx, bad), 400, "invalid_dpop_proof")
    # a wrong tx_code is remembered, and so is the proof that came with it
    proof = _proof(server, "/token", key)
    wrong_tx = f"{(int(tx) + 1) % 1_000_000:06d}"
    _refused(_token(server, code, wrong_tx, proof), 400, "invalid_grant")
    _refused(_token(server, code, tx, proof), 400, "invalid_dpop_proof")
    assert _token(server, code, tx, _proof(server, "/token", key)).json()["token_type"] == "DPoP"


def test_without_a_proof_the_token_is_a_bearer_token(offered: Any) -> None:
    server, holder, code, tx = offered
    answer = _token(server, code, tx, None)
    assert answer.json()["token_type"] == "Bearer"
    token = answer.json()["access_token"]
    proof = _proof(server, "/credential", holder.key, access_token=token)
    _refused(_credential(server, holder, "DPoP", token, proof), 401, "invalid_token", "Bearer")
    assert _credential(server, holder, "Bearer", token, None).status_code == 200


def test_the_wallet_simulator_binds_its_token_to_the_device_key(
    live_server: Any, tmp_path: Path
) -> None:

    from wallet_sim.store import WalletStore

    wallet = onboard_wallet(live_server, tmp_path / "phone", "493817")
    device_key = WalletStore(wallet).unlock("493817").device_key
    engine = create_engine(live_server.env["MOBILEID_DATABASE_URL"])
    with engine.connect() as conn:
        bound = conn.execute(select(AccessToken.dpop_jkt)).scalars().all()
    engine.dispose()
    assert bound == [device_key.public_key.thumbprint()]


def _issued(server: Any) -> tuple[list[str], list[bool]]:
    """The holder keys of the issued credentials, and which access tokens were spent on one."""
    with server.runtime.unit_of_work() as s:
        holders = list(s.scalars(select(Credential.holder_jkt)))
        spent = list(s.scalars(select(AccessToken.credential_issued)))
    return holders, spent


def _dpop_token(server: Any, holder: Holder, code: str, tx: str) -> str:
    answer = _token(server, code, tx, _proof(server, "/token", holder.key))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


REFUSALS = {
    "expired_c_nonce": "invalid_nonce",
    "unknown_c_nonce": "invalid_nonce",
    "proof_jwt_for_another_issuer": "invalid_proof",
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_refused_dpop_proof_cannot_be_replayed(offered: Any, refusal: str) -> None:
    """The attack: a wallet's credential request is refused after its DPoP proof was checked;
    whoever captured the request (proof and token) sends the proof again with a holder proof
    of their own key, to get a credential bound to that key. The proof was spent by the refused
    request; nothing else of it was kept, so the wallet's token still gets its credential."""
    server, holder, code, tx = offered
    stale = holder.nonce()
    server.clock.advance(200)
    token = _dpop_token(server, holder, code, tx)
    match refusal:
        case "expired_c_nonce":
            server.clock.advance(101)  # the c_nonce is 301 s old (lifetime 300), the token 101 s
            holder_proof = holder.proof(stale)
        case "unknown_c_nonce":
            holder_proof = holder.proof("never-issued")
        case _:
            holder_proof = holder.proof(holder.nonce(), audience="https://elsewhere.example")
    captured = {
        "Authorization": f"DPoP {token}",
        "DPoP": _proof(server, "/credential", holder.key, access_token=token),
    }
    refused = server.client.post("/credential", json=holder.request(holder_proof), headers=captured)
    _refused(refused, 400, REFUSALS[refusal])

    attacker = Holder(server.client, Ed25519PrivateKey.generate(), server.clock)
    replay = attacker.request(attacker.proof(attacker.nonce()))
    _refused(
        server.client.post("/credential", json=replay, headers=captured), 401, "invalid_dpop_proof"
    )
    assert _issued(server) == ([], [False])

    good = _proof(server, "/credential", holder.key, access_token=token)
    assert _credential(server, holder, "DPoP", token, good).status_code == 200
    assert _issued(server) == ([holder.key.public_key.thumbprint()], [True])


def test_refused_dpop_proof_cannot_be_replayed_at_the_token_and_notification_endpoints(
    offered: Any,
) -> None:
    """The same attack where a token is redeemed (a request refused for its missing tx_code)
    and where a notification is sent (one refused for an unknown notification_id)."""
    server, holder, code, tx = offered
    captured = _proof(server, "/token", holder.key)
    no_tx = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code}
    _refused(
        server.client.post("/token", data=no_tx, headers={"DPoP": captured}), 400, "invalid_request"
    )
    _refused(_token(server, code, tx, captured), 400, "invalid_dpop_proof")
    token = _dpop_token(server, holder, code, tx)  # the code was not spent by either
    issued = _credential(
        server, holder, "DPoP", token, _proof(server, "/credential", holder.key, access_token=token)
    )
    assert issued.status_code == 200, issued.text

    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": _proof(server, "/notification", holder.key, access_token=token),
    }
    unknown = {"notification_id": "not-ours", "event": "credential_accepted"}
    r = server.client.post("/notification", json=unknown, headers=headers)
    _refused(r, 400, "invalid_notification_id")
    known = {"notification_id": issued.json()["notification_id"], "event": "credential_deleted"}
    r = server.client.post("/notification", json=known, headers=headers)
    _refused(r, 401, "invalid_dpop_proof")
    with server.runtime.unit_of_work() as s:
        assert list(s.scalars(select(Credential.notification_event))) == [None]


def test_one_dpop_proof_sent_many_times_at_once_succeeds_once(offered: Any) -> None:
    """The proof is spent in its own transaction; its unique key still lets exactly one of
    several simultaneous requests carrying it through, each with a valid holder proof."""
    server, holder, code, tx = offered
    token = _dpop_token(server, holder, code, tx)
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": _proof(server, "/credential", holder.key, access_token=token),
    }
    bodies = [holder.request(holder.proof(holder.nonce())) for _ in range(4)]
    barrier = threading.Barrier(len(bodies))
    results: list[httpx.Response] = []

    def send(body: dict[str, Any]) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            barrier.wait()
            results.append(client.post("/credential", json=body, headers=headers))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401]
    for r in results:
        if r.status_code == 401:
            _refused(r, 401, "invalid_dpop_proof")
    with server.runtime.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Credential)) == 1
