"""An issuer that requires DPoP (`MOBILEID_DPOP_REQUIRED=true`, as HAIP asks) refuses a token
request without a proof, and still serves wallets that send one, ours included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from issuer_kit import approved_offer, onboard_wallet

from vc.dpop import create_dpop_proof
from vc.openid4vci import PRE_AUTHORIZED_GRANT


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    return {**server_env, "MOBILEID_DPOP_REQUIRED": "true"}


def test_a_token_request_without_a_proof_is_refused(live_server: Any, tmp_path: Path) -> None:
    holder, code, tx = approved_offer(live_server, tmp_path)
    refused = holder.token(code, tx)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": tx}
    proof = create_dpop_proof(
        holder.key, htm="POST", htu=live_server.url + "/token", iat=live_server.clock.timestamp()
    )
    granted = live_server.client.post("/token", data=form, headers={"DPoP": proof})
    assert granted.status_code == 200 and granted.json()["token_type"] == "DPoP"


def test_the_wallet_simulator_is_served(live_server: Any, tmp_path: Path) -> None:
    onboard_wallet(live_server, tmp_path / "phone", "493817")  # fails unless it got a credential
