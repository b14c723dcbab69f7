"""DCQL evaluation (`vc.dcql`) on the OpenID4VP 1.0 example queries and on our own cases.

Queries are the OpenID4VP 1.0 examples in tests/vectors/openid4vp/query_lang/; the wallets and the
expected outcomes are our data in data/dcql_cases.json, one named case each.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vectors import read_json

from vc.dcql import Candidate, match_dcql, parse_dcql_query
from vc.errors import ClaimsError, FormatError, VCError

CASES = json.loads((Path(__file__).parent / "data" / "dcql_cases.json").read_text("utf-8"))


def _query(case: dict[str, Any]) -> Any:
    if "query_file" in case:
        return read_json("openid4vp", "query_lang", case["query_file"])
    return case["query"]


def _candidates(case: dict[str, Any]) -> list[Candidate]:
    return [
        Candidate(
            ref=c["ref"],
            format="dc+sd-jwt",
            claims={"vct": c["vct"], **c["claims"]},
            holder_bound=c.get("holder_bound", True),
        )
        for c in case["wallet"]
    ]


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_dcql_case(case: dict[str, Any]) -> None:
    query = parse_dcql_query(_query(case))
    if case["expect"] == "unsatisfied":
        with pytest.raises(ClaimsError) as caught:
            match_dcql(query, _candidates(case))
        assert caught.value.code == "missing_claim"
        return
    result = match_dcql(query, _candidates(case))
    got = {
        query_id: [[m.candidate.ref, [list(p) for p in m.disclose]] for m in matches]
        for query_id, matches in result.presentations.items()
    }
    assert got == case["expect"]


@pytest.mark.parametrize(
    "case", CASES["invalid_queries"], ids=[c["name"] for c in CASES["invalid_queries"]]
)
def test_invalid_query_is_malformed(case: dict[str, Any]) -> None:
    with pytest.raises(FormatError) as caught:
        parse_dcql_query(case["query"])
    assert caught.value.code == "malformed"


def test_every_example_query_parses() -> None:
    for name in (
        "simple",
        "claims_alternatives",
        "credentials_alternatives",
        "multi_credentials",
        "value_matching_simple",
        "simple_mdoc",
        "complex_mdoc",
    ):
        parse_dcql_query(read_json("openid4vp", "query_lang", f"{name}.json"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values, json_values)
def test_garbage_never_crashes(query: Any, claims: Any) -> None:
    try:
        parsed = parse_dcql_query(query)
    except VCError:
        return
    candidate = Candidate("x", "dc+sd-jwt", claims if isinstance(claims, dict) else {})
    with contextlib.suppress(VCError):
        match_dcql(parsed, [candidate])
