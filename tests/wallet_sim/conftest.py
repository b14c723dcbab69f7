"""Shared set-up for the wallet simulator tests (fake issuer, opened wallets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wallet_fakes import PIN, FakeIssuer

from wallet_sim.holder import Holder
from wallet_sim.http import new_client
from wallet_sim.store import INTERACTIVE, UnlockedWallet, WalletStore


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The wallet does not care which database the issuer uses: SQLite only, once per test."""
    return f"sqlite:///{tmp_path / 'issuer.sqlite3'}"


@pytest.fixture
def fake_issuer() -> FakeIssuer:
    return FakeIssuer()


@pytest.fixture
def store(tmp_path: Path) -> WalletStore:
    return WalletStore(tmp_path / "phone", kdf_limits=INTERACTIVE)


@pytest.fixture
def onboarded(store: WalletStore, fake_issuer: FakeIssuer) -> UnlockedWallet:
    """A wallet holding one credential from the fake issuer."""
    wallet = store.create(PIN)
    with new_client(fake_issuer.transport()) as client:
        holder = Holder(client)
        preview = holder.resolve_offer(fake_issuer.link_by_value())
        holder.accept(preview, tx_code=fake_issuer.tx_code, wallet=wallet)
    return wallet
