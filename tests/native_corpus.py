"""The corpus `tests/test_native.py` decides with both verification cores: presentations,
status list tokens, issuer metadata, `lst`/`bits` pairs and gate policies, well and badly formed,
in the shapes that reach the compiled modules from the network, a policy file or an issuer."""

from __future__ import annotations

import functools
import random
import time
from typing import Any

from bench.gate import STATUS_URI, Fixture
from schemas.employee_id import PURPOSES, Purpose
from vc.errors import VCError
from vc.jws import decode_unverified, sign_compact
from vc.keys import Ed25519PrivateKey
from vc.sd_jwt import Disclosable, issue_sd_jwt, present
from vc.status_list import STATUS_LIST_TYP, StatusList


def mutants(rng: random.Random, text: str, n: int) -> list[str]:
    alphabet = "ABCxyz019-_.~={}[]\\\"' é가"
    out = []
    for _ in range(n):
        i = rng.randrange(len(text))
        kind = rng.randrange(5)
        if kind == 0:  # one character changed
            out.append(text[:i] + rng.choice(alphabet) + text[i + 1 :])
        elif kind == 1:  # cut short
            out.append(text[:i])
        elif kind == 2:  # a character dropped
            out.append(text[:i] + text[i + 1 :])
        elif kind == 3:  # a part repeated
            parts = text.split("~")
            j = rng.randrange(len(parts))
            out.append("~".join([*parts[: j + 1], parts[j], *parts[j + 1 :]]))
        else:  # two parts swapped
            parts = text.split("~")
            a, b = rng.randrange(len(parts)), rng.randrange(len(parts))
            parts[a], parts[b] = parts[b], parts[a]
            out.append("~".join(parts))
    return out


def status_tokens(rng: random.Random, fixture: Fixture, now: int) -> list[str]:
    """Status List Tokens signed by the trusted issuer with the claim shapes a careless or hostile
    issuer could send (the checks after the signature), and tampered copies of a good one."""
    small = StatusList.from_statuses([0, 1, 2, 3] * 4, bits=2)
    good = {
        "sub": STATUS_URI,
        "iat": now,
        "ttl": 300,
        "status_list": small.to_json(),
    }
    variants: list[dict[str, Any]] = [
        good,
        {**good, "exp": now + 60},
        {**good, "exp": now - 3600},
        {**good, "sub": STATUS_URI + "/other"},
        {**good, "iat": now + 3600},
        *({**good, "iat": v} for v in (None, "1", float(now), True)),
        *({**good, "ttl": v} for v in (0, -5, "300", 1.5, True)),
        *({**good, "exp": v} for v in ("soon", 1.0e12, [now])),
        *(
            {**good, "status_list": {**small.to_json(), "bits": v}}
            for v in (True, 1.0, "2", None, 3, 16, -2, 2**63 - 1)
        ),
        *(
            {**good, "status_list": {**small.to_json(), "lst": v}}
            for v in ("", "!!", "eNo", 7, None, "eJzLSM3JyVcozy/KSQEAGgQEXQ", "A" * 5000)
        ),
        *({**good, "status_list": v} for v in (None, [], "x", {"bits": 2}, {"lst": 1})),
    ]
    sign = functools.partial(sign_compact, key=fixture.key, typ=STATUS_LIST_TYP)
    tokens = [sign(v) for v in variants]
    tokens += mutants(rng, tokens[0], 60)
    tokens += [
        sign(good).replace(".", "", 1),
        "",
        "a.b.c",
        sign_compact(good, Ed25519PrivateKey.generate()),
    ]
    return tokens


def metadata_documents(rng: random.Random, metadata: dict[str, Any]) -> list[Any]:
    """JWT VC Issuer Metadata documents, good and bad, as a metadata endpoint could serve them."""
    (jwk,) = metadata["jwks"]["keys"]
    keyed = functools.partial(lambda keys: {**metadata, "jwks": {"keys": keys}})
    documents: list[Any] = [
        metadata,
        {**metadata, "issuer": metadata["issuer"] + "/"},
        {"issuer": metadata["issuer"]},
        {**metadata, "jwks_uri": "https://elsewhere.example/jwks"},
        {"issuer": metadata["issuer"], "jwks_uri": "https://elsewhere.example/jwks"},
        {**metadata, "jwks": []},
        None,
        [metadata],
        "metadata",
        keyed([]),
        keyed([jwk] * 40),
        keyed([{**jwk, "kid": 7}, {**jwk, "kid": "second"}]),
        keyed([{**jwk, "crv": "Ed448"}]),
        keyed([{**jwk, "x": "not base64!"}]),
        keyed([{**jwk, "x": jwk["x"][:-4]}]),
        keyed([{**jwk, "d": jwk["x"]}]),
        keyed([{**jwk, "kty": "EC", "crv": "P-256"}]),
        keyed(["a string"]),
        keyed([{**jwk, "kid": "a", "use": "sig", "alg": "EdDSA", "key_ops": ["verify"]}]),
    ]
    for _ in range(40):
        entry = dict(jwk)
        name = rng.choice(sorted(entry))
        entry[name] = rng.choice([None, 0, "", True, [], {}, entry[name][::-1]])
        documents.append(keyed([entry]))
    return documents


def lists() -> list[list[Any]]:
    """`lst` and `bits` pairs for `StatusList.decode`, as they arrive from JSON."""
    lst = StatusList.from_statuses([1, 0, 1, 1], bits=1).encode()
    bits: list[Any] = [1, 2, 4, 8, True, False, 1.0, "1", None, 0, 3, [1], 2**64]
    return [[lst, b] for b in bits] + [[v, 1] for v in ("", "=", "eJw", lst + "A", lst[:-1])]


ODD = [None, 5, 1.5, True, "", "x", [], ["a"], {}, {"a": 1}, 2**40]


def policies() -> list[Any]:
    """Gate policies as a policy file could hold them: a full valid one, then each setting (and
    each trusted issuer's) in turn set to each odd JSON value."""
    issuer = {
        "issuer": "https://id.example.go.kr",
        "name": "행정안전부",
        "vct_values": ["https://id.example.go.kr/types/employee-id/v1"],
        "status_origins": ["https://status.example.go.kr/"],
        "status_lists": [],
    }
    base: dict[str, Any] = {
        "gate_id": "sejong-07",
        "site": "sejong",
        "audience": "gate:sejong:07",
        "purpose": "gate",
        "trusted_issuers": [issuer],
        "central_url": "https://central.example.go.kr/",
        "central_token": "t0ken",
        "retention_days": 30,
        "replay_store": "/var/lib/gate/replay.sqlite3",
        "allow_insecure_loopback": False,
        "stale_status": "fail_open",
        "required_claims": ["agency_code"],
        "displayed_claims": ["name"],
        "algorithms": ["EdDSA"],
        "allowed_agencies": ["1741000"],
        "max_status_age_s": 600,
        "kb_window_s": 20,
        "clock_skew_s": 3,
        "member_id_claim": "opaque_id",
    }
    policies: list[Any] = [base, {**base, "purpose": "library", "member_id_secret_env": "LIB"}]
    policies += [{**base, name: value} for name in base for value in ODD]
    policies += [{**base, "trusted_issuers": [{**issuer, k: v}]} for k in issuer for v in ODD]
    policies += [{**base, "purpose": "library", "member_id_secret_env": v} for v in ODD]
    policies += [{**base, "central_token_env": v} for v in ODD]
    policies += [None, [], "policy", {}]
    return policies


def odd_credentials(fixture: Fixture, audience: str) -> list[str]:
    """Presentations of credentials the trusted issuer did sign, with a claim of an odd type
    each: what a verifier meets when an issuer's data or code goes wrong."""
    holder = fixture.holders[0]
    good = decode_unverified(fixture.credentials[0].split("~")[0])[1]
    plain = {k: v for k, v in good.items() if k not in ("_sd", "_sd_alg")}
    claims = {
        "employee_number": "2019001000",
        "name": "홍길동",
        "agency": "행정안전부",
        "agency_code": "1741000",
        "department": "디지털정부과",
        "active_public_servant_of": "1741000",
        "opaque_id": "b3BhcXVl",
    }
    variants = [dict(claims)]
    variants += [{**claims, name: value} for name in claims for value in ODD]
    bodies: list[dict[Any, Any]] = []
    for variant in variants:
        bodies.append({**plain, **{Disclosable(k): v for k, v in variant.items()}})
    for name in ("iss", "vct", "exp", "iat", "nbf", "cnf", "status"):
        bodies += [
            {**plain, name: v, **{Disclosable(k): c for k, c in claims.items()}} for v in ODD
        ]
    out = []
    for body in bodies:
        credential = issue_sd_jwt(body, fixture.key, typ="dc+sd-jwt", headers={"kid": fixture.kid})
        names = [(c,) for c in sorted(PURPOSES[Purpose.gate])]
        try:
            out.append(
                present(
                    credential,
                    select=names,
                    holder_key=holder,
                    audience=audience,
                    nonce=f"n{len(out)}",
                    iat=int(time.time()),
                )
            )
        except VCError:  # the holder refuses to present it: nothing for a gate to see
            continue
    return out
