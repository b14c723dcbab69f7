"""vc.status_list: LSB-first packing for 1, 2, 4 and 8 bits, encoding, and the token round trip."""

from __future__ import annotations

import zlib

import pytest
from vc_factory import ISSUER_KEY, NOW

from vc.base64url import b64url_decode
from vc.errors import Code, VCError
from vc.jws import decode_unverified, sign_compact
from vc.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    sign_status_list_token,
    verify_status_list_token,
)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_set_get_every_value_at_every_offset(bits: int) -> None:
    size = 8 * 3
    status_list = StatusList(size, bits)
    values = [i % (1 << bits) for i in range(size)]
    for idx, value in enumerate(values):
        status_list.set(idx, value)
    assert [status_list.get(i) for i in range(size)] == values
    status_list.set(size - 1, 0)  # clearing one entry leaves its neighbours alone
    assert [status_list.get(i) for i in range(size - 1)] == values[:-1]
    assert len(status_list.to_bytes()) == size * bits // 8


def test_packing_is_lsb_first() -> None:
    assert StatusList.from_statuses([1, 0, 0, 0, 0, 0, 0, 0], 1).to_bytes() == b"\x01"
    assert StatusList.from_statuses([0, 0, 0, 0, 0, 0, 0, 1], 1).to_bytes() == b"\x80"
    assert StatusList.from_statuses([1, 2, 0, 3], 2).to_bytes() == bytes([0b11_00_10_01])
    assert StatusList.from_statuses([0xA, 0x5], 4).to_bytes() == b"\x5a"


def test_encoding_is_zlib_level_9() -> None:
    lst = StatusList.from_statuses([1, 0, 1], 1).encode()
    raw = b64url_decode(lst)
    assert raw[:2] == b"\x78\xda"  # RFC 1950 header, best compression
    assert zlib.decompress(raw) == b"\x05"


@pytest.mark.parametrize(
    ("size", "bits", "data"),
    [
        (0, 1, None),
        (-1, 1, None),
        (8, 3, None),
        (8, 16, None),
        (9, 1, b"\x00"),
        (8, 1.0, None),
        (8, True, None),
        (1.5, 1, None),
    ],
    ids=[
        "empty",
        "negative",
        "bits_3",
        "bits_16",
        "data_too_short",
        "bits_float",
        "bits_bool",
        "size_float",
    ],
)
def test_constructor_refuses(size: int, bits: int, data: bytes | None) -> None:
    with pytest.raises(VCError) as info:
        StatusList(size, bits, data)
    assert info.value.code == Code.malformed


@pytest.mark.parametrize(("bits", "value"), [(1, 2), (2, 4), (4, 16), (8, 256), (8, -1), (2, "1")])
def test_set_refuses_values_that_do_not_fit(bits: int, value: object) -> None:
    status_list = StatusList(8, bits)
    with pytest.raises(VCError) as info:
        status_list.set(0, value)  # type: ignore[arg-type]
    assert info.value.code == Code.invalid_status_list


@pytest.mark.parametrize("idx", [8, -1, 2**40, None, 1.0])
def test_index_out_of_range(idx: object) -> None:
    status_list = StatusList(8, 1)
    for call in (lambda: status_list.get(idx), lambda: status_list.set(idx, 1)):  # type: ignore[arg-type]
        with pytest.raises(VCError) as info:
            call()
        assert info.value.code == Code.status_index_out_of_range


def test_token_round_trip() -> None:
    status_list = StatusList(1 << 17, 2)
    status_list.set(70_000, SUSPENDED)
    status_list.set(131_071, INVALID)
    token = sign_status_list_token(
        status_list,
        ISSUER_KEY,
        kid="k",
        sub="https://s.example/1",
        iat=NOW,
        exp=NOW + 600,
        ttl=3600,
    )
    header, payload, _, _ = decode_unverified(token)
    assert header == {"alg": "EdDSA", "kid": "k", "typ": "statuslist+jwt"}
    assert payload["status_list"] == {"bits": 2, "lst": status_list.encode()}
    verified = verify_status_list_token(
        token, ISSUER_KEY.public_key, uri="https://s.example/1", algorithms=["EdDSA"], now=NOW
    )
    assert verified.status(70_000) == SUSPENDED
    assert verified.status(131_071) == INVALID
    assert verified.status(0) == VALID
    assert verified.expires_at == NOW + 600  # exp is earlier than iat + ttl
    assert verified.issuer is None


def test_token_without_exp_and_ttl_has_no_expiry() -> None:
    token = sign_status_list_token(StatusList(8), ISSUER_KEY, kid=None, sub="u", iat=NOW)
    verified = verify_status_list_token(
        token, ISSUER_KEY.public_key, uri="u", algorithms=["EdDSA"], now=NOW
    )
    assert verified.expires_at is None
    assert "kid" not in decode_unverified(token)[0]


@pytest.mark.parametrize("bits", [1.0, True, "1", None, 3])
def test_decode_refuses_bits_that_are_not_an_allowed_integer(bits: object) -> None:
    """JSON `1.0` and `true` compare equal to 1 in Python; a verifier must still refuse them."""
    lst = StatusList(8, 1).encode()
    with pytest.raises(VCError) as info:
        StatusList.decode(lst, bits)
    assert info.value.code == Code.invalid_status_list
    token = sign_compact(
        {"sub": "u", "iat": NOW, "status_list": {"bits": bits, "lst": lst}},
        ISSUER_KEY,
        typ="statuslist+jwt",
    )
    with pytest.raises(VCError) as info:
        verify_status_list_token(
            token, ISSUER_KEY.public_key, uri="u", algorithms=["EdDSA"], now=NOW
        )
    assert info.value.code == Code.invalid_status_list


ODD_JSON = [None, 5, 1.5, True, "", "x", [], ["a"], {}, {"a": 1}, 2**40]


@pytest.mark.parametrize("claim", ["iat", "exp", "ttl", "status_list", "bits", "lst"])
@pytest.mark.parametrize("value", ODD_JSON, ids=repr)
def test_a_signed_token_with_any_json_in_a_claim_is_read_or_refused_with_a_vc_error(
    claim: str, value: object
) -> None:
    """The list's signer decides the claims' types: each of iat, exp, ttl, status_list, bits and
    lst set to any JSON value is refused with a VCError, never a TypeError inside the verifier;
    only an integer time (or a null exp/ttl, read as absent) passes."""
    body = StatusList.from_statuses([0, 1, 2, 3] * 4, bits=2).to_json()
    payload = {"sub": "u", "iat": NOW, "ttl": 300, "status_list": body}
    (body if claim in body else payload)[claim] = value
    token = sign_compact(payload, ISSUER_KEY, typ="statuslist+jwt")
    try:
        verified = verify_status_list_token(
            token, ISSUER_KEY.public_key, uri="u", algorithms=["EdDSA"], now=NOW
        )
    except VCError:
        return
    assert claim in ("iat", "exp", "ttl") and (type(value) is int or value is None)
    assert verified.status(3) == 3


def test_token_carries_the_aggregation_uri() -> None:
    token = sign_status_list_token(
        StatusList(8, 2),
        ISSUER_KEY,
        kid=None,
        sub="https://s.example/1",
        iat=NOW,
        aggregation_uri="https://s.example/status-lists",
    )
    status_list = decode_unverified(token)[1]["status_list"]
    assert status_list["aggregation_uri"] == "https://s.example/status-lists"
    verify_status_list_token(
        token, ISSUER_KEY.public_key, uri="https://s.example/1", algorithms=["EdDSA"], now=NOW
    )
