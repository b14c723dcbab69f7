"""verifier.policy: a gate policy file holds whatever its editor typed. Every setting, and every
trusted issuer's, of every JSON type is read or refused with a `PolicyError` (one clear line for
the operator), never a `TypeError` from deep inside the parser."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from verifier.errors import VerifierError
from verifier.policy import PolicyError, parse_gate_policy

ODD_JSON: list[Any] = [None, 5, 1.5, True, "", "x", [], ["a"], {}, {"a": 1}, 2**40]
ENVIRON = {"LIB": "library-secret-0123456789abcdef"}
ISSUER: dict[str, Any] = {
    "issuer": "https://id.example.go.kr",
    "name": "행정안전부",
    "vct_values": ["https://id.example.go.kr/types/employee-id/v1"],
    "status_origins": ["https://status.example.go.kr/"],
    "status_lists": [],
}
POLICY: dict[str, Any] = {
    "gate_id": "sejong-07",
    "site": "sejong",
    "audience": "gate:sejong:07",
    "purpose": "gate",
    "trusted_issuers": [ISSUER],
    "central_url": "https://central.example.go.kr/",
    "central_token": "t0ken",
    "retention_days": 30,
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
    "member_id_secret_env": "LIB",
    "central_token_env": "LIB",
}


def _read_or_refused(data: Any) -> None:
    with contextlib.suppress(PolicyError):
        parse_gate_policy(data, environ=ENVIRON)


def test_the_base_policy_is_read() -> None:
    policy = parse_gate_policy(POLICY, environ=ENVIRON)
    assert policy.gate_id == "sejong-07" and policy.retention_days == 30
    library = parse_gate_policy({**POLICY, "purpose": "library"}, environ=ENVIRON)
    assert library.verification.member_id_secret == ENVIRON["LIB"].encode()


@pytest.mark.parametrize("name", sorted(POLICY))
def test_a_setting_of_any_json_type_is_read_or_a_policy_error(name: str) -> None:
    for value in ODD_JSON:
        _read_or_refused({**POLICY, name: value})
        _read_or_refused({**POLICY, "purpose": "library", name: value})


@pytest.mark.parametrize("name", sorted(ISSUER))
def test_a_trusted_issuer_setting_of_any_json_type_is_read_or_a_policy_error(name: str) -> None:
    for value in ODD_JSON:
        _read_or_refused({**POLICY, "trusted_issuers": [{**ISSUER, name: value}]})


@pytest.mark.parametrize("data", [None, [], "policy", {}, 5])
def test_a_policy_that_is_not_an_object_is_a_policy_error(data: Any) -> None:
    with pytest.raises(PolicyError):
        parse_gate_policy(data, environ=ENVIRON)


@pytest.mark.parametrize("gate_id", [7, ["g"], {"id": "g"}, True, "", "g" * 65])
def test_a_gate_id_that_is_not_1_to_64_characters_is_refused(gate_id: Any) -> None:
    with pytest.raises(PolicyError, match="'gate_id' is required"):
        parse_gate_policy({**POLICY, "gate_id": gate_id}, environ=ENVIRON)


def test_a_number_out_of_bounds_is_refused_with_its_bounds() -> None:
    with pytest.raises(PolicyError, match=r"'kb_window_s' must be a number in \[1, 600\]"):
        parse_gate_policy({**POLICY, "kb_window_s": True}, environ=ENVIRON)


def test_a_policy_error_is_the_verifiers_with_a_stable_code() -> None:
    with pytest.raises(VerifierError) as refused:
        parse_gate_policy({**POLICY, "site": "busan"}, environ=ENVIRON)
    assert type(refused.value) is PolicyError and not isinstance(refused.value, ValueError)
    assert refused.value.code == "invalid_policy"
    assert refused.value.detail.startswith("'site' must be one of")


def test_a_secret_named_by_variable_comes_only_from_the_environ_given() -> None:
    without_secret = {k: v for k, v in POLICY.items() if k != "member_id_secret_env"}
    assert parse_gate_policy(without_secret).central_token is None  # no environ: nothing is set
    assert parse_gate_policy(without_secret, environ=ENVIRON).central_token == ENVIRON["LIB"]
    with pytest.raises(PolicyError, match="member_id_secret_env names an unset variable"):
        parse_gate_policy({**POLICY, "purpose": "library"})
