"""vc.sd_jwt: issuance (§4), presentation with key binding (§4.3, §5), JSON serialization (§8) and
the verification rules that are behaviour rather than rejection (the rejections are in
test_negative.py)."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest
from vc_factory import AUDIENCE, HOLDER_KEY, ISSUER_KEY, NONCE, NOW, OTHER_KEY, join, split

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, VCError
from vc.jws import decode_unverified, sign_compact
from vc.keys import P256PrivateKey
from vc.sd_jwt import (
    Disclosable,
    Disclosure,
    disclosure_paths,
    issue_sd_jwt,
    parse_sd_jwt,
    present,
    select_paths,
    to_json_serialization,
    verify_sd_jwt,
)

CLAIMS: dict[Any, Any] = {
    "iss": "https://issuer.mobileid.example",
    "cnf": {"jwk": HOLDER_KEY.public_key.to_jwk()},
    Disclosable("name"): "홍길동",
    "address": {
        Disclosable("city"): "세종",
        Disclosable("street"): "한누리대로 2130",
        "country": "KR",
    },
    Disclosable("career"): {Disclosable("grade"): "5급", "since": 2019},
    "roles": ["reader", Disclosable("approver"), Disclosable({Disclosable("scope"): "인사"})],
}
FULL = {
    "iss": "https://issuer.mobileid.example",
    "cnf": {"jwk": HOLDER_KEY.public_key.to_jwk()},
    "name": "홍길동",
    "address": {"city": "세종", "street": "한누리대로 2130", "country": "KR"},
    "career": {"grade": "5급", "since": 2019},
    "roles": ["reader", "approver", {"scope": "인사"}],
}


def _issue(claims: Any = None, **kw: Any) -> str:
    kw.setdefault("rng", random.Random(1).randbytes)
    return issue_sd_jwt(CLAIMS if claims is None else claims, ISSUER_KEY, **kw)


def _verify(data: str, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "issuer_key": ISSUER_KEY.public_key,
        "algorithms": ["EdDSA"],
        "key_binding": False,
        "now": NOW,
    }
    args.update(kw)
    if args["key_binding"]:
        args.setdefault("audience", AUDIENCE)
        args.setdefault("nonce", NONCE)
    return verify_sd_jwt(data, **args)


def _kb(**kw: Any) -> dict[str, Any]:
    return {"holder_key": HOLDER_KEY, "audience": AUDIENCE, "nonce": NONCE, "iat": NOW, **kw}


def test_full_disclosure_gives_the_plain_claims() -> None:
    result = _verify(present(_issue(), select=lambda _p: True, **_kb()), key_binding=True)
    assert result.claims == FULL
    assert len(result.disclosures) == 8


def test_issued_payload_shape() -> None:
    _, payload, _, _ = decode_unverified(split(_issue(decoys=3))[0])
    assert payload["_sd_alg"] == "sha-256"
    assert payload["_sd"] == sorted(payload["_sd"])  # order reveals nothing (§4.2.4.1)
    assert len(payload["_sd"]) == 2 + 3  # name, career + decoys
    assert payload["address"]["country"] == "KR"
    assert len(payload["address"]["_sd"]) == 2 + 3
    assert payload["roles"][0] == "reader"
    assert all(set(e) == {"..."} for e in payload["roles"][1:])
    assert "name" not in payload and "career" not in payload


def test_decoys_have_no_disclosures_and_are_ignored() -> None:
    sd_jwt = _issue(decoys=4)
    assert len(split(sd_jwt)[1]) == 8
    assert _verify(present(sd_jwt, select=lambda _p: True)).claims == FULL


def test_salts_are_128_bits_and_unique() -> None:
    disclosures = [Disclosure.parse(d) for d in split(_issue(rng=None))[1]]
    assert all(len(b64url_decode(d.salt)) == 16 for d in disclosures)
    assert len({d.salt for d in disclosures}) == len(disclosures)


def test_seeded_rng_makes_issuance_reproducible() -> None:
    assert _issue(rng=random.Random(5).randbytes) == _issue(rng=random.Random(5).randbytes)
    assert _issue(rng=random.Random(5).randbytes) != _issue(rng=random.Random(6).randbytes)
    assert _issue(rng=None) != _issue(rng=None)  # the default source is secrets.token_bytes


@pytest.mark.parametrize("hash_alg", ["sha-256", "sha-384", "sha-512"])
def test_hash_algorithms(hash_alg: str) -> None:
    sd_jwt = _issue(hash_alg=hash_alg)
    _, payload, _, _ = decode_unverified(split(sd_jwt)[0])
    assert payload["_sd_alg"] == hash_alg
    presentation = present(sd_jwt, select=lambda _p: True, **_kb())
    digest = {"sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512}
    jwt, disclosures, kb = split(presentation)
    _, kb_payload, _, _ = decode_unverified(kb)
    expected = b64url_encode(digest[hash_alg](join(jwt, disclosures).encode()).digest())
    assert kb_payload["sd_hash"] == expected
    assert _verify(presentation, key_binding=True).claims == FULL


@pytest.mark.parametrize(
    ("claims", "kw", "code"),
    [
        pytest.param({"a": 1}, {"hash_alg": "md5"}, Code.unsupported_hash_algorithm, id="md5"),
        pytest.param({"a": Disclosable(1)}, {}, Code.malformed, id="disclosable_as_a_value"),
        pytest.param({Disclosable("_sd"): 1}, {}, Code.malformed, id="sd_name"),
        pytest.param({"x": {"...": 1}}, {}, Code.malformed, id="ellipsis_name"),
        pytest.param({"a": 1, Disclosable("a"): 2}, {}, Code.malformed, id="plain_and_sd"),
        pytest.param({"_sd_alg": "sha-256"}, {}, Code.malformed, id="sd_alg_given"),
        pytest.param({Disclosable(5): 1}, {}, Code.malformed, id="name_not_a_string"),
        pytest.param({"a": {1, 2}}, {}, Code.malformed, id="not_json"),
    ],
)
def test_issue_refuses(claims: dict[Any, Any], kw: dict[str, Any], code: Code) -> None:
    with pytest.raises(VCError) as info:
        issue_sd_jwt(claims, ISSUER_KEY, **kw)
    assert info.value.code == code


def test_disclosure_paths_use_fully_disclosed_indices() -> None:
    paths = {path for path, _parent in disclosure_paths(_issue()).values()}
    assert paths == {
        ("name",),
        ("address", "city"),
        ("address", "street"),
        ("career",),
        ("career", "grade"),
        ("roles", 1),
        ("roles", 2),
        ("roles", 2, "scope"),
    }


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        pytest.param((), {"address": {"country": "KR"}, "roles": ["reader"]}, id="nothing"),
        pytest.param([("name",)], {"name": "홍길동"}, id="top_level"),
        pytest.param(
            [("career", "grade")],
            {"career": {"grade": "5급", "since": 2019}},
            id="nested_pulls_in_parent",
        ),
        pytest.param(
            [("career",)], {"career": {"grade": "5급", "since": 2019}}, id="prefix_covers_children"
        ),
        pytest.param(
            [("roles", 2, "scope")], {"roles": ["reader", {"scope": "인사"}]}, id="array_nested"
        ),
        pytest.param(
            [("roles", None)], {"roles": ["reader", "approver", {"scope": "인사"}]}, id="wildcard"
        ),
        pytest.param(
            [("address", "city")], {"address": {"city": "세종", "country": "KR"}}, id="one_member"
        ),
    ],
)
def test_present_selected_paths(select: Any, expected: dict[str, Any]) -> None:
    result = _verify(present(_issue(), select=select, **_kb()), key_binding=True)
    base = {
        "iss": FULL["iss"],
        "cnf": FULL["cnf"],
        "address": {"country": "KR"},
        "roles": ["reader"],
    }
    assert result.claims == {**base, **expected}


def test_select_paths_predicate() -> None:
    chooser = select_paths([("a", None, "b"), ("c",)])
    assert chooser(("a", 3, "b")) and chooser(("a", 0, "b", "x")) and chooser(("c", "d"))
    assert not chooser(("a", 3)) and not chooser(("a", 3, "c")) and not chooser(("d",))


def test_presentation_without_kb_ends_with_tilde() -> None:
    presentation = present(_issue(), select=())
    assert presentation.endswith("~") and presentation.count("~") == 1
    assert _verify(presentation).claims == {
        "iss": FULL["iss"],
        "cnf": FULL["cnf"],
        "address": {"country": "KR"},
        "roles": ["reader"],
    }


def test_kb_needs_audience_nonce_and_iat() -> None:
    with pytest.raises(VCError) as info:
        present(_issue(), select=(), holder_key=HOLDER_KEY, audience=AUDIENCE, nonce=NONCE)
    assert info.value.code == Code.kb_jwt_missing


def test_nested_disclosure_without_its_parent_is_unreferenced() -> None:
    sd_jwt = _issue()
    paths = disclosure_paths(sd_jwt)
    (grade,) = [d for d, (path, _) in paths.items() if path == ("career", "grade")]
    jwt = split(sd_jwt)[0]
    with pytest.raises(VCError) as info:
        _verify(join(jwt, [grade]))
    assert info.value.code == Code.disclosure_unreferenced


def test_unmatched_array_digest_drops_the_element() -> None:
    jwt, disclosures, _ = split(_issue())
    decoy = b64url_encode(hashlib.sha256(b"decoy").digest())
    header, payload, _, _ = decode_unverified(jwt)
    payload["roles"].insert(0, {"...": decoy})
    jwt = sign_compact(payload, ISSUER_KEY, typ=header["typ"])
    assert _verify(join(jwt, disclosures)).claims["roles"] == FULL["roles"]


@pytest.mark.parametrize(
    ("exp_offset", "accepted"),
    [(61, True), (-59, True), (-60, False), (-61, False)],
    ids=["in_future", "within_leeway", "at_leeway_edge", "beyond_leeway"],
)
def test_exp_with_leeway(exp_offset: int, accepted: bool) -> None:
    sd_jwt = _issue({"exp": NOW + exp_offset})
    if accepted:
        assert _verify(sd_jwt, leeway=60).claims == {"exp": NOW + exp_offset}
        return
    with pytest.raises(VCError) as info:
        _verify(sd_jwt, leeway=60)
    assert info.value.code == Code.expired


def test_require_exp() -> None:
    with pytest.raises(VCError) as info:
        _verify(_issue({"a": 1}), require_exp=True)
    assert info.value.code == Code.missing_claim


@pytest.mark.parametrize(
    ("age", "accepted"),
    [(0, True), (300 + 60, True), (300 + 61, False)],
    ids=["fresh", "max_age_plus_leeway", "older"],
)
def test_kb_max_age(age: int, accepted: bool) -> None:
    presentation = present(_issue(), select=(), **_kb(iat=NOW - age))
    if accepted:
        _verify(presentation, key_binding=True, kb_max_age=300, leeway=60)
        return
    with pytest.raises(VCError) as info:
        _verify(presentation, key_binding=True, kb_max_age=300, leeway=60)
    assert info.value.code == Code.kb_too_old


def test_nonce_left_to_the_caller_is_returned() -> None:
    presentation = present(_issue(), select=(), **_kb(nonce="store-checks-this"))
    result = _verify(presentation, key_binding=True, nonce=None)
    assert result.kb_payload["nonce"] == "store-checks-this"


def test_kb_extra_claims_are_signed() -> None:
    presentation = present(
        _issue(), select=(), kb_extra_claims={"transaction_data_hashes": ["x"]}, **_kb()
    )
    result = _verify(presentation, key_binding=True)
    assert result.kb_payload["transaction_data_hashes"] == ["x"]


def test_key_binding_needs_an_audience_from_the_caller() -> None:
    with pytest.raises(ValueError, match="audience"):
        verify_sd_jwt(
            present(_issue(), select=(), **_kb()),
            issuer_key=ISSUER_KEY.public_key,
            algorithms=["EdDSA"],
            key_binding=True,
            now=NOW,
        )


def test_p256_issuer_and_holder() -> None:
    issuer, holder = P256PrivateKey.generate(), P256PrivateKey.generate()
    sd_jwt = issue_sd_jwt({"cnf": {"jwk": holder.public_key.to_jwk()}, Disclosable("a"): 1}, issuer)
    presentation = present(sd_jwt, select=[("a",)], **_kb(holder_key=holder))
    result = verify_sd_jwt(
        presentation,
        issuer_key=issuer.public_key,
        algorithms=["ES256"],
        key_binding=True,
        audience=AUDIENCE,
        nonce=NONCE,
        now=NOW,
    )
    assert result.claims["a"] == 1
    assert result.kb_header == {"alg": "ES256", "typ": "kb+jwt"}


# --- JWS JSON serialization (§8) ---------------------------------------------------------------


def test_flattened_json_round_trip() -> None:
    compact = present(_issue(), select=lambda _p: True, **_kb())
    flattened = to_json_serialization(compact)
    form = json.loads(flattened)
    assert set(form) == {"header", "payload", "protected", "signature"}
    assert form["header"]["kb_jwt"] == split(compact)[2]
    assert parse_sd_jwt(flattened).sd_hash_input == parse_sd_jwt(compact).sd_hash_input
    assert _verify(flattened, key_binding=True).claims == FULL


def test_holder_presents_from_the_json_serialization() -> None:
    issued_json = to_json_serialization(_issue())
    presentation = present(issued_json, select=[("name",)], **_kb())
    form = json.loads(presentation)
    assert len(form["header"]["disclosures"]) == 1
    assert _verify(presentation, key_binding=True).claims["name"] == "홍길동"


def _general(extra: list[Any]) -> str:
    compact = present(_issue(), select=lambda _p: True, **_kb())
    return to_json_serialization(compact, general=True, extra_signers=extra)


def test_general_json_with_several_signers() -> None:
    second = P256PrivateKey.generate()
    general = _general([second])
    form = json.loads(general)
    assert len(form["signatures"]) == 2
    assert "header" not in form["signatures"][1]

    def resolve(header: Any, payload: Any) -> Any:
        return ISSUER_KEY.public_key if header["alg"] == "EdDSA" else second.public_key

    result = _verify(general, key_binding=True, issuer_key=resolve, algorithms=["EdDSA", "ES256"])
    assert result.claims == FULL


def test_general_json_every_signature_must_verify() -> None:
    form = json.loads(_general([OTHER_KEY]))
    with pytest.raises(VCError) as info:  # a pinned key verifies the first, not OTHER_KEY's
        _verify(json.dumps(form), key_binding=True)
    assert info.value.code == Code.invalid_signature
    signature = form["signatures"][1]["signature"]
    form["signatures"][1]["signature"] = (
        signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    )
    with pytest.raises(VCError) as info:
        _verify(json.dumps(form), key_binding=True, issuer_key=lambda h, p: ISSUER_KEY.public_key)
    assert info.value.code == Code.invalid_signature


def test_flattened_serialization_refuses_extra_signers() -> None:
    with pytest.raises(VCError) as info:
        to_json_serialization(_issue(), extra_signers=[OTHER_KEY])
    assert info.value.code == Code.malformed


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"payload": "e30", "signatures": []}, id="no_signatures"),
        pytest.param({"payload": "e30", "signatures": ["x"]}, id="signature_not_object"),
        pytest.param(
            {"payload": 1, "protected": "e30", "signature": "AA"}, id="payload_not_string"
        ),
        pytest.param({"payload": "e30", "protected": "e30"}, id="signature_missing"),
        pytest.param(
            {"payload": "e30", "protected": "e30", "signature": "AA", "header": []},
            id="header_not_object",
        ),
        pytest.param(
            {
                "payload": "e30",
                "protected": "e30",
                "signature": "AA",
                "header": {"disclosures": "x"},
            },
            id="disclosures_not_array",
        ),
        pytest.param(
            {
                "payload": "e30",
                "protected": "e30",
                "signature": "AA",
                "header": {"disclosures": [""]},
            },
            id="empty_disclosure",
        ),
        pytest.param(
            {"payload": "e30", "protected": "e30", "signature": "AA", "header": {"kb_jwt": 5}},
            id="kb_jwt_not_string",
        ),
        pytest.param([1, 2], id="array"),
    ],
)
def test_parse_json_serialization_refuses(form: Any) -> None:
    with pytest.raises(VCError) as info:
        parse_sd_jwt(json.dumps(form) if isinstance(form, dict) else "{" + json.dumps(form))
    assert info.value.code == Code.malformed


@pytest.mark.parametrize("header", [[], "x", 5], ids=["list", "string", "number"])
def test_parse_general_json_with_a_non_object_second_header(header: Any) -> None:
    form = {
        "payload": "e30",
        "signatures": [{"protected": "e30", "signature": "AA"}, {"header": header}],
    }
    with pytest.raises(VCError) as info:
        parse_sd_jwt(json.dumps(form))
    assert info.value.code == Code.malformed
