"""OpenID4VP from the wallet: request parsing, Request Object trust, DCQL, direct_post response.

The verifier is an `httpx.MockTransport` that checks the `vp_token` with `vc/` exactly as a
relying party must (KB `aud` = full client_id, `nonce` from the request, requested claims).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import httpx
import pytest
from wallet_fakes import PIN, VCT, FakeIssuer
from wallet_pki import Ca, Leaf, make_ca, make_leaf

from vc.errors import FormatError, SignatureError, VCError
from vc.jws import SUPPORTED_ALGORITHMS, sign_compact
from vc.keys import Ed25519PrivateKey
from vc.openid4vp import (
    REQUEST_OBJECT_TYP,
    check_authorization_request,
    direct_post_form,
    parse_request_link,
    verify_request_object,
    x509_hash,
)
from vc.sd_jwt_vc import verify_sd_jwt_vc
from wallet_sim.errors import PresentationError, VerifierError
from wallet_sim.http import new_client
from wallet_sim.presenter import Presenter
from wallet_sim.store import UnlockedWallet

HOST = "verifier.test"
NONCE = "vp-n0nce-5d1c0e6a8b"
STATE = "st4te-1"

GATE_QUERY = {
    "credentials": [
        {
            "id": "employee",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [VCT]},
            "claims": [
                {"id": "num", "path": ["employee_number"]},
                {"id": "agency", "path": ["active_public_servant_of"]},
                {"id": "photo", "path": ["photo"]},
                {"id": "name", "path": ["name"]},
            ],
            "claim_sets": [["num", "photo"], ["num", "agency", "name"]],
        }
    ]
}


def _params(client_id: str, **extra: Any) -> dict[str, Any]:
    params = {
        "client_id": client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": f"https://{HOST}/response",
        "nonce": NONCE,
        "state": STATE,
        "dcql_query": GATE_QUERY,
        "client_metadata": {"client_name": "정부청사 출입 / Government complex gate"},
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def _signed(leaf: Leaf, payload: dict[str, Any], typ: str = REQUEST_OBJECT_TYP) -> str:
    return sign_compact(payload, leaf.key, typ=typ, headers={"x5c": leaf.x5c})


@dataclass
class FakeVerifier:
    issuer: FakeIssuer
    request_object: str = ""
    content: str | None = None
    received: list[dict[str, list[str]]] = field(default_factory=list)
    verified: list[dict[str, Any]] = field(default_factory=list)
    client_id: str = ""
    followed: list[str] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/request/1":
            return httpx.Response(
                200,
                text=self.content if self.content is not None else self.request_object,
                headers={"Content-Type": "application/oauth-authz-req+jwt"},
            )
        if request.url.path == "/response":
            form = parse_qs(request.content.decode())
            self.received.append(form)
            if "error" in form:
                return httpx.Response(200, json={})
            vp_token = json.loads(form["vp_token"][0])
            for presentations in vp_token.values():
                for presentation in presentations:
                    self.verified.append(
                        verify_sd_jwt_vc(
                            presentation,
                            issuer_key=self.issuer.key.public_key,
                            algorithms=SUPPORTED_ALGORITHMS,
                            audience=self.client_id,
                            nonce=NONCE,
                            vct_values=[VCT],
                            now=time.time(),
                        ).claims
                    )
            return httpx.Response(
                200, json={"redirect_uri": f"https://{HOST}/done#response_code=abc123"}
            )
        if request.url.path == "/done":
            self.followed.append(str(request.url))
            return httpx.Response(200, text="ok")
        return httpx.Response(404)


def _link(client_id: str) -> str:
    return "openid4vp://?" + urlencode(
        {"client_id": client_id, "request_uri": f"https://{HOST}/request/1"}
    )


@pytest.fixture
def ca() -> Ca:
    return make_ca()


@pytest.fixture
def leaf(ca: Ca) -> Leaf:
    return make_leaf(ca, HOST)


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
def test_signed_request_by_reference_is_answered(
    prefix: str, ca: Ca, leaf: Leaf, onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    client_id = (
        f"x509_san_dns:{HOST}" if prefix == "x509_san_dns" else (f"x509_hash:{x509_hash(leaf.der)}")
    )
    verifier = FakeVerifier(fake_issuer, client_id=client_id)
    verifier.request_object = _signed(leaf, _params(client_id))
    with new_client(verifier.transport()) as client:
        presenter = Presenter(client, trust_anchors=[ca.cert])
        plan = presenter.resolve_request(_link(client_id), onboarded)
        assert plan.verifier_name.startswith("정부청사")
        # the holder has no photo: the second claim set is the first it can satisfy
        assert plan.disclosed() == {
            "employee": ["active_public_servant_of", "employee_number", "name"]
        }
        outcome = presenter.respond(plan, onboarded)
    assert outcome.status_code == 200 and outcome.redirect_uri is not None
    assert len(verifier.followed) == 1 and verifier.followed[0].startswith(f"https://{HOST}/done")
    assert verifier.received[0]["state"] == [STATE]
    (claims,) = verifier.verified
    selective = set(claims) - {"iss", "iat", "exp", "vct", "cnf", "status"}
    assert selective == {"active_public_servant_of", "employee_number", "name"}
    entry = onboarded.store.unlock(PIN).history[-1]
    assert entry["verifier"] == client_id and entry["outcome"] == "accepted"
    assert entry["claims"] == plan.disclosed()


def test_request_signed_by_an_untrusted_certificate_is_refused(
    leaf: Leaf, onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    client_id = f"x509_san_dns:{HOST}"
    verifier = FakeVerifier(fake_issuer, client_id=client_id)
    verifier.request_object = _signed(leaf, _params(client_id))
    with new_client(verifier.transport()) as client:
        presenter = Presenter(client, trust_anchors=[make_ca("Someone Else").cert])
        with pytest.raises(VerifierError) as caught:
            presenter.resolve_request(_link(client_id), onboarded)
    assert "untrusted_issuer" in caught.value.detail
    assert verifier.received == []  # nothing is sent to an unauthenticated response_uri


def test_a_self_signed_leaf_is_not_its_own_anchor(onboarded: UnlockedWallet) -> None:
    ca = make_ca()
    rogue = make_leaf(ca, HOST)
    client_id = f"x509_hash:{x509_hash(rogue.der)}"
    token = _signed(rogue, _params(client_id))
    with pytest.raises(SignatureError):
        verify_request_object(token, client_id=client_id, trust_anchors=[], now=time.time())


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("unsigned-json", "malformed: compact JWS must have three parts"),
        ("alg-none", "unsupported_algorithm: request object is not signed"),
    ],
)
def test_unsigned_request_uri_is_refused(
    content: str, reason: str, onboarded: UnlockedWallet, fake_issuer: FakeIssuer, ca: Ca
) -> None:
    client_id = f"x509_san_dns:{HOST}"
    verifier = FakeVerifier(fake_issuer, client_id=client_id)
    if content == "unsigned-json":
        verifier.content = json.dumps(_params(client_id))
    else:
        from vc.base64url import b64url_encode

        header = b64url_encode(json.dumps({"alg": "none", "typ": REQUEST_OBJECT_TYP}).encode())
        body = b64url_encode(json.dumps(_params(client_id)).encode())
        verifier.content = f"{header}.{body}."
    with new_client(verifier.transport()) as client:
        presenter = Presenter(client, trust_anchors=[ca.cert])
        with pytest.raises(VerifierError, match=re.escape(f"refused ({reason})")):
            presenter.resolve_request(_link(client_id), onboarded)


def test_redirect_uri_client_by_reference_is_refused(
    onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    client_id = f"redirect_uri:https://{HOST}/response"
    verifier = FakeVerifier(fake_issuer, client_id=client_id)
    verifier.content = json.dumps(_params(client_id))
    unsigned = re.escape("refused (malformed: compact JWS must have three parts)")
    with new_client(verifier.transport()) as client, pytest.raises(VerifierError, match=unsigned):
        Presenter(client).resolve_request(_link(client_id), onboarded)


def test_redirect_uri_client_by_value_is_answered(
    onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    client_id = f"redirect_uri:https://{HOST}/response"
    params = _params(client_id, response_uri=None)
    query = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
        for k, v in params.items()
    }
    link = "openid4vp://?" + urlencode(query, quote_via=quote)
    verifier = FakeVerifier(fake_issuer, client_id=client_id)
    with new_client(verifier.transport()) as client:
        presenter = Presenter(client)
        plan = presenter.resolve_request(link, onboarded)
        assert not plan.request.signed
        presenter.respond(plan, onboarded, follow_redirect=False)
    assert len(verifier.verified) == 1 and verifier.followed == []


def test_unsigned_by_value_request_from_an_x509_client_is_refused() -> None:
    params = _params(f"x509_san_dns:{HOST}")
    with pytest.raises(SignatureError):
        check_authorization_request(params, signed=False)


def test_wrong_typ_and_client_id_mismatch_are_refused(ca: Ca, leaf: Leaf) -> None:
    client_id = f"x509_san_dns:{HOST}"
    now = time.time()
    with pytest.raises(FormatError):
        verify_request_object(
            _signed(leaf, _params(client_id), typ="JWT"),
            client_id=client_id,
            trust_anchors=[ca.cert],
            now=now,
        )
    with pytest.raises(FormatError, match="client_id differs from the request's"):
        verify_request_object(
            _signed(leaf, _params("x509_san_dns:other.test")),
            client_id=client_id,
            trust_anchors=[ca.cert],
            now=now,
        )


def test_san_must_name_the_client_and_response_uri_host(ca: Ca) -> None:
    other = make_leaf(ca, "other.test")
    client_id = f"x509_san_dns:{HOST}"
    with pytest.raises(SignatureError):
        verify_request_object(
            _signed(other, _params(client_id)),
            client_id=client_id,
            trust_anchors=[ca.cert],
            now=time.time(),
        )
    leaf = make_leaf(ca, HOST)
    verified = verify_request_object(
        _signed(leaf, _params(client_id, response_uri="https://elsewhere.test/response")),
        client_id=client_id,
        trust_anchors=[ca.cert],
        now=time.time(),
    )
    with pytest.raises(SignatureError):
        check_authorization_request(verified.params, signed=True, verified=verified)


def test_x509_hash_must_match_the_leaf(ca: Ca, leaf: Leaf) -> None:
    client_id = f"x509_hash:{x509_hash(make_leaf(ca, HOST).der)}"
    with pytest.raises(SignatureError):
        verify_request_object(
            _signed(leaf, _params(client_id)),
            client_id=client_id,
            trust_anchors=[ca.cert],
            now=time.time(),
        )


def test_did_key_client_is_supported() -> None:
    from vc.did_key import did_key_from_public_key

    key = Ed25519PrivateKey.generate()
    did = did_key_from_public_key(key.public_key)
    client_id = f"decentralized_identifier:{did}"
    token = sign_compact(
        _params(client_id),
        key,
        typ=REQUEST_OBJECT_TYP,
        headers={"kid": f"{did}#{did.removeprefix('did:key:')}"},
    )
    verified = verify_request_object(token, client_id=client_id, now=time.time())
    request = check_authorization_request(verified.params, signed=True, verified=verified)
    assert request.nonce == NONCE


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"response_type": "code"}, FormatError),
        ({"response_mode": "direct_post.jwt"}, FormatError),
        ({"response_mode": "fragment"}, FormatError),
        ({"redirect_uri": f"https://{HOST}/cb"}, FormatError),
        ({"response_uri": None}, FormatError),
        ({"response_uri": f"http://{HOST}/response"}, FormatError),
        ({"nonce": None}, VCError),
        ({"nonce": "has space"}, VCError),
        ({"state": "a/b"}, VCError),
        ({"transaction_data": ["e30"]}, FormatError),
        ({"dcql_query": None, "scope": "employee"}, FormatError),
        ({"dcql_query": {"credentials": []}}, FormatError),
    ],
)
def test_request_parameter_checks(change: dict[str, Any], expected: type[Exception]) -> None:
    from vc.did_key import did_key_from_public_key

    did = did_key_from_public_key(Ed25519PrivateKey.generate().public_key)
    params = _params(f"decentralized_identifier:{did}")
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(expected):
        check_authorization_request(params, signed=True)


def test_link_parsing() -> None:
    link = parse_request_link(
        "openid4vp://?client_id=x509_hash%3Aabc&request_uri=https%3A%2F%2Fv.test%2Fr&"
        "request_uri_method=post"
    )
    assert link.client_id == "x509_hash:abc" and link.request_uri_method == "post"
    for bad in (
        "openid4vp://?request_uri=https%3A%2F%2Fv.test%2Fr",
        "openid4vp://?client_id=a&request_uri=x&request=y",
        "openid4vp://?client_id=a&client_id=b",
        "openid4vp://?client_id=a&request_uri=x&request_uri_method=put",
        "openid4vp://?client_id=a&dcql_query=%7Bnope",
    ):
        with pytest.raises(FormatError):
            parse_request_link(bad)


def test_direct_post_form_shape() -> None:
    form = direct_post_form({"q": ["a~b~"]}, "s")
    assert form == {"vp_token": '{"q":["a~b~"]}', "state": "s"}


def test_no_matching_credential_sends_access_denied(
    ca: Ca, leaf: Leaf, onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    client_id = f"x509_san_dns:{HOST}"
    query = {
        "credentials": [{"id": "x", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:no"]}}]
    }
    verifier = FakeVerifier(fake_issuer, client_id=client_id)
    verifier.request_object = _signed(leaf, _params(client_id, dcql_query=query))
    with new_client(verifier.transport()) as client, pytest.raises(PresentationError):
        Presenter(client, trust_anchors=[ca.cert]).resolve_request(_link(client_id), onboarded)
    assert verifier.received[0]["error"] == ["access_denied"]
    assert verifier.received[0]["state"] == [STATE]


def test_vp_formats_must_admit_our_key_algorithm(
    ca: Ca, leaf: Leaf, onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    client_id = f"x509_san_dns:{HOST}"
    metadata = {"vp_formats_supported": {"dc+sd-jwt": {"kb-jwt_alg_values": ["ES256"]}}}
    verifier = FakeVerifier(fake_issuer, client_id=client_id)
    verifier.request_object = _signed(leaf, _params(client_id, client_metadata=metadata))
    with new_client(verifier.transport()) as client, pytest.raises(VerifierError) as caught:
        Presenter(client, trust_anchors=[ca.cert]).resolve_request(_link(client_id), onboarded)
    assert "vp_formats_not_supported" in caught.value.en
    metadata["vp_formats_supported"]["dc+sd-jwt"]["kb-jwt_alg_values"] = ["ES256", "EdDSA"]
    verifier.request_object = _signed(leaf, _params(client_id, client_metadata=metadata))
    with new_client(verifier.transport()) as client:
        Presenter(client, trust_anchors=[ca.cert]).resolve_request(_link(client_id), onboarded)
