"""Property tests (hypothesis): random claim sets round-trip through issue -> present -> verify,
and garbage or mutated input never raises anything but a `VCError` (nor verifies to other claims).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vc_factory import AUDIENCE, HOLDER_KEY, ISSUER_KEY, NONCE, NOW, present_with_kb, split

from vc.dcql import parse_dcql_query
from vc.did_key import public_key_from_did_key, resolve_did_key
from vc.errors import Code, VCError
from vc.keys import private_key_from_jwk, public_key_from_jwk
from vc.openid4vci import parse_credential_offer_link, verify_proof_jwt
from vc.openid4vp import check_authorization_request, parse_request_link, verify_request_object
from vc.qr_compact import (
    MAGIC,
    MAX_ENCODED_BYTES,
    VERSION,
    decode_presentation,
    encode_presentation,
    is_compact_qr,
)
from vc.sd_jwt import (
    ClaimPath,
    Disclosable,
    Disclosure,
    issue_sd_jwt,
    parse_sd_jwt,
    present,
    to_json_serialization,
    verify_sd_jwt,
)
from vc.sd_jwt_vc import parse_jwt_vc_issuer_metadata, verify_sd_jwt_vc
from vc.status_list import StatusList, verify_status_list_token

ROUND_TRIP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GARBAGE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RESERVED = {"_sd", "...", "_sd_alg"}
VALIDITY = {"exp", "nbf", "iat"}  # checked as numbers at the top level
HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
ANY_CHAR = st.characters(blacklist_categories=("Cs",))  # lone surrogates are not UTF-8
TEXT = st.text(HANGUL, max_size=6) | st.text(ANY_CHAR, max_size=8)
NAMES = TEXT.filter(lambda name: name not in RESERVED)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(NAMES, children, max_size=4),
    max_leaves=16,
)
CLAIMS = st.dictionaries(NAMES.filter(lambda name: name not in VALIDITY), JSON, max_size=5)


def _mark(node: Any, path: ClaimPath, rnd: random.Random, sd_paths: set[ClaimPath]) -> Any:
    """`node` with a random choice of keys and elements wrapped in `Disclosable`."""
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            marked = _mark(value, (*path, key), rnd, sd_paths)
            if rnd.random() < 0.5:
                sd_paths.add((*path, key))
                out[Disclosable(key)] = marked
            else:
                out[key] = marked
        return out
    if isinstance(node, list):
        items: list[Any] = []
        for index, value in enumerate(node):
            marked = _mark(value, (*path, index), rnd, sd_paths)
            if rnd.random() < 0.5:
                sd_paths.add((*path, index))
                items.append(Disclosable(marked))
            else:
                items.append(marked)
        return items
    return node


def _projection(node: Any, path: ClaimPath, hidden: Callable[[ClaimPath], bool]) -> Any:
    """What a verifier must see: hidden disclosable claims and elements removed."""
    if isinstance(node, dict):
        return {
            k: _projection(v, (*path, k), hidden) for k, v in node.items() if not hidden((*path, k))
        }
    if isinstance(node, list):
        return [
            _projection(v, (*path, i), hidden) for i, v in enumerate(node) if not hidden((*path, i))
        ]
    return node


@ROUND_TRIP
@given(
    claims=CLAIMS,
    rnd=st.randoms(use_true_random=False),
    decoys=st.integers(0, 3),
    key_binding=st.booleans(),
    json_form=st.booleans(),
)
def test_random_claims_round_trip(
    claims: dict[str, Any], rnd: random.Random, decoys: int, key_binding: bool, json_form: bool
) -> None:
    sd_paths: set[ClaimPath] = set()
    marked = _mark(claims, (), rnd, sd_paths)
    chosen = {p for p in sorted(sd_paths, key=repr) if rnd.random() < 0.5}

    def hidden(path: ClaimPath) -> bool:
        # a disclosable claim is shown iff it, or anything disclosable below it, was chosen
        return path in sd_paths and not any(c[: len(path)] == path for c in chosen)

    salts = random.Random(rnd.getrandbits(64)).randbytes  # a real PRNG: no repeated salts/decoys
    sd_jwt = issue_sd_jwt(marked, ISSUER_KEY, decoys=decoys, rng=salts)
    if json_form:
        sd_jwt = to_json_serialization(sd_jwt)
    kb: dict[str, Any] = {
        "holder_key": HOLDER_KEY,
        "audience": AUDIENCE,
        "nonce": NONCE,
        "iat": NOW,
    }
    presentation = present(
        sd_jwt, select=lambda path: path in chosen, **(kb if key_binding else {})
    )
    result = verify_sd_jwt(
        presentation,
        issuer_key=ISSUER_KEY.public_key,
        algorithms=["EdDSA"],
        key_binding=key_binding,
        audience=AUDIENCE,
        nonce=NONCE,
        now=NOW,
        holder_key_resolver=lambda _claims: HOLDER_KEY.public_key,
    )
    assert result.claims == _projection(claims, (), hidden)

    everything = present(sd_jwt, select=lambda _path: True)
    assert (
        verify_sd_jwt(
            everything,
            issuer_key=ISSUER_KEY.public_key,
            algorithms=["EdDSA"],
            key_binding=False,
            now=NOW,
        ).claims
        == claims
    )


def test_issuer_refuses_a_random_source_that_repeats_itself() -> None:
    """Repeated salts or decoys would give repeated digests, which verifiers reject (§4.2.5)."""
    with pytest.raises(VCError) as info:
        issue_sd_jwt({Disclosable("a"): 1}, ISSUER_KEY, decoys=2, rng=bytes)
    assert info.value.code == Code.malformed


# --- garbage in ---------------------------------------------------------------------------------

VALID_PRESENTATION = present_with_kb(
    issue_sd_jwt(
        {
            "iss": "https://issuer.mobileid.example",
            "vct": "urn:mobileid:test",
            "cnf": {"jwk": HOLDER_KEY.public_key.to_jwk()},
            Disclosable("이름"): "홍길동",
            "부서": {Disclosable("과"): "인사과", "층": 3},
            "roles": [Disclosable("reader"), "writer"],
        },
        ISSUER_KEY,
        typ="dc+sd-jwt",
        decoys=1,
        rng=random.Random(3).randbytes,
    )
)


def _verify(data: Any, key_binding: bool = True) -> Any:
    return verify_sd_jwt_vc(
        data,
        issuer_key=ISSUER_KEY.public_key,
        algorithms=["EdDSA"],
        key_binding=key_binding,
        audience=AUDIENCE,
        nonce=NONCE,
        now=NOW,
    )


VALID_CLAIMS = _verify(VALID_PRESENTATION).claims
B64ISH = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~=+/ "),
    max_size=300,
)


def _only_vc_errors(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except VCError:
        return None


@GARBAGE
@given(
    data=st.text(max_size=400) | B64ISH | st.binary(max_size=400).map(lambda b: b.decode("latin-1"))
)
def test_random_text_is_rejected_with_a_vc_error(data: str) -> None:
    with pytest.raises(VCError):
        _verify(data)
    with pytest.raises(VCError):
        _verify(data, key_binding=False)


@GARBAGE
@given(
    data=st.binary(max_size=400)
    | st.integers()
    | st.none()
    | st.lists(st.text(max_size=5), max_size=3)
)
def test_non_strings_are_rejected_with_a_vc_error(data: Any) -> None:
    with pytest.raises(VCError):
        _verify(data)


def _mutations() -> st.SearchStrategy[Callable[[str], str]]:
    def flip(i: int, c: str) -> Callable[[str], str]:
        return lambda s: s[: i % len(s)] + (c if s[i % len(s)] != c else "~") + s[i % len(s) + 1 :]

    def segments(op: str, i: int) -> Callable[[str], str]:
        def apply(s: str) -> str:
            parts = s.split("~")
            j = i % len(parts)
            if op == "drop":
                del parts[j]
            elif op == "duplicate":
                parts.insert(j, parts[j])
            else:
                parts[j], parts[-1 - j] = parts[-1 - j], parts[j]
            return "~".join(parts)

        return apply

    index = st.integers(0, 10_000)
    return st.one_of(
        st.builds(flip, index, st.sampled_from("A_-~.=+/0aZ가")),
        st.builds(segments, st.sampled_from(["drop", "duplicate", "swap"]), index),
        st.builds(lambda i: lambda s: s[: i % len(s)], index),
        st.builds(
            lambda i, t: lambda s: s[: i % len(s)] + t + s[i % len(s) :], index, st.text(max_size=3)
        ),
    )


@GARBAGE
@given(mutations=st.lists(_mutations(), min_size=1, max_size=3))
def test_mutated_presentation_never_verifies_to_other_claims(
    mutations: list[Callable[[str], str]],
) -> None:
    data = VALID_PRESENTATION
    for mutate in mutations:
        data = mutate(data) or "~"
    result = _only_vc_errors(lambda: _verify(data))
    if result is not None:
        assert data == VALID_PRESENTATION or result.claims == VALID_CLAIMS


def _replace_somewhere(node: Any, path: list[int], value: Any) -> Any:
    """`node` with the sub-node reached by the choice indices in `path` replaced by `value`."""
    if not path or not isinstance(node, dict | list) or not node:
        return value
    if isinstance(node, dict):
        key = sorted(node)[path[0] % len(node)]
        return {**node, key: _replace_somewhere(node[key], path[1:], value)}
    i = path[0] % len(node)
    return [*node[:i], _replace_somewhere(node[i], path[1:], value), *node[i + 1 :]]


@GARBAGE
@given(
    general=st.booleans(),
    path=st.lists(st.integers(0, 50), max_size=5),
    value=JSON,
)
def test_mutated_json_serialization_never_verifies_to_other_claims(
    general: bool, path: list[int], value: Any
) -> None:
    form = json.loads(to_json_serialization(VALID_PRESENTATION, general=general))
    mutated = json.dumps(_replace_somewhere(form, path, value), ensure_ascii=False)
    result = _only_vc_errors(lambda: _verify(mutated))
    if result is not None:
        assert result.claims == VALID_CLAIMS


# --- every other parser -------------------------------------------------------------------------

_OTHER_PARSERS: dict[str, Callable[[Any], Any]] = {
    "parse_sd_jwt": parse_sd_jwt,
    "Disclosure.parse": Disclosure.parse,
    "StatusList.decode": lambda x: StatusList.decode(x, 1),
    "verify_status_list_token": lambda x: verify_status_list_token(
        x, ISSUER_KEY.public_key, uri="u", algorithms=["EdDSA"], now=NOW
    ),
    "verify_proof_jwt": lambda x: verify_proof_jwt(x, audience="a", algorithms=["EdDSA"], now=NOW),
    "public_key_from_did_key": public_key_from_did_key,
    "resolve_did_key": resolve_did_key,
    "parse_credential_offer_link": parse_credential_offer_link,
    "parse_request_link": parse_request_link,
    "verify_request_object": lambda x: verify_request_object(
        x, client_id="x509_san_dns:verifier.example", now=NOW
    ),
    "verify_request_object_did": lambda x: verify_request_object(
        x, client_id="decentralized_identifier:did:key:z6Mk", now=NOW
    ),
}
DID_LIKE = st.builds(
    lambda s: "did:key:z" + s,
    st.text("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", max_size=60),
)
REQUEST_LINK_LIKE = st.builds(
    lambda pairs: "openid4vp://?" + "&".join(f"{k}={v}" for k, v in pairs),
    st.lists(
        st.tuples(
            st.sampled_from(
                ["client_id", "request_uri", "request_uri_method", "request", "dcql_query", "nonce"]
            ),
            st.text(max_size=20),
        ),
        max_size=5,
    ),
)
OFFER_LIKE = st.builds(
    lambda k, v: f"openid-credential-offer://?{k}={v}",
    st.sampled_from(["credential_offer", "credential_offer_uri", "x"]),
    st.text(max_size=40),
)


@GARBAGE
@given(
    name=st.sampled_from(sorted(_OTHER_PARSERS)),
    data=st.text(max_size=200) | B64ISH | DID_LIKE | OFFER_LIKE,
)
def test_other_parsers_raise_only_vc_errors(name: str, data: str) -> None:
    _only_vc_errors(lambda: _OTHER_PARSERS[name](data))


JWK_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "kty": st.sampled_from(["OKP", "EC", "RSA", "oct"]) | JSON,
        "crv": st.sampled_from(["Ed25519", "P-256", "X25519"]) | JSON,
        "x": st.sampled_from([HOLDER_KEY.public_key.to_jwk()["x"], "AA"]) | B64ISH | JSON,
        "y": B64ISH | JSON,
        "d": st.sampled_from([HOLDER_KEY.to_jwk()["d"]]) | B64ISH | JSON,
    },
)


@GARBAGE
@given(jwk=JWK_LIKE | JSON)
def test_jwk_parsers_raise_only_vc_errors(jwk: Any) -> None:
    _only_vc_errors(lambda: public_key_from_jwk(jwk))
    _only_vc_errors(lambda: private_key_from_jwk(jwk))
    document = {"issuer": "https://i", "jwks": {"keys": [jwk]}}
    _only_vc_errors(lambda: parse_jwt_vc_issuer_metadata(document, "https://i"))


def test_garbage_helpers_can_fail() -> None:
    """The oracle itself: a foreign exception is not swallowed."""
    with pytest.raises(ZeroDivisionError):
        _only_vc_errors(lambda: 1 / 0)
    assert split(VALID_PRESENTATION)[2]  # the fuzzed presentation does carry a KB-JWT


DCQL_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "credentials": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": st.sampled_from(["pid", "a-b_c", "", "bad id"]) | JSON,
                    "format": st.sampled_from(["dc+sd-jwt", "mso_mdoc"]) | JSON,
                    "meta": st.fixed_dictionaries({}, optional={"vct_values": JSON}) | JSON,
                    "claims": st.lists(
                        st.fixed_dictionaries(
                            {}, optional={"id": JSON, "path": JSON, "values": JSON}
                        ),
                        max_size=3,
                    )
                    | JSON,
                    "claim_sets": JSON,
                    "multiple": JSON,
                    "trusted_authorities": JSON,
                    "require_cryptographic_holder_binding": JSON,
                },
            )
            | JSON,
            max_size=3,
        )
        | JSON,
        "credential_sets": JSON,
    },
)
AUTHZ_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "client_id": st.sampled_from(
            ["redirect_uri:https://rp.example/cb", "x509_san_dns:rp.example", "rp", ""]
        )
        | JSON,
        "response_type": st.just("vp_token") | JSON,
        "response_mode": st.just("direct_post") | JSON,
        "response_uri": st.sampled_from(["https://rp.example/cb", "http://x"]) | JSON,
        "nonce": st.just("n-0S6_WzA2Mj") | JSON,
        "state": JSON,
        "dcql_query": DCQL_LIKE | JSON,
        "client_metadata": JSON,
    },
)


@GARBAGE
@given(query=DCQL_LIKE | JSON, params=AUTHZ_PARAMS, signed=st.booleans())
def test_openid4vp_request_parsers_raise_only_vc_errors(
    query: Any, params: dict[str, Any], signed: bool
) -> None:
    _only_vc_errors(lambda: parse_dcql_query(query))
    _only_vc_errors(lambda: check_authorization_request(params, signed=signed))


# --- compact QR format (vc.qr_compact) ----------------------------------------------------------


@ROUND_TRIP
@given(claims=CLAIMS, rnd=st.randoms(use_true_random=False), key_binding=st.booleans())
def test_qr_compact_round_trips_any_presentation(
    claims: dict[str, Any], rnd: random.Random, key_binding: bool
) -> None:
    sd_paths: set[ClaimPath] = set()
    marked = _mark(claims, (), rnd, sd_paths)
    salts = random.Random(rnd.getrandbits(64)).randbytes
    sd_jwt = issue_sd_jwt(marked, ISSUER_KEY, decoys=rnd.randint(0, 2), rng=salts)
    kb: dict[str, Any] = {
        "holder_key": HOLDER_KEY,
        "audience": AUDIENCE,
        "nonce": NONCE,
        "iat": NOW,
    }
    presentation = present(
        sd_jwt, select=lambda _path: rnd.random() < 0.5, **(kb if key_binding else {})
    )
    try:
        encoded = encode_presentation(presentation)
    except VCError as exc:  # only what cannot fit a QR code is refused, and refused as such
        assert exc.code == Code.input_too_large
        assert len(presentation) > MAX_ENCODED_BYTES
        return
    assert len(encoded) <= MAX_ENCODED_BYTES
    assert is_compact_qr(encoded)
    assert decode_presentation(encoded) == presentation


VALID_QR = encode_presentation(VALID_PRESENTATION)


@GARBAGE
@given(
    data=st.binary(max_size=300)
    | st.binary(max_size=300).map(lambda b: MAGIC + bytes([VERSION]) + b)
    | st.binary(max_size=300).map(lambda b: MAGIC + bytes([VERSION, 1]) + b)
)
def test_qr_compact_random_bytes_raise_only_vc_errors(data: bytes) -> None:
    _only_vc_errors(lambda: decode_presentation(data))


@GARBAGE
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "drop", "insert", "truncate"]),
            st.integers(0, 5000),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_qr_compact_never_verifies_to_other_claims(
    edits: list[tuple[str, int, int]],
) -> None:
    data = bytearray(VALID_QR)
    for op, where, byte in edits:
        i = where % len(data) if data else 0
        if op == "flip" and data:
            data[i] ^= byte or 1
        elif op == "drop" and data:
            del data[i]
        elif op == "insert":
            data.insert(i, byte)
        else:
            del data[i:]
    presentation = _only_vc_errors(lambda: decode_presentation(bytes(data)))
    if presentation is None:
        return
    result = _only_vc_errors(lambda: _verify(presentation))
    if result is not None:
        assert result.claims == VALID_CLAIMS


def test_qr_compact_of_the_fuzzed_presentation_is_smaller() -> None:
    assert decode_presentation(VALID_QR) == VALID_PRESENTATION
    assert len(VALID_QR) < len(VALID_PRESENTATION)
