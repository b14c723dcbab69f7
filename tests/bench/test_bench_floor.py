"""The benchmarks' signature floor verifies a presentation's own two signing inputs in turns."""

from __future__ import annotations

import pytest

from bench.floor import raw_verifier
from vc.keys import Ed25519PrivateKey
from vc.sd_jwt import present
from vc.sd_jwt_vc import issue_sd_jwt_vc

pytestmark = pytest.mark.bench


def test_floor_alternates_the_issuer_and_kb_signing_inputs() -> None:
    issuer, holder = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    credential = issue_sd_jwt_vc(
        issuer="https://issuer.example",
        vct="https://issuer.example/employee",
        claims={"name": "홍길동", "agency": "행정안전부"},
        disclosable={"name", "agency"},
        key=issuer,
        kid="k1",
        holder_jwk=holder.public_key.to_jwk(),
        iat=1_700_000_000,
        exp=1_900_000_000,
    )
    presentation = present(
        credential, select=[("name",)], holder_key=holder, audience="gate", nonce="n", iat=1
    )
    issuer_jwt, kb_jwt = presentation.split("~")[0], presentation.split("~")[-1]
    verify = raw_verifier(presentation)
    assert verify(0) == issuer_jwt.rpartition(".")[0].encode()
    assert verify(1) == kb_jwt.rpartition(".")[0].encode()
    assert verify(2) == verify(0)
    with pytest.raises(ValueError):
        raw_verifier(credential)  # no KB-JWT: not a presentation
