"""The PIN-locked store: encryption at rest, salts, lockout and erase, PIN change, atomic writes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import nacl.pwhash
import pytest
from wallet_fakes import PIN

from vc.keys import ALG_EDDSA, ALG_ES256, P256PrivateKey
from wallet_sim.errors import WalletExists, WalletLocked, WalletNotFound, WrongPin
from wallet_sim.store import INTERACTIVE, MAX_PIN_FAILURES, UnlockedWallet, WalletStore

REPO = Path(__file__).resolve().parents[2]


def test_interactive_is_the_default_cost(tmp_path: Path) -> None:
    store = WalletStore(tmp_path)
    assert store.kdf_limits.opslimit >= nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
    assert store.kdf_limits.memlimit >= nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE


@pytest.mark.parametrize("alg", [ALG_EDDSA, ALG_ES256])
def test_the_device_id_and_key_come_from_the_injected_rng(tmp_path: Path, alg: str) -> None:
    def phone(name: str, seed: int) -> UnlockedWallet:
        rng = random.Random(seed).randbytes
        return WalletStore(tmp_path / name, kdf_limits=INTERACTIVE, rng=rng).create(PIN, alg=alg)

    first, again, other = phone("a", 1), phone("b", 1), phone("c", 2)
    assert first.device_id == again.device_id != other.device_id
    assert first.device_key.public_key == again.device_key.public_key
    assert first.device_key.public_key != other.device_key.public_key


def test_store_file_has_no_key_or_claim_in_plain_text(onboarded: UnlockedWallet) -> None:
    raw = onboarded.store.store_file.read_bytes()
    secrets = [onboarded.data["device_key"]["d"], onboarded.credentials[0]["credential"]]
    secrets += [v for v in onboarded.credentials[0]["claims"].values() if isinstance(v, str)]
    for secret in secrets:
        assert secret.encode() not in raw
        assert json.dumps(secret, ensure_ascii=False)[1:-1].encode() not in raw
    for name in ("김공무", "E-2024-0042", "1741000", "employee_number"):
        assert name.encode() not in raw
    header = json.loads(raw)
    assert set(header) == {"format", "device_id", "alg", "kdf", "sealed", "failures"}
    assert header["kdf"]["opslimit"] >= nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE


def test_two_stores_with_the_same_pin_have_different_salts(tmp_path: Path) -> None:
    a = WalletStore(tmp_path / "a").create(PIN)
    b = WalletStore(tmp_path / "b").create(PIN)
    ha = json.loads(a.store.store_file.read_bytes())
    hb = json.loads(b.store.store_file.read_bytes())
    assert ha["kdf"]["salt"] != hb["kdf"]["salt"]
    assert ha["sealed"][:32] != hb["sealed"][:32]  # nonces differ too


def test_every_save_uses_a_fresh_nonce(store: WalletStore) -> None:
    wallet = store.create(PIN)
    first = json.loads(store.store_file.read_bytes())["sealed"]
    wallet.save()
    second = json.loads(store.store_file.read_bytes())["sealed"]
    assert first[:32] != second[:32] and first != second


def test_unlock_round_trip_and_counter_reset(store: WalletStore) -> None:
    created = store.create(PIN, alg=ALG_ES256)
    with pytest.raises(WrongPin) as wrong:
        store.unlock("000000")
    assert wrong.value.remaining == MAX_PIN_FAILURES - 1
    opened = store.unlock(PIN)
    assert store.pin_state()["failures"] == 0
    assert opened.device_id == created.device_id
    assert isinstance(opened.device_key, P256PrivateKey)
    assert opened.device_key.public_key == created.device_key.public_key


def test_five_wrong_pins_lock_and_erase(onboarded: UnlockedWallet) -> None:
    store = onboarded.store
    for remaining in range(MAX_PIN_FAILURES - 1, 0, -1):
        with pytest.raises(WrongPin) as wrong:
            store.unlock("999999")
        assert wrong.value.remaining == remaining
    with pytest.raises(WalletLocked):
        store.unlock("999999")
    assert store.is_locked() and not store.exists()
    header = json.loads(store.store_file.read_bytes())
    assert "sealed" not in header and "kdf" not in header  # credentials and key are gone
    with pytest.raises(WalletLocked):  # even the right PIN no longer opens it
        store.unlock(PIN)
    # the lock survives a fresh store object and a new process
    assert WalletStore(store.path).is_locked()
    out = subprocess.run(
        [sys.executable, "-m", "mobileid.cli_wallet", "export-status", "--wallet", str(store.path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert json.loads(out.stdout) == {
        "exists": False,
        "failures": MAX_PIN_FAILURES,
        "locked": True,
        "locked_at": header["erased_at"],
    }
    code = (
        "import sys; from wallet_sim.store import WalletStore; "
        "from wallet_sim.errors import WalletLocked\n"
        "try:\n    WalletStore(sys.argv[1]).unlock(sys.argv[2])\n"
        "except WalletLocked:\n    print('locked')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(store.path), PIN],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert out.stdout.strip() == "locked"


def test_failure_counter_survives_restarts(store: WalletStore) -> None:
    store.create(PIN)
    for _ in range(MAX_PIN_FAILURES - 1):
        with pytest.raises(WrongPin):
            WalletStore(store.path).unlock("111111")  # a new "process" each time
    with pytest.raises(WalletLocked):
        WalletStore(store.path).unlock("111111")


def test_after_lockout_a_new_pin_reonboards_with_the_same_device_id(store: WalletStore) -> None:
    device_id = store.create(PIN).device_id
    for _ in range(MAX_PIN_FAILURES - 1):
        with pytest.raises(WrongPin):
            store.unlock("222222")
    with pytest.raises(WalletLocked):
        store.unlock("222222")
    fresh = store.create("246802")
    assert fresh.device_id == device_id and fresh.credentials == []
    assert not store.is_locked()
    assert store.unlock("246802").device_id == device_id


def test_create_refuses_to_overwrite_and_unlock_needs_a_wallet(store: WalletStore) -> None:
    with pytest.raises(WalletNotFound):
        store.unlock(PIN)
    store.create(PIN)
    with pytest.raises(WalletExists):
        store.create(PIN)


def test_change_pin_rekeys_with_a_new_salt(onboarded: UnlockedWallet) -> None:
    store = onboarded.store
    salt = json.loads(store.store_file.read_bytes())["kdf"]["salt"]
    onboarded.set_pin("864200")
    assert json.loads(store.store_file.read_bytes())["kdf"]["salt"] != salt
    with pytest.raises(WrongPin):
        store.unlock(PIN)
    assert store.unlock("864200").credentials[0]["claims"]["name"] == "김공무"


@pytest.mark.parametrize("pin", ["12345", "1234567", "abcdef", "12 456", ""])
def test_pins_are_six_digits(tmp_path: Path, pin: str) -> None:
    from wallet_sim.errors import WalletError

    with pytest.raises(WalletError, match="The PIN must be exactly 6 digits"):
        WalletStore(tmp_path, kdf_limits=INTERACTIVE).create(pin)


def test_writes_leave_no_temporary_files_and_are_private(onboarded: UnlockedWallet) -> None:
    files = sorted(p.name for p in onboarded.store.path.iterdir())
    assert files == ["wallet.json", "wallet.lock"]
    for path in onboarded.store.path.iterdir():
        assert path.stat().st_mode & 0o077 == 0


def test_reset_wipes(onboarded: UnlockedWallet) -> None:
    onboarded.store.reset()
    assert not onboarded.store.exists()
    assert list(onboarded.store.path.iterdir()) == []
