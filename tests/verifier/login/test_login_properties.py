"""Garbage in never crashes: `direct_post` bodies and `vp_token` shapes raise `VCError` or parse."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from vc.base64url import b64url_encode
from vc.dcql import check_presented_queries, parse_dcql_query
from vc.errors import VCError
from vc.openid4vp import decrypt_response, direct_post_form, parse_direct_post, response_kid

QUERY = parse_dcql_query(
    {
        "credentials": [
            {
                "id": "employee_id",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://x/v"]},
                "claims": [{"id": "name", "path": ["name"]}],
            },
            {
                "id": "other",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://x/v"]},
                "multiple": True,
            },
        ],
        "credential_sets": [
            {"options": [["employee_id"]]},
            {"options": [["other"]], "required": False},
        ],
    }
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes(body: bytes) -> None:
    with contextlib.suppress(VCError):
        parse_direct_post(body)


@settings(max_examples=300, deadline=None)
@given(JSON, st.one_of(st.none(), st.text(max_size=20)))
def test_any_vp_token_json(value: object, state: str | None) -> None:
    fields = {"vp_token": json.dumps(value)}
    if state is not None:
        fields["state"] = state
    try:
        parsed = parse_direct_post(urlencode(fields).encode())
    except VCError:
        return
    assert parsed.vp_token is not None
    try:
        check_presented_queries(QUERY, parsed.vp_token)
    except VCError:
        return
    assert "employee_id" in parsed.vp_token and len(parsed.vp_token["employee_id"]) == 1


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["employee_id", "other"]),
        st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=2),
        min_size=1,
    )
)
def test_round_trip(vp_token: dict[str, list[str]]) -> None:
    form = direct_post_form(vp_token, "state-1")
    parsed = parse_direct_post(urlencode(form).encode())
    assert parsed.vp_token == vp_token and parsed.state == "state-1"


_KEY = ec.generate_private_key(ec.SECP256R1())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=60
        ),
        min_size=5,
        max_size=5,
    ),
    st.dictionaries(st.sampled_from(["alg", "enc", "kid", "epk", "apu", "zip"]), JSON, max_size=4),
)
def test_garbage_encrypted_responses(parts: list[str], header: dict[str, object]) -> None:
    """Random JWE-shaped strings (with a random JSON header too) raise `VCError`, nothing else."""
    for token in (
        ".".join(parts),
        ".".join([b64url_encode(json.dumps(header).encode()), *parts[1:]]),
    ):
        with contextlib.suppress(VCError):
            response_kid(token)
        with contextlib.suppress(VCError):
            decrypt_response(token, _KEY, kid="k")
