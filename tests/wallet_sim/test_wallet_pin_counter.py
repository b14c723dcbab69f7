"""Attacks on the five-wrong-PINs wipe: racing processes, and a counter deleted or rolled back.

Each racer is a real process running the `mobileid wallet` commands; a shim logs every PIN the
store hands to Argon2id (a PIN is checked only by deriving its key) and holds the process at a
barrier until all racers are ready, so their attempts overlap.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wallet_fakes import PIN

from mobileid.cli_wallet import wallet_app
from wallet_sim.errors import StoreCorrupted, WalletChanged, WalletLocked, WrongPin
from wallet_sim.store import MAX_PIN_FAILURES, UnlockedWallet, WalletStore

REPO = Path(__file__).resolve().parents[2]
WRONG = "999999"
RACERS = 8  # more racers than allowed failures: the last ones must find the wallet wiped

_RACER = """
import os, sys, time
from pathlib import Path
import nacl.pwhash.argon2id as argon2id

log, gate = Path(sys.argv[1]), Path(sys.argv[2])
derive = argon2id.kdf

def logged_kdf(size, password, salt, **limits):
    with log.open("a") as out:
        out.write(password.decode() + "\\n")
    return derive(size, password, salt, **limits)

argon2id.kdf = logged_kdf
from mobileid.cli_wallet import wallet_app

(gate / f"ready-{os.getpid()}").touch()
while not (gate / "go").exists():
    time.sleep(0.005)
wallet_app(sys.argv[3:], prog_name="mobileid wallet")
"""


def _racers(tmp_path: Path, wallet: Path, pins: list[str]) -> tuple[list[str], list[str]]:
    """Run one `mobileid wallet show --pin` process per PIN, all released at once; return
    their error outputs and the PINs the store tried."""
    log, gate = tmp_path / "kdf.log", tmp_path / "gate"
    gate.mkdir(exist_ok=True)
    log.touch()
    command = ["show", "--wallet", str(wallet)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(log), str(gate), *command, "--pin", pin],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pin in pins
    ]
    deadline = time.monotonic() + 300
    while len(list(gate.glob("ready-*"))) < len(pins):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.05)
    (gate / "go").touch()
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, err
        errors.append(err)
    return errors, log.read_text().split()


@pytest.mark.slow
def test_wallet_wipe_after_five_wrong_pins_holds_under_concurrency(tmp_path: Path) -> None:
    wallet = tmp_path / "phone"
    WalletStore(wallet).create(PIN)

    errors, tried = _racers(tmp_path, wallet, [WRONG] * RACERS)

    assert tried == [WRONG] * MAX_PIN_FAILURES  # at most five wrong PINs ever reach the KDF
    left = sorted(
        int(err.split("Attempts left: ")[1].split()[0]) for err in errors if "[wrong_pin]" in err
    )
    assert left == list(range(1, MAX_PIN_FAILURES))  # each count handed out once
    assert sum("[wallet_locked]" in err for err in errors) == RACERS - len(left)
    store = WalletStore(wallet)
    assert store.is_locked() and not store.exists()
    assert "sealed" not in json.loads(store.store_file.read_text())

    errors, tried = _racers(tmp_path, wallet, [PIN])  # the right PIN, too late
    assert "[wallet_locked]" in errors[0] and tried == [WRONG] * MAX_PIN_FAILURES


def test_deleting_or_restoring_the_pin_counter_does_not_reset_it(store: WalletStore) -> None:
    store.create(PIN)
    for _ in range(3):
        with pytest.raises(WrongPin):
            store.unlock(WRONG)
    # the count lives in wallet.json with the sealed store: delete everything else in the
    # directory and plant a fresh counter where the previous release kept it
    for path in store.path.iterdir():
        if path != store.store_file:
            path.unlink()
    (store.path / "pin.json").write_text(json.dumps({"failures": 0, "locked": False}))
    with pytest.raises(WrongPin) as wrong:
        WalletStore(store.path).unlock(WRONG)
    assert wrong.value.remaining == MAX_PIN_FAILURES - 4
    with pytest.raises(WalletLocked):
        WalletStore(store.path).unlock(WRONG)
    with pytest.raises(WalletLocked):
        WalletStore(store.path).unlock(PIN)


def test_killing_the_command_during_the_fifth_check_gives_no_free_try(
    store: WalletStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create(PIN)
    for _ in range(MAX_PIN_FAILURES - 1):
        with pytest.raises(WrongPin):
            store.unlock(WRONG)

    def killed(*args: object) -> bytes:
        raise SystemExit(137)  # the process dies while Argon2id runs

    monkeypatch.setattr(WalletStore, "_derive", killed)
    with pytest.raises(SystemExit):
        store.unlock(WRONG)
    monkeypatch.setattr(WalletStore, "_derive", lambda *a: pytest.fail("a sixth PIN was tried"))
    with pytest.raises(WalletLocked):
        WalletStore(store.path).unlock(PIN)
    assert store.is_locked() and not store.exists()


def _as_previous_release(store: WalletStore, failures: int | None) -> None:
    """Rewrite the store as the previous release kept it: the counter in pin.json."""
    header = json.loads(store.store_file.read_text())
    del header["failures"]
    store.store_file.write_text(json.dumps(header))
    if failures is not None:
        (store.path / "pin.json").write_text(json.dumps({"failures": failures, "locked": False}))


def test_a_previous_release_store_whose_counter_was_deleted_is_refused(
    store: WalletStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create(PIN)
    _as_previous_release(store, failures=None)
    monkeypatch.setattr(WalletStore, "_derive", lambda *a: pytest.fail("a PIN was tried"))
    with pytest.raises(StoreCorrupted):
        store.unlock(PIN)
    with pytest.raises(StoreCorrupted):
        store.pin_state()
    status = CliRunner().invoke(wallet_app, ["export-status", "--wallet", str(store.path)])
    assert status.exit_code == 1 and "[store_corrupted]" in status.output


def test_a_previous_release_counter_moves_into_the_store(store: WalletStore) -> None:
    store.create(PIN)
    _as_previous_release(store, failures=3)
    with pytest.raises(WrongPin) as wrong:
        store.unlock(WRONG)
    assert wrong.value.remaining == 1
    assert not (store.path / "pin.json").exists()
    assert json.loads(store.store_file.read_text())["failures"] == 4
    assert store.unlock(PIN).device_id == store.device_id()
    assert store.pin_state() == {"failures": 0, "locked": False}


def test_an_open_wallet_cannot_bring_back_a_wiped_store(onboarded: UnlockedWallet) -> None:
    store = onboarded.store
    for _ in range(MAX_PIN_FAILURES - 1):
        with pytest.raises(WrongPin):
            WalletStore(store.path).unlock(WRONG)
    with pytest.raises(WalletLocked):
        WalletStore(store.path).unlock(WRONG)
    with pytest.raises(WalletLocked):
        onboarded.append_history({"kind": "late write"})
    with pytest.raises(WalletLocked):
        onboarded.set_pin("135790")
    assert store.is_locked() and not store.exists()


def test_an_open_wallet_does_not_overwrite_a_newer_save(onboarded: UnlockedWallet) -> None:
    store = onboarded.store
    newer = WalletStore(store.path).unlock(PIN)
    newer.set_pin("135790")  # another command changes the PIN meanwhile
    with pytest.raises(WalletChanged):
        onboarded.append_history({"kind": "stale write"})
    assert store.unlock("135790").history == []


def test_the_counted_store_and_its_lock_are_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        store = WalletStore(tmp_path / "phone")
        store.create(PIN)
        with pytest.raises(WrongPin):
            store.unlock(WRONG)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    assert sorted(p.name for p in store.path.iterdir()) == ["wallet.json", "wallet.lock"]
    for path in store.path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
