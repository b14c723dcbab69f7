"""OpenID4VCI holder against a fake issuer (httpx.MockTransport): flow, errors, refusals."""

from __future__ import annotations

import pytest
from wallet_fakes import CLAIMS, ISSUER, PIN, VCT, FakeIssuer

from vc.status_list import INVALID
from wallet_sim.errors import IssuerError
from wallet_sim.holder import Holder
from wallet_sim.http import new_client
from wallet_sim.issuer_client import CredentialRejected
from wallet_sim.store import UnlockedWallet, WalletStore


def _accept(issuer: FakeIssuer, wallet: UnlockedWallet, link: str, tx_code: str | None) -> dict:
    with new_client(issuer.transport()) as client:
        holder = Holder(client)
        preview = holder.resolve_offer(link)
        return holder.accept(preview, tx_code=tx_code, wallet=wallet)


@pytest.mark.parametrize("by", ["value", "reference"])
def test_onboarding_stores_a_verified_credential(
    by: str, store: WalletStore, fake_issuer: FakeIssuer
) -> None:
    wallet = store.create(PIN)
    link = fake_issuer.link_by_value() if by == "value" else fake_issuer.link_by_reference()
    with new_client(fake_issuer.transport()) as client:
        holder = Holder(client)
        preview = holder.resolve_offer(link)
        assert preview.issuer_name == {"ko": "가짜 발급기관", "en": "Fake Issuer"}
        assert preview.credential_name["ko"] == "모바일 공무원증"
        assert preview.claim_labels["employee_number"] == {
            "ko": "공무원 번호",
            "en": "Employee number",
        }
        assert preview.tx_code is not None
        record = holder.accept(preview, tx_code=fake_issuer.tx_code, wallet=wallet)
    assert record["vct"] == VCT and record["claims"]["name"] == CLAIMS["name"]
    assert record["status"]["value"] == "valid"
    assert record["notified"] is True
    assert fake_issuer.notifications == [{"notification_id": "n-1", "event": "credential_accepted"}]
    reopened = store.unlock(PIN)
    assert reopened.credentials[0]["credential"] == record["credential"]
    order = [r for r in fake_issuer.requests if not r.endswith("/.well-known/jwt-vc-issuer")]
    assert order.index("POST /token") < order.index("POST /nonce") < order.index("POST /credential")


def test_type_metadata_falls_back_to_schemas(store: WalletStore) -> None:
    issuer = FakeIssuer(serve_type_metadata=False)
    with new_client(issuer.transport()) as client:
        preview = Holder(client).resolve_offer(issuer.link_by_value())
    assert preview.claim_labels["grade"] == {"ko": "직급", "en": "Grade"}


def test_wrong_tx_code_is_reported_clearly(store: WalletStore, fake_issuer: FakeIssuer) -> None:
    wallet = store.create(PIN)
    with pytest.raises(IssuerError) as caught:
        _accept(fake_issuer, wallet, fake_issuer.link_by_value(), "000000")
    assert caught.value.code == "invalid_grant"
    assert "인증 코드" in caught.value.ko and "transaction code" in caught.value.en
    assert store.unlock(PIN).credentials == []


def test_missing_tx_code_is_reported(store: WalletStore, fake_issuer: FakeIssuer) -> None:
    with pytest.raises(IssuerError) as caught:
        _accept(fake_issuer, store.create(PIN), fake_issuer.link_by_value(), None)
    assert caught.value.code == "invalid_request"


def test_dpop_binds_the_token_to_the_device_key_and_server_nonces_are_used(
    store: WalletStore,
) -> None:
    """An issuer offering DPoP gets proofs by the device key; when it asks for a nonce
    (`use_dpop_nonce` with `DPoP-Nonce`), the wallet sends the request once more with it."""
    issuer = FakeIssuer(dpop_nonce="server-n0nce")
    wallet = store.create(PIN)
    record = _accept(issuer, wallet, issuer.link_by_value(), issuer.tx_code)
    assert record["claims"]["grade"] == "5급"
    assert issuer.dpop_jkt == wallet.device_key.public_key.thumbprint()
    assert issuer.requests.count("POST /token") == 2  # without the nonce, then with it
    assert issuer.requests.count("POST /credential") == 1  # the nonce learnt is used at once
    assert issuer.notifications == [{"notification_id": "n-1", "event": "credential_accepted"}]


def test_invalid_nonce_is_retried_once_with_a_fresh_nonce(store: WalletStore) -> None:
    issuer = FakeIssuer(stale_nonce_once=True)
    record = _accept(issuer, store.create(PIN), issuer.link_by_value(), issuer.tx_code)
    assert record["claims"]["grade"] == "5급"
    assert issuer.requests.count("POST /nonce") == 2
    assert issuer.requests.count("POST /credential") == 2


@pytest.mark.parametrize(
    "tamper", ["wrong_key", "modified_payload", "other_holder", "wrong_vct", "wrong_iss"]
)
def test_a_tampered_credential_from_a_fake_issuer_is_refused(
    tamper: str, store: WalletStore
) -> None:
    issuer = FakeIssuer(tamper=tamper)
    wallet = store.create(PIN)
    with pytest.raises(CredentialRejected) as caught:
        _accept(issuer, wallet, issuer.link_by_value(), issuer.tx_code)
    assert caught.value.code == "credential_rejected"
    assert store.unlock(PIN).credentials == []
    assert issuer.notifications == [{"notification_id": "n-1", "event": "credential_failure"}]


def test_revoked_status_is_recorded(store: WalletStore) -> None:
    issuer = FakeIssuer()
    issuer.status.set(3, INVALID)
    record = _accept(issuer, store.create(PIN), issuer.link_by_value(), issuer.tx_code)
    assert record["status"]["value"] == "revoked"


def test_reissue_replaces_the_old_credential(onboarded: UnlockedWallet) -> None:
    issuer = FakeIssuer()
    _accept(issuer, onboarded, issuer.link_by_value(), issuer.tx_code)
    assert len(onboarded.store.unlock(PIN).credentials) == 1


@pytest.mark.parametrize(
    "link",
    [
        "openid-credential-offer://?nothing=1",
        "openid-credential-offer://?credential_offer=%7Bnot-json",
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fissuer.test%2Foffers%2Fabc",
    ],
)
def test_bad_offer_links_are_refused(link: str, fake_issuer: FakeIssuer) -> None:
    with new_client(fake_issuer.transport()) as client, pytest.raises(IssuerError):
        Holder(client).resolve_offer(link)


def test_issuer_metadata_must_name_the_offering_issuer(fake_issuer: FakeIssuer) -> None:
    original = fake_issuer.metadata

    def lying() -> dict:
        return {**original(), "credential_issuer": "https://other.test"}

    fake_issuer.metadata = lying  # type: ignore[method-assign]
    with new_client(fake_issuer.transport()) as client, pytest.raises(IssuerError):
        Holder(client).resolve_offer(fake_issuer.link_by_value())
    assert ISSUER


def test_bearer_errors_in_www_authenticate_are_understood(store: WalletStore) -> None:
    issuer = FakeIssuer()
    inner = issuer.handle

    def handle(request):  # type: ignore[no-untyped-def]
        if request.url.path == "/credential":
            import httpx

            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return inner(request)

    issuer.handle = handle  # type: ignore[method-assign]
    with pytest.raises(IssuerError) as caught:
        _accept(issuer, store.create(PIN), issuer.link_by_value(), issuer.tx_code)
    assert caught.value.code == "invalid_token" and "만료" in caught.value.ko
