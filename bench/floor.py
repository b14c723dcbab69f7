"""The signature floor the verification benchmarks measure against: raw PyNaCl Ed25519 verify.

A presentation costs two Ed25519 verifications: of its issuer JWT's signing input (about 1.4 KB)
and of its KB-JWT's (about 0.2 KB). SHA-512 over the longer message is a few percent of a
verification, so the raw rate is measured on a presentation's own two signing inputs in turns,
each signed afresh with a plain PyNaCl key; n raw verifications then cost what the signatures of
n / 2 presentations cost, and the limit for whole presentations is half the raw rate.
"""

from __future__ import annotations

from collections.abc import Callable

import nacl.signing


def raw_verifier(presentation: str) -> Callable[[int], object]:
    """`verify(i)`: PyNaCl's `VerifyKey.verify` of the issuer JWT's (even i) or the KB-JWT's
    (odd i) signing input of `presentation` (compact SD-JWT+KB)."""
    issuer_jwt, _, rest = presentation.partition("~")
    kb_jwt = rest.rsplit("~", 1)[-1]
    if issuer_jwt.count(".") != 2 or kb_jwt.count(".") != 2:
        raise ValueError("a compact SD-JWT+KB presentation is needed")
    key = nacl.signing.SigningKey.generate()
    signed = [key.sign(jws.rpartition(".")[0].encode("ascii")) for jws in (issuer_jwt, kb_jwt)]
    pairs = [(s.message, s.signature) for s in signed]
    verify_key = key.verify_key

    def verify(i: int) -> object:
        message, signature = pairs[i & 1]
        return verify_key.verify(message, signature)

    return verify
