"""Negative suite for SD-JWT VC verification (RFC 9901 §7.1, §7.3; SD-JWT VC §3), one case each.

Every case starts from a fresh valid Ed25519 employee credential and its SD-JWT+KB presentation
(`vc_factory`), changes one thing, and must be rejected by `verify_sd_jwt_vc` with exactly the
`Code` it names. Where two checks could both fire, the expected code is the one the documented
pipeline order reaches first: parse -> issuer signature -> disclosures -> validity claims -> key
binding -> SD-JWT VC rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from vc_factory import (
    AUDIENCE,
    HOLDER_KEY,
    ISSUER,
    ISSUER_KEY,
    KID,
    NONCE,
    NOW,
    OTHER_KEY,
    VCT,
    digest,
    encode_disclosure,
    issue_credential,
    join,
    kb_jwt_for,
    present_with_kb,
    resign,
    seeded_rng,
    split,
    verify_args,
    with_kb,
)

from vc.base64url import b64url_decode, b64url_encode
from vc.did_key import did_key_from_public_key
from vc.errors import Code, VCError
from vc.jws import decode_unverified, json_dumps, sign_compact
from vc.keys import P256PrivateKey
from vc.openid4vci import PROOF_TYP, verify_proof_jwt
from vc.sd_jwt import Disclosable, issue_sd_jwt, present, to_json_serialization
from vc.sd_jwt_vc import jwks_key_resolver, verify_sd_jwt_vc
from vc.status_list import (
    INVALID,
    MAX_DECOMPRESSED_BYTES,
    SUSPENDED,
    VALID,
    StatusList,
    sign_status_list_token,
    verify_status_list_token,
)


@dataclass(frozen=True)
class NegativeCase:
    name: str
    code: Code
    build: Callable[[], str]
    verify: dict[str, Any] = field(default_factory=dict)
    bug: str | None = None  # a known vc/ bug: the case is a strict xfail until it is fixed
    bug_raises: type[BaseException] | None = None  # how the bug shows today


CASES: list[NegativeCase] = []


def case(
    name: str,
    code: Code,
    *,
    bug: str | None = None,
    bug_raises: type[BaseException] | None = None,
    **verify: Any,
) -> Callable[[Callable[[], str]], Callable[[], str]]:
    def register(build: Callable[[], str]) -> Callable[[], str]:
        CASES.append(NegativeCase(name, code, build, verify, bug, bug_raises))
        return build

    return register


def _valid() -> tuple[str, list[str]]:
    jwt, disclosures, _ = split(issue_credential())
    return jwt, disclosures


def _header_payload_b64(jwt: str) -> tuple[dict[str, Any], str]:
    header, _, _, _ = decode_unverified(jwt)
    return header, jwt.split(".")[1]


def _with_header(jwt: str, header: dict[str, Any], signature: bytes | None = None) -> str:
    """The same payload under another protected header; signed by ISSUER_KEY unless given."""
    _, p64 = _header_payload_b64(jwt)
    h64 = b64url_encode(json_dumps(header))
    if signature is None:
        signature = ISSUER_KEY.sign(f"{h64}.{p64}".encode("ascii"))
    return f"{h64}.{p64}.{b64url_encode(signature)}"


def _hs256(jwt: str, secret: bytes) -> str:
    header, p64 = _header_payload_b64(jwt)
    h64 = b64url_encode(json_dumps({**header, "alg": "HS256"}))
    mac = hmac.new(secret, f"{h64}.{p64}".encode("ascii"), hashlib.sha256).digest()
    return f"{h64}.{p64}.{b64url_encode(mac)}"


def _alg_none(jwt: str) -> str:
    header, p64 = _header_payload_b64(jwt)
    return f"{b64url_encode(json_dumps({**header, 'alg': 'none'}))}.{p64}."


def _flip_middle(text: str) -> str:
    """Change one character in the middle (never the last, whose spare bits must stay zero)."""
    i = len(text) // 2
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


def _kb(payload: dict[str, Any], *, typ: str | None = "kb+jwt", key: Any = HOLDER_KEY) -> str:
    return sign_compact(payload, key, typ=typ)


def _kb_payload(jwt: str, disclosures: list[str], **changes: Any) -> dict[str, Any]:
    _, payload, _, _ = decode_unverified(kb_jwt_for(jwt, disclosures))
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def _crafted(claims: dict[Any, Any], *, typ: str = "dc+sd-jwt") -> str:
    """An issuer-signed credential that `issue_sd_jwt_vc` would refuse to build."""
    base: dict[Any, Any] = {
        "iss": ISSUER,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "vct": VCT,
        "cnf": {"jwk": HOLDER_KEY.public_key.to_jwk()},
    }
    base.update(claims)
    for name in [k for k in base if isinstance(k, Disclosable)]:
        base.pop(name.value, None)
    return issue_sd_jwt(base, ISSUER_KEY, typ=typ, headers={"kid": KID}, rng=seeded_rng())


def _crafted_presentation(claims: dict[Any, Any], **kw: Any) -> str:
    return present_with_kb(_crafted(claims, **kw))


def _referenced_from_sd(disclosure: str) -> str:
    """A presentation where the issuer put `disclosure`'s digest in the top-level `_sd`."""
    jwt, disclosures = _valid()
    jwt = resign(jwt, lambda p: p["_sd"].append(digest(disclosure)))
    return with_kb(jwt, [*disclosures, disclosure])


# --- issuer signature and algorithms ------------------------------------------------------------


@case("flipped_issuer_signature", Code.invalid_signature)
def _() -> str:
    jwt, disclosures = _valid()
    h, p, s = jwt.split(".")
    return with_kb(f"{h}.{p}.{_flip_middle(s)}", disclosures)


@case("issuer_payload_swapped_under_old_signature", Code.invalid_signature)
def _() -> str:
    jwt, disclosures = _valid()
    h, _, s = jwt.split(".")
    _, payload, _, _ = decode_unverified(jwt)
    payload["exp"] += 10 * 365 * 86_400
    return with_kb(f"{h}.{b64url_encode(json_dumps(payload))}.{s}", disclosures)


@case("issuer_signed_by_other_key", Code.invalid_signature)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: None, key=OTHER_KEY), disclosures)


@case("alg_none_issuer_jwt", Code.unsupported_algorithm)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(_alg_none(jwt), disclosures)


@case("alg_none_issuer_jwt_even_if_allow_listed", Code.unsupported_algorithm, algorithms=["none"])
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(_alg_none(jwt), disclosures)


@case("hs256_with_raw_public_key_as_secret", Code.unsupported_algorithm)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(_hs256(jwt, ISSUER_KEY.public_key.raw), disclosures)


@case(
    "hs256_with_public_jwk_as_secret_even_if_allow_listed",
    Code.unsupported_algorithm,
    algorithms=["EdDSA", "HS256"],
)
def _() -> str:
    jwt, disclosures = _valid()
    secret = json.dumps(ISSUER_KEY.public_key.to_jwk()).encode()
    return with_kb(_hs256(jwt, secret), disclosures)


@case("es256_header_on_ed25519_key", Code.unsupported_algorithm, algorithms=["EdDSA", "ES256"])
def _() -> str:
    jwt, disclosures = _valid()
    header, _ = _header_payload_b64(jwt)
    return with_kb(_with_header(jwt, {**header, "alg": "ES256"}), disclosures)


@case("eddsa_not_in_allow_list", Code.unsupported_algorithm, algorithms=["ES256"])
def _() -> str:
    return present_with_kb(issue_credential())


@case(
    "eddsa_issuer_jwt_for_a_p256_key",
    Code.unsupported_algorithm,
    algorithms=["EdDSA", "ES256"],
    issuer_key=P256PrivateKey.generate().public_key,
)
def _() -> str:
    return present_with_kb(issue_credential())


@case("crit_header_parameter", Code.malformed)
def _() -> str:
    jwt, disclosures = _valid()
    header, _ = _header_payload_b64(jwt)
    return with_kb(_with_header(jwt, {**header, "crit": ["exp"], "exp": 1}), disclosures)


_PINNED = jwks_key_resolver({ISSUER: {KID: ISSUER_KEY.public_key, "old": OTHER_KEY.public_key}})


@case("issuer_not_trusted_by_resolver", Code.untrusted_issuer, issuer_key=_PINNED)
def _() -> str:
    return present_with_kb(issue_credential(issuer="https://evil.example"))


@case("unknown_kid_for_trusted_issuer", Code.untrusted_issuer, issuer_key=_PINNED)
def _() -> str:
    return present_with_kb(issue_credential(kid="rotated-away"))


# --- serialization ------------------------------------------------------------------------------


@case("missing_final_tilde_bare_jwt", Code.malformed, key_binding=False)
def _() -> str:
    return split(issue_credential())[0]


@case(
    "missing_final_tilde_last_disclosure_read_as_kb_jwt", Code.kb_jwt_unexpected, key_binding=False
)
def _() -> str:
    return issue_credential().removesuffix("~")


@case("missing_final_tilde_when_kb_expected", Code.malformed)
def _() -> str:
    return issue_credential().removesuffix("~")


@case("empty_disclosure_component", Code.malformed)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, [disclosures[0], "", *disclosures[1:]], "x")


@case("issuer_jwt_not_json", Code.malformed)
def _() -> str:
    jwt, disclosures = _valid()
    h, _, s = jwt.split(".")
    return with_kb(f"{h}.{b64url_encode(b'not json')}.{s}", disclosures)


@case("input_too_large_10_mb", Code.input_too_large)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, [*disclosures, "A" * 10_000_000], "x.y.z")


@case("input_too_large_10_mb_json_serialization", Code.input_too_large)
def _() -> str:
    compact = present_with_kb(issue_credential())
    form = json.loads(to_json_serialization(compact))
    form["padding"] = "A" * 10_000_000
    return json.dumps(form)


@case("too_many_disclosures", Code.input_too_large, key_binding=False)
def _() -> str:
    jwt, _ = _valid()
    return join(jwt, [encode_disclosure([f"salt{i}", f"c{i}", i]) for i in range(600)])


@case("json_serialization_kb_jwt_under_second_signature", Code.malformed)
def _() -> str:
    compact = present_with_kb(issue_credential())
    form = json.loads(to_json_serialization(compact, general=True, extra_signers=[OTHER_KEY]))
    form["signatures"][1]["header"] = {"kb_jwt": form["signatures"][0]["header"].pop("kb_jwt")}
    return json.dumps(form)


# --- disclosures (§7.1 steps 3-4) ---------------------------------------------------------------


def _altered(disclosure: str) -> str:
    salt, name, _ = json.loads(b64url_decode(disclosure))
    return encode_disclosure([salt, name, "다른 값"])


@case("altered_disclosure_without_kb", Code.disclosure_unreferenced, key_binding=False)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, [_altered(disclosures[0]), *disclosures[1:]])


# The altered disclosure also breaks sd_hash, but disclosures are processed before key binding.
@case("altered_disclosure_with_original_kb", Code.disclosure_unreferenced)
def _() -> str:
    jwt, disclosures = _valid()
    _, _, kb = split(with_kb(jwt, disclosures))
    return join(jwt, [_altered(disclosures[0]), *disclosures[1:]], kb)


@case("altered_disclosure_with_kb_over_altered_set", Code.disclosure_unreferenced)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(jwt, [_altered(disclosures[0]), *disclosures[1:]])


@case("unreferenced_extra_disclosure_without_kb", Code.disclosure_unreferenced, key_binding=False)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, [*disclosures, encode_disclosure(["c2FsdHNhbHRzYWx0", "grade", "5급"])])


@case("unreferenced_extra_disclosure_with_valid_kb", Code.disclosure_unreferenced)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(jwt, [*disclosures, encode_disclosure(["c2FsdHNhbHRzYWx0", "grade", "5급"])])


@case("duplicate_digest_in_one_sd_array", Code.duplicate_digest)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p["_sd"].append(p["_sd"][0])), disclosures)


@case("duplicate_decoy_digest", Code.duplicate_digest)
def _() -> str:
    jwt, disclosures = _valid()
    decoy = b64url_encode(hashlib.sha256(b"decoy").digest())
    return with_kb(resign(jwt, lambda p: p["_sd"].extend([decoy, decoy])), disclosures)


@case("duplicate_digest_in_sd_and_array", Code.duplicate_digest)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.update(roles=[{"...": p["_sd"][0]}])), disclosures)


@case("same_disclosure_presented_twice", Code.duplicate_disclosure)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(jwt, [*disclosures, disclosures[0]])


@case("disclosure_named__sd", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(encode_disclosure(["c2FsdHNhbHRzYWx0", "_sd", ["x"]]))


@case("disclosure_named_ellipsis", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(encode_disclosure(["c2FsdHNhbHRzYWx0", "...", "x"]))


@case("two_element_disclosure_referenced_from__sd", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(encode_disclosure(["c2FsdHNhbHRzYWx0", "사무관"]))


@case("three_element_disclosure_referenced_from_array", Code.invalid_disclosure)
def _() -> str:
    jwt, disclosures = _valid()
    extra = encode_disclosure(["c2FsdHNhbHRzYWx0", "role", "admin"])
    jwt = resign(jwt, lambda p: p.update(roles=[{"...": digest(extra)}]))
    return with_kb(jwt, [*disclosures, extra])


@case("disclosure_overrides_plaintext_claim", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(encode_disclosure(["c2FsdHNhbHRzYWx0", "organization", "국방부"]))


@case("disclosure_with_four_elements", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(encode_disclosure(["c2FsdHNhbHRzYWx0", "a", 1, 2]))


@case("disclosure_salt_not_a_string", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(encode_disclosure([1234, "a", 1]))


@case("disclosure_name_not_a_string", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(encode_disclosure(["c2FsdHNhbHRzYWx0", 7, 1]))


@case("disclosure_not_an_array", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(b64url_encode(b'{"salt":"s","name":"a"}'))


@case("disclosure_not_json", Code.invalid_disclosure)
def _() -> str:
    return _referenced_from_sd(b64url_encode(b"[salt, a, 1]"))


@case("disclosure_not_base64url", Code.invalid_disclosure)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(jwt, [*disclosures, "WyJzYWx0Iiwi+YSIsMV0"])


@case("sd_claim_not_an_array", Code.malformed)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.update(_sd="abc")), disclosures)


@case("digest_not_a_string", Code.malformed)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p["_sd"].append(12345)), disclosures)


@case("array_digest_not_a_string", Code.malformed)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.update(roles=[{"...": 5}])), disclosures)


@case("nesting_deeper_than_limit", Code.malformed)
def _() -> str:
    deep: Any = "바닥"
    for _ in range(40):
        deep = {"n": deep}
    jwt, disclosures, _ = split(_crafted({"deep": deep}))
    return with_kb(jwt, disclosures)


@case("unknown__sd_alg", Code.unsupported_hash_algorithm)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.update(_sd_alg="md5")), disclosures)


@case("_sd_alg_not_a_string", Code.unsupported_hash_algorithm)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.update(_sd_alg=["sha-256"])), disclosures)


# --- validity claims (§7.1 step 5) --------------------------------------------------------------


@case("expired", Code.expired)
def _() -> str:
    return present_with_kb(issue_credential(iat=NOW - 7200, exp=NOW - 61))


@case("not_yet_valid_nbf", Code.not_yet_valid)
def _() -> str:
    return present_with_kb(issue_credential(nbf=NOW + 3600))


@case("issued_in_the_future", Code.not_yet_valid)
def _() -> str:
    return present_with_kb(issue_credential(iat=NOW + 3600, exp=NOW + 7200))


@case("exp_not_a_number", Code.invalid_claim)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.update(exp="2099-01-01")), disclosures)


# --- key binding (§7.3) -------------------------------------------------------------------------


@case("kb_required_but_absent", Code.kb_jwt_missing)
def _() -> str:
    return issue_credential()


@case("kb_present_but_not_expected", Code.kb_jwt_unexpected, key_binding=False)
def _() -> str:
    return present_with_kb(issue_credential())


@case("wrong_kb_typ", Code.invalid_type)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, disclosures, _kb(_kb_payload(jwt, disclosures), typ="JWT"))


@case("kb_typ_missing", Code.invalid_type)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, disclosures, _kb(_kb_payload(jwt, disclosures), typ=None))


@case("kb_signed_by_another_key", Code.invalid_signature)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(jwt, disclosures, key=OTHER_KEY)


@case("kb_flipped_signature", Code.invalid_signature)
def _() -> str:
    jwt, disclosures, kb = split(present_with_kb(issue_credential()))
    h, p, s = kb.split(".")
    return join(jwt, disclosures, f"{h}.{p}.{_flip_middle(s)}")


@case("alg_none_kb_jwt", Code.unsupported_algorithm)
def _() -> str:
    jwt, disclosures, kb = split(present_with_kb(issue_credential()))
    return join(jwt, disclosures, _alg_none(kb))


@case("hs256_kb_jwt_with_holder_public_key", Code.unsupported_algorithm)
def _() -> str:
    jwt, disclosures, kb = split(present_with_kb(issue_credential()))
    return join(jwt, disclosures, _hs256(kb, HOLDER_KEY.public_key.raw))


@case("kb_algorithm_not_allowed", Code.unsupported_algorithm, kb_algorithms=["ES256"])
def _() -> str:
    return present_with_kb(issue_credential())


@case("wrong_sd_hash_over_fewer_disclosures", Code.sd_hash_mismatch)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, disclosures, kb_jwt_for(jwt, disclosures[:-1]))


@case("wrong_sd_hash_without_trailing_tilde", Code.sd_hash_mismatch)
def _() -> str:
    jwt, disclosures = _valid()
    wrong = b64url_encode(hashlib.sha256(join(jwt, disclosures)[:-1].encode()).digest())
    return join(jwt, disclosures, _kb(_kb_payload(jwt, disclosures, sd_hash=wrong)))


@case("sd_hash_missing", Code.sd_hash_mismatch)
def _() -> str:
    jwt, disclosures = _valid()
    payload = _kb_payload(jwt, disclosures)
    del payload["sd_hash"]
    return join(jwt, disclosures, _kb(payload))


@case("wrong_nonce", Code.nonce_mismatch)
def _() -> str:
    return present_with_kb(issue_credential(), nonce="replayed-nonce")


@case("nonce_missing", Code.nonce_mismatch, nonce=None)
def _() -> str:
    jwt, disclosures = _valid()
    payload = _kb_payload(jwt, disclosures)
    del payload["nonce"]
    return join(jwt, disclosures, _kb(payload))


@case("wrong_aud", Code.audience_mismatch)
def _() -> str:
    return present_with_kb(issue_credential(), audience="x509_san_dns:other.example")


@case("aud_as_array", Code.audience_mismatch)
def _() -> str:
    jwt, disclosures = _valid()
    return join(jwt, disclosures, _kb(_kb_payload(jwt, disclosures, aud=[AUDIENCE])))


@case("kb_iat_in_the_future", Code.kb_in_future)
def _() -> str:
    return present_with_kb(issue_credential(), iat=NOW + 120)


@case("kb_too_old", Code.kb_too_old)
def _() -> str:
    return present_with_kb(issue_credential(), iat=NOW - 300 - 61)


@case("kb_iat_missing", Code.missing_claim)
def _() -> str:
    jwt, disclosures = _valid()
    payload = _kb_payload(jwt, disclosures)
    del payload["iat"]
    return join(jwt, disclosures, _kb(payload))


@case("kb_iat_nan_literal", Code.malformed)
def _() -> str:
    jwt, disclosures, kb = split(present_with_kb(issue_credential()))
    h64 = kb.split(".")[0]
    p64 = b64url_encode(
        b'{"iat":NaN,"aud":"%s","nonce":"%s","sd_hash":"x"}' % (AUDIENCE.encode(), NONCE.encode())
    )
    sig = HOLDER_KEY.sign(f"{h64}.{p64}".encode("ascii"))
    return join(jwt, disclosures, f"{h64}.{p64}.{b64url_encode(sig)}")


@case("kb_but_no_cnf", Code.holder_key_missing)
def _() -> str:
    claims = {"iss": ISSUER, "iat": NOW - 60, "exp": NOW + 60, "vct": VCT}
    return present_with_kb(issue_sd_jwt(claims, ISSUER_KEY, typ="dc+sd-jwt"))


@case("cnf_jwk_carries_a_private_key", Code.holder_key_missing)
def _() -> str:
    return _crafted_presentation({"cnf": {"jwk": HOLDER_KEY.to_jwk(private=True)}})


# --- SD-JWT VC rules (draft-ietf-oauth-sd-jwt-vc §3.2.2.2) --------------------------------------


@case("issuer_typ_jwt", Code.invalid_type)
def _() -> str:
    return present_with_kb(_crafted({}, typ="JWT"))


@case("legacy_typ_vc+sd-jwt_not_allowed", Code.invalid_type)
def _() -> str:
    return present_with_kb(_crafted({}, typ="vc+sd-jwt"))


for _name in ("vct", "cnf", "status", "iss", "exp", "nbf", "vct#integrity"):

    def _never_disclosable(name: str = _name) -> str:
        values = {
            "vct": VCT,
            "cnf": {"jwk": HOLDER_KEY.public_key.to_jwk()},
            "status": {"status_list": {"idx": 1, "uri": "https://issuer.mobileid.example/s"}},
            "iss": ISSUER,
            "exp": NOW + 3600,
            "nbf": NOW - 60,
            "vct#integrity": "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        }
        return _crafted_presentation({Disclosable(name): values[name]})

    case(f"{_name}_selectively_disclosed", Code.claim_not_disclosable)(_never_disclosable)


# draft -19 §3.2.2.2: "including any of their sub-claims"
@case("cnf_sub_claim_selectively_disclosed", Code.claim_not_disclosable)
def _() -> str:
    return _crafted_presentation({"cnf": {Disclosable("jwk"): HOLDER_KEY.public_key.to_jwk()}})


@case("status_sub_claim_selectively_disclosed", Code.claim_not_disclosable)
def _() -> str:
    ref = {Disclosable("idx"): 3, "uri": "https://issuer.mobileid.example/s"}
    return _crafted_presentation({"status": {"status_list": ref}})


@case("vct_missing", Code.missing_claim)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.pop("vct")), disclosures)


@case("vct_not_a_string", Code.missing_claim)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p.update(vct=["a", "b"])), disclosures)


@case("vct_not_accepted_here", Code.invalid_claim, vct_values=["https://other.example/vct"])
def _() -> str:
    return present_with_kb(issue_credential())


@case("status_index_negative", Code.invalid_claim)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p["status"]["status_list"].update(idx=-1)), disclosures)


@case("status_uri_missing", Code.invalid_claim)
def _() -> str:
    jwt, disclosures = _valid()
    return with_kb(resign(jwt, lambda p: p["status"]["status_list"].pop("uri")), disclosures)


def _params() -> list[Any]:
    params = []
    for c in CASES:
        marks = []
        if c.bug:
            marks.append(
                pytest.mark.xfail(strict=True, reason=f"vc bug: {c.bug}", raises=c.bug_raises)
            )
        params.append(pytest.param(c, id=c.name, marks=marks))
    return params


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_baseline_presentation_verifies() -> None:
    """The starting point of every case is valid, so each rejection is caused by its change."""
    result = verify_sd_jwt_vc(present_with_kb(issue_credential()), **verify_args())
    assert result.claims["given_name"] == "길동"
    assert result.holder_key == HOLDER_KEY.public_key


@pytest.mark.parametrize("negative", _params())
def test_rejected_with_exact_code(negative: NegativeCase) -> None:
    data = negative.build()
    with pytest.raises(VCError) as info:
        verify_sd_jwt_vc(data, **verify_args(**negative.verify))
    assert info.value.code == negative.code, info.value.detail


def test_nested_claim_named_like_a_registered_claim_may_be_disclosable() -> None:
    """Only the registered top-level claims are never disclosable; `employment.status` is data."""
    presentation = _crafted_presentation({"employment": {Disclosable("status"): "재직"}})
    result = verify_sd_jwt_vc(presentation, **verify_args())
    assert result.claims["employment"] == {"status": "재직"}


def test_legacy_typ_accepted_when_allowed() -> None:
    result = verify_sd_jwt_vc(
        present_with_kb(_crafted({}, typ="vc+sd-jwt")), **verify_args(allow_legacy_typ=True)
    )
    assert result.header["typ"] == "vc+sd-jwt"


def test_present_refuses_an_sd_jwt_that_already_has_a_kb_jwt() -> None:
    with pytest.raises(VCError) as info:
        present(present_with_kb(issue_credential()), select=())
    assert info.value.code == Code.malformed


# --- Token Status List (draft-ietf-oauth-status-list §5, §8) ------------------------------------

STATUS_URI = "https://issuer.mobileid.example/status/1"


def _status_list() -> StatusList:
    status_list = StatusList(64, bits=2)
    status_list.set(5, INVALID)
    status_list.set(6, SUSPENDED)
    return status_list


def _status_token(status_list: StatusList | None = None, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "kid": KID,
        "sub": STATUS_URI,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "ttl": 300,
        "issuer": ISSUER,
    }
    args.update(overrides)
    return sign_status_list_token(status_list or _status_list(), ISSUER_KEY, **args)


def _status_token_with(
    change: Callable[[dict[str, Any]], None], typ: str = "statuslist+jwt"
) -> str:
    _, payload, _, _ = decode_unverified(_status_token())
    change(payload)
    return sign_compact(payload, ISSUER_KEY, typ=typ, headers={"kid": KID})


def _lst(raw: bytes) -> Callable[[dict[str, Any]], None]:
    return lambda p: p["status_list"].update(lst=b64url_encode(raw))


def _verify_status(token: str, **overrides: Any) -> Any:
    args: dict[str, Any] = {
        "uri": STATUS_URI,
        "algorithms": ["EdDSA"],
        "now": NOW,
    }
    args.update(overrides)
    return verify_status_list_token(token, ISSUER_KEY.public_key, **args)


STATUS_CASES: list[tuple[str, Code, Callable[[], Any]]] = [
    (
        "index_out_of_range",
        Code.status_index_out_of_range,
        lambda: _verify_status(_status_token()).status(64),
    ),
    (
        "index_negative",
        Code.status_index_out_of_range,
        lambda: _verify_status(_status_token()).status(-1),
    ),
    (
        "index_not_an_int",
        Code.status_index_out_of_range,
        lambda: _verify_status(_status_token()).status("5"),
    ),
    (
        "wrong_sub",
        Code.status_uri_mismatch,
        lambda: _verify_status(_status_token(sub=STATUS_URI + "x")),
    ),
    (
        "expired_token",
        Code.expired,
        lambda: _verify_status(_status_token(iat=NOW - 7200, exp=NOW - 61)),
    ),
    (
        "issued_in_the_future",
        Code.not_yet_valid,
        lambda: _verify_status(_status_token(iat=NOW + 3600)),
    ),
    (
        "iat_missing",
        Code.missing_claim,
        lambda: _verify_status(_status_token_with(lambda p: p.pop("iat"))),
    ),
    ("ttl_zero", Code.invalid_claim, lambda: _verify_status(_status_token(ttl=0))),
    (
        "wrong_typ",
        Code.invalid_type,
        lambda: _verify_status(_status_token_with(lambda p: None, typ="JWT")),
    ),
    (
        "signed_by_other_key",
        Code.invalid_signature,
        lambda: verify_status_list_token(
            sign_status_list_token(_status_list(), OTHER_KEY, kid=KID, sub=STATUS_URI, iat=NOW),
            ISSUER_KEY.public_key,
            uri=STATUS_URI,
            algorithms=["EdDSA"],
            now=NOW,
        ),
    ),
    (
        "hs256_with_public_key",
        Code.unsupported_algorithm,
        lambda: _verify_status(
            _hs256(_status_token(), ISSUER_KEY.public_key.raw), algorithms=["EdDSA", "HS256"]
        ),
    ),
    ("alg_none", Code.unsupported_algorithm, lambda: _verify_status(_alg_none(_status_token()))),
    (
        "status_list_missing",
        Code.invalid_status_list,
        lambda: _verify_status(_status_token_with(lambda p: p.pop("status_list"))),
    ),
    (
        "bits_3",
        Code.invalid_status_list,
        lambda: _verify_status(_status_token_with(lambda p: p["status_list"].update(bits=3))),
    ),
    (
        "bits_missing",
        Code.invalid_status_list,
        lambda: _verify_status(_status_token_with(lambda p: p["status_list"].pop("bits"))),
    ),
    (
        "lst_not_zlib",
        Code.invalid_status_list,
        lambda: _verify_status(_status_token_with(_lst(b"\x00" * 16))),
    ),
    (
        "lst_raw_deflate_without_zlib_header",
        Code.invalid_status_list,
        lambda: _verify_status(_status_token_with(_lst(zlib.compress(b"\x00" * 16, 9)[2:-4]))),
    ),
    (
        "lst_truncated",
        Code.invalid_status_list,
        lambda: _verify_status(
            _status_token_with(_lst(zlib.compress(bytes(range(256)) * 4, 9)[:-6]))
        ),
    ),
    (
        "lst_empty_list",
        Code.invalid_status_list,
        lambda: _verify_status(_status_token_with(_lst(zlib.compress(b"", 9)))),
    ),
    (
        "lst_not_base64url",
        Code.invalid_status_list,
        lambda: _verify_status(
            _status_token_with(lambda p: p["status_list"].update(lst="eNrb+RgAAhcBXQ"))
        ),
    ),
    (
        "zlib_bomb_in_lst",
        Code.input_too_large,
        lambda: _verify_status(
            _status_token_with(_lst(zlib.compress(bytes(MAX_DECOMPRESSED_BYTES + 1), 9)))
        ),
    ),
    ("token_too_large", Code.input_too_large, lambda: _verify_status("A" * (8 * 1024 * 1024))),
]


def test_status_baseline_verifies() -> None:
    verified = _verify_status(_status_token())
    assert [verified.status(i) for i in (4, 5, 6, 7)] == [VALID, INVALID, SUSPENDED, VALID]
    assert verified.status_list.size == 64  # 16 bytes of 2-bit entries
    assert verified.expires_at == NOW - 60 + 300


@pytest.mark.parametrize(("code", "action"), [pytest.param(c, a, id=n) for n, c, a in STATUS_CASES])
def test_status_rejected_with_exact_code(code: Code, action: Callable[[], Any]) -> None:
    with pytest.raises(VCError) as info:
        action()
    assert info.value.code == code, info.value.detail


# --- OpenID4VCI proof JWTs (§8.2.1.1, App. F.1) -------------------------------------------------

CREDENTIAL_ISSUER = "https://issuer.mobileid.example"


def _proof_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"aud": CREDENTIAL_ISSUER, "iat": NOW, "nonce": "c-nonce-1"}
    payload.update(changes)
    return payload


def _proof(
    headers: dict[str, Any] | None = None,
    typ: str | None = PROOF_TYP,
    key: Any = HOLDER_KEY,
    **changes: Any,
) -> str:
    if headers is None:
        headers = {"jwk": HOLDER_KEY.public_key.to_jwk()}
    return sign_compact(_proof_payload(**changes), key, typ=typ, headers=headers)


def _verify_proof(token: str, **overrides: Any) -> Any:
    args: dict[str, Any] = {
        "audience": CREDENTIAL_ISSUER,
        "algorithms": ["EdDSA", "ES256"],
        "now": NOW,
    }
    args.update(overrides)
    return verify_proof_jwt(token, **args)


_HOLDER_DID = did_key_from_public_key(HOLDER_KEY.public_key)
_HOLDER_KID = f"{_HOLDER_DID}#{_HOLDER_DID.removeprefix('did:key:')}"

PROOF_CASES: list[tuple[str, Code, Callable[[], str]]] = [
    ("wrong_typ", Code.invalid_type, lambda: _proof(typ="JWT")),
    ("typ_missing", Code.invalid_type, lambda: _proof(typ=None)),
    ("wrong_aud", Code.audience_mismatch, lambda: _proof(aud="https://other-issuer.example")),
    ("stale_iat", Code.expired, lambda: _proof(iat=NOW - 300 - 61)),
    ("iat_in_the_future", Code.not_yet_valid, lambda: _proof(iat=NOW + 120)),
    ("iat_missing", Code.missing_claim, lambda: _proof(iat=None)),
    ("nonce_not_a_string", Code.invalid_claim, lambda: _proof(nonce=1234)),
    (
        "private_d_in_header_jwk",
        Code.invalid_key,
        lambda: _proof({"jwk": HOLDER_KEY.to_jwk(private=True)}),
    ),
    (
        "both_kid_and_jwk",
        Code.malformed,
        lambda: _proof({"jwk": HOLDER_KEY.public_key.to_jwk(), "kid": _HOLDER_KID}),
    ),
    ("no_key_reference", Code.malformed, lambda: _proof({})),
    (
        "kid_not_a_did_key",
        Code.invalid_did,
        lambda: _proof({"kid": "https://wallet.example/keys/1"}),
    ),
    ("x5c_not_supported", Code.unsupported_key_type, lambda: _proof({"x5c": ["MIIB"]})),
    ("signed_by_other_key_than_header_jwk", Code.invalid_signature, lambda: _proof(key=OTHER_KEY)),
    ("alg_none", Code.unsupported_algorithm, lambda: _alg_none(_proof())),
    (
        "hs256_with_header_key",
        Code.unsupported_algorithm,
        lambda: _hs256(_proof(), HOLDER_KEY.public_key.raw),
    ),
    ("not_a_jws", Code.malformed, lambda: "eyJhbGciOiJFZERTQSJ9.e30"),
    ("too_large", Code.input_too_large, lambda: "A" * 20_000),
]


@pytest.mark.parametrize("headers", [None, {"kid": _HOLDER_KID}], ids=["jwk", "did_key_kid"])
def test_proof_baseline_verifies(headers: dict[str, Any] | None) -> None:
    key, payload = _verify_proof(_proof(headers))
    assert key == HOLDER_KEY.public_key
    assert payload["nonce"] == "c-nonce-1"


@pytest.mark.parametrize(("code", "build"), [pytest.param(c, b, id=n) for n, c, b in PROOF_CASES])
def test_proof_rejected_with_exact_code(code: Code, build: Callable[[], str]) -> None:
    token = build()
    with pytest.raises(VCError) as info:
        _verify_proof(token)
    assert info.value.code == code, info.value.detail


def test_status_lst_with_bytes_after_the_zlib_stream_rejected() -> None:
    lst = b64url_encode(zlib.compress(_status_list().to_bytes(), 9) + b"trailing")
    with pytest.raises(VCError) as info:
        _verify_status(_status_token_with(lambda p: p["status_list"].update(lst=lst)))
    assert info.value.code == Code.invalid_status_list
