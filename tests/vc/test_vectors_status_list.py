"""Token Status List (draft-ietf-oauth-status-list-20) examples: every `bits` value byte for byte,
and the signed example Status List Token.

The expected statuses of the 2^20-entry lists are the draft's appendix "Test vectors for Status
List encoding", kept as data in `data/status_list_long.json`; the short ones are in
`data/status_list_short.json`.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from vectors import read_text

from vc.jws import decode_unverified
from vc.keys import private_key_from_jwk, public_key_from_jwk
from vc.status_list import INVALID, VALID, StatusList, verify_status_list_token

DATA = Path(__file__).resolve().parent / "data"
SHORT = json.loads((DATA / "status_list_short.json").read_text(encoding="utf-8"))["cases"]
LONG = json.loads((DATA / "status_list_long.json").read_text(encoding="utf-8"))["cases"]
ENCODING_FILES = [
    "status_list_encoding_json.md",
    "status_list_encoding2_json.md",
    "status_list_encoding1_long_json.md",
    "status_list_encoding2_long_json.md",
    "status_list_encoding4_json.md",
    "status_list_encoding8_json.md",
]


def _encoding(file: str) -> tuple[int, str]:
    """(bits, lst) of one example file; the long `lst` strings are wrapped over several lines."""
    text = read_text("status_list", file)
    bits = re.search(r'"bits":\s*(\d+)', text)
    lst = re.search(r'"lst":\s*"([^"]*)"', text)
    assert bits and lst, file
    return int(bits[1]), "".join(lst[1].split())


def test_data_files_cover_every_example() -> None:
    assert sorted(c["file"] for c in SHORT + LONG) == sorted(ENCODING_FILES)
    assert sorted({c["bits"] for c in LONG}) == [1, 2, 4, 8]


@pytest.mark.parametrize(
    "file", ENCODING_FILES, ids=[f.removesuffix("_json.md") for f in ENCODING_FILES]
)
def test_decode_then_encode_is_byte_exact(file: str) -> None:
    bits, lst = _encoding(file)
    assert StatusList.decode(lst, bits).encode() == lst


@pytest.mark.parametrize("case", SHORT, ids=[c["name"] for c in SHORT])
def test_short_example_statuses_encode_exactly(case: dict[str, Any]) -> None:
    bits, lst = _encoding(case["file"])
    assert (bits, lst) == (case["bits"], case["lst"])
    built = StatusList.from_statuses(case["statuses"], bits)
    assert built.to_bytes() == bytes.fromhex(case["bytes"])
    assert built.encode() == lst
    decoded = StatusList.decode(lst, bits)
    assert decoded.size == len(case["statuses"])
    assert [decoded.get(i) for i in range(decoded.size)] == case["statuses"]


@pytest.mark.parametrize("case", LONG, ids=[c["name"] for c in LONG])
def test_long_example_decodes_to_the_appendix_statuses(case: dict[str, Any]) -> None:
    bits, lst = _encoding(case["file"])
    assert bits == case["bits"]
    decoded = StatusList.decode(lst, bits)
    assert decoded.size == case["size"] == 2**20
    expected = dict((idx, value) for idx, value in case["statuses"])  # later entries win
    for idx, value in expected.items():
        assert decoded.get(idx) == value, idx
    raw = decoded.to_bytes()
    per_byte, mask = 8 // bits, (1 << bits) - 1
    nonzero = {
        pos * per_byte + k
        for pos, byte in enumerate(raw)
        if byte
        for k in range(per_byte)
        if (byte >> (k * bits)) & mask
    }
    assert nonzero == {idx for idx, value in expected.items() if value}


@pytest.mark.parametrize("case", LONG, ids=[c["name"] for c in LONG])
def test_long_example_statuses_encode_exactly(case: dict[str, Any]) -> None:
    built = StatusList(case["size"], case["bits"])
    for idx, value in case["statuses"]:
        built.set(idx, value)
    assert built.encode() == _encoding(case["file"])[1]


def _example_key() -> dict[str, str]:
    """The P-256 key (kid `12`) that signed the example token: the `example` dict of the draft's
    generator script `src/util.py`, kept as `util.py.txt` and read as data, never run."""
    module = ast.parse(read_text("status_list", "util.py.txt"))
    (value,) = (
        node.value
        for node in module.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets) == "example"
    )
    key: dict[str, str] = ast.literal_eval(value)
    return key


def test_signed_example_token_verifies_with_example_key() -> None:
    token = "".join(read_text("status_list", "status_list_jwt_raw.md").split())
    jwk = _example_key()
    assert (jwk["kid"], jwk["alg"]) == ("12", "ES256")
    key = public_key_from_jwk({k: jwk[k] for k in ("kty", "crv", "x", "y")})
    assert (
        private_key_from_jwk({k: jwk[k] for k in ("kty", "crv", "x", "y", "d")}).public_key == key
    )
    uri = "https://example.com/statuslists/1"
    verified = verify_status_list_token(
        token, key, uri=uri, algorithms=["ES256"], now=1686920170 + 60
    )
    assert (verified.uri, verified.issuer) == (uri, "https://example.com")
    assert (verified.iat, verified.exp, verified.ttl) == (1686920170, 2291720170, 43200)
    assert verified.expires_at == 1686920170 + 43200
    assert verified.status_list.bits == 1
    assert verified.status_list.encode() == "eNrbuRgAAhcBXQ"
    assert [verified.status(i) for i in (0, 1, 2, 3)] == [INVALID, VALID, VALID, INVALID]


def test_signed_example_token_header_and_payload_match_the_readable_example() -> None:
    """`status_list_jwt.md` is the same token, pretty-printed (it lacks only the `iss`)."""
    text = read_text("status_list", "status_list_jwt.md")
    header_text, payload_text = text.split("\n.\n")
    token = "".join(read_text("status_list", "status_list_jwt_raw.md").split())
    header, payload, _, _ = decode_unverified(token)
    assert header == json.loads(header_text)
    assert {k: v for k, v in payload.items() if k != "iss"} == json.loads(payload_text)
