"""Fixed keys, a fixed clock and small builders for valid credentials and presentations.

Every negative test starts from one of these valid objects and changes exactly one thing, so the
error it expects can only come from that change.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vc.base64url import b64url_encode
from vc.jws import decode_unverified, sign_compact
from vc.keys import Ed25519PrivateKey, PrivateKey
from vc.sd_jwt import create_key_binding_jwt, present
from vc.sd_jwt_vc import issue_sd_jwt_vc, status_reference

NOW = 1_800_000_000  # injected clock for every verification
AUDIENCE = "x509_san_dns:gate.mobileid.example"
NONCE = "n-0S6_WzA2Mj"
ISSUER = "https://issuer.mobileid.example"
VCT = "https://mobileid.example/vct/civil-servant-id/1"
STATUS_URI = "https://issuer.mobileid.example/status/1"
KID = "issuer-key-2026"

ISSUER_KEY = Ed25519PrivateKey(bytes(range(32)))
HOLDER_KEY = Ed25519PrivateKey(bytes(range(32, 64)))
OTHER_KEY = Ed25519PrivateKey(bytes(range(64, 96)))

EMPLOYEE_CLAIMS: dict[str, Any] = {
    "given_name": "길동",
    "family_name": "홍",
    "employee_no": "MOIS-2026-00042",
    "organization": "행정안전부",
    "department": "디지털정부혁신실",
    "position": "사무관",
    "birthdate": "1990-03-01",
    "photo_sha256": "q9TcaHk0vO3mK1Jj5i0uEw",
}
DISCLOSABLE = ("given_name", "family_name", "employee_no", "department", "position", "birthdate")


def seeded_rng(seed: int = 7) -> Callable[[int], bytes]:
    """Reproducible salts and decoys (style habit 6)."""
    return random.Random(seed).randbytes


def issue_credential(**overrides: Any) -> str:
    """A valid compact `dc+sd-jwt` employee credential bound to HOLDER_KEY."""
    args: dict[str, Any] = {
        "issuer": ISSUER,
        "vct": VCT,
        "claims": EMPLOYEE_CLAIMS,
        "disclosable": DISCLOSABLE,
        "key": ISSUER_KEY,
        "kid": KID,
        "holder_jwk": HOLDER_KEY.public_key.to_jwk(),
        "iat": NOW - 86_400,
        "exp": NOW + 86_400,
        "status": status_reference(5, STATUS_URI),
        "rng": seeded_rng(),
    }
    args.update(overrides)
    return issue_sd_jwt_vc(**args)


def present_with_kb(sd_jwt: str, *, key: PrivateKey = HOLDER_KEY, **overrides: Any) -> str:
    """Disclose everything and bind to AUDIENCE / NONCE at NOW."""
    args: dict[str, Any] = {"audience": AUDIENCE, "nonce": NONCE, "iat": NOW}
    args.update(overrides)
    return present(sd_jwt, select=lambda _path: True, holder_key=key, **args)


def verify_args(**overrides: Any) -> dict[str, Any]:
    """`verify_sd_jwt_vc` arguments that accept `present_with_kb(issue_credential())`."""
    args: dict[str, Any] = {
        "issuer_key": ISSUER_KEY.public_key,
        "algorithms": ["EdDSA"],
        "key_binding": True,
        "audience": AUDIENCE,
        "nonce": NONCE,
        "now": NOW,
    }
    args.update(overrides)
    return args


def split(sd_jwt: str) -> tuple[str, list[str], str]:
    """(issuer JWT, disclosures, KB-JWT or '') of a compact SD-JWT(+KB)."""
    parts = sd_jwt.split("~")
    return parts[0], parts[1:-1], parts[-1]


def join(jwt: str, disclosures: Sequence[str], kb_jwt: str = "") -> str:
    return jwt + "~" + "".join(d + "~" for d in disclosures) + kb_jwt


def kb_jwt_for(
    jwt: str,
    disclosures: Sequence[str],
    *,
    key: PrivateKey = HOLDER_KEY,
    audience: str = AUDIENCE,
    nonce: str = NONCE,
    iat: int = NOW,
) -> str:
    """A correct KB-JWT over exactly this issuer JWT and these disclosures."""
    return create_key_binding_jwt(
        key, sd_hash_input=join(jwt, disclosures), audience=audience, nonce=nonce, iat=iat
    )


def with_kb(jwt: str, disclosures: Sequence[str], **kb: Any) -> str:
    """The presentation of `disclosures`, with a KB-JWT that is right for it."""
    return join(jwt, disclosures, kb_jwt_for(jwt, disclosures, **kb))


def encode_disclosure(items: list[Any]) -> str:
    """A disclosure as an issuer would write it (compact JSON, base64url)."""
    return b64url_encode(json.dumps(items, ensure_ascii=False).encode("utf-8"))


def digest(encoded: str) -> str:
    """sha-256 digest of a disclosure string, computed here so malformed ones can be referenced."""
    return b64url_encode(hashlib.sha256(encoded.encode("ascii")).digest())


def resign(
    jwt: str,
    change: Callable[[dict[str, Any]], None],
    *,
    key: PrivateKey = ISSUER_KEY,
    header: Mapping[str, Any] | None = None,
) -> str:
    """The issuer JWT with its payload changed by `change`, validly signed again by `key`."""
    old_header, payload, _, _ = decode_unverified(jwt)
    change(payload)
    new_header = {k: v for k, v in (header or old_header).items() if k not in ("alg", "typ")}
    typ = (header or old_header).get("typ")
    return sign_compact(payload, key, typ=typ, headers=new_header)
