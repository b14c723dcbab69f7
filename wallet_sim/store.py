"""The phone's secure storage: a directory holding one PIN-locked, encrypted wallet.

`wallet.json` holds the public header (format, device id, key algorithm, KDF parameters with a
random salt, the count of wrong PINs in a row) and one sealed blob: the device private key, the
credentials and the presentation history, encrypted with XSalsa20-Poly1305 (`nacl.secret.SecretBox`,
a fresh random nonce on every write) under a key derived from the 6-digit PIN by Argon2id (at least
the libsodium "interactive" limits). Every write goes to a temporary file in the same directory,
fsynced, renamed over the old one, and the directory fsynced.

The PIN counter holds under concurrency: each unlock takes an exclusive `flock` on `wallet.lock`,
counts the attempt on disk, then derives the key, and resets the count only after the PIN opened
the store; the fifth wrong PIN in a row destroys the sealed blob (the credentials are gone, the
employee applies for reissue) and a new onboarding with a new PIN unlocks the wallet again. The
count lives in the same file as the sealed blob, so it cannot be deleted without deleting the
store; a store of the previous release, whose count was in `pin.json`, takes that count over and is
refused if `pin.json` is missing. An open wallet saves only over the very blob it opened, so a
command that was open during a wipe, a PIN change or another save cannot undo it.

A software wallet can be copied, rolled back to an older `wallet.json` and its PIN brute-forced
offline; a real phone keeps the key in secure hardware that enforces the counter. This simulator
does what software can.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from cryptography.hazmat.primitives.asymmetric import ec

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import VCError
from vc.keys import (
    ALG_EDDSA,
    ALG_ES256,
    Ed25519PrivateKey,
    P256PrivateKey,
    PrivateKey,
    private_key_from_jwk,
)
from vc.private_files import ensure_private_dir
from wallet_sim.errors import (
    StoreCorrupted,
    WalletChanged,
    WalletError,
    WalletExists,
    WalletLocked,
    WalletNotFound,
    WrongPin,
)
from wallet_sim.store_files import exclusive_lock, write_json

__all__ = [
    "INTERACTIVE",
    "MAX_PIN_FAILURES",
    "SENSITIVE",
    "KdfLimits",
    "UnlockedWallet",
    "WalletStore",
    "validate_pin",
]

FORMAT = "mobileid-wallet/1"
KDF_ALG = "argon2id13"
MAX_PIN_FAILURES = 5
STORE_FILE = "wallet.json"
LOCK_FILE = "wallet.lock"
LEGACY_PIN_FILE = "pin.json"
_PIN = re.compile(r"[0-9]{6}")
_KEY_ALGS = (ALG_EDDSA, ALG_ES256)
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

Random = Callable[[int], bytes]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class KdfLimits:
    """Argon2id cost: operations and memory (bytes)."""

    opslimit: int
    memlimit: int


INTERACTIVE = KdfLimits(
    nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
)
SENSITIVE = KdfLimits(
    nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE, nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE
)


def validate_pin(pin: str) -> str:
    """A PIN is exactly six ASCII digits."""
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise WalletError("PIN은 숫자 6자리여야 합니다.", "The PIN must be exactly 6 digits.")
    return pin


def _new_device_key(alg: str, rng: Random) -> PrivateKey:
    """A device key drawn from the store's randomness, whichever the algorithm."""
    if alg == ALG_EDDSA:
        return Ed25519PrivateKey(rng(32))
    while True:  # FIPS 186-5 A.4.2, rejection sampling: a P-256 scalar in [1, n - 1]
        scalar = int.from_bytes(rng(32), "big")
        if 0 < scalar < _P256_ORDER:
            return P256PrivateKey(ec.derive_private_key(scalar, ec.SECP256R1()))


class WalletStore:
    """One wallet directory. Holds paths and injected clock/randomness/KDF cost, no secrets."""

    def __init__(
        self,
        path: Path | str,
        *,
        kdf_limits: KdfLimits = INTERACTIVE,
        rng: Random = nacl.utils.random,
        clock: Clock = time.time,
    ) -> None:
        self.path = Path(path)
        self.kdf_limits = kdf_limits
        self.rng = rng
        self.clock = clock

    @property
    def store_file(self) -> Path:
        return self.path / STORE_FILE

    @property
    def lock_file(self) -> Path:
        return self.path / LOCK_FILE

    @property
    def legacy_pin_file(self) -> Path:
        """Where the previous release kept the failure counter."""
        return self.path / LEGACY_PIN_FILE

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        """The one lock around every read-modify-write of the store."""
        if not self.path.is_dir():
            raise WalletNotFound()
        return exclusive_lock(self.lock_file)

    # --- public state, readable without the PIN ---------------------------------------------

    def _header(self) -> dict[str, Any] | None:
        try:
            raw = self.store_file.read_bytes()
        except FileNotFoundError:
            return None
        try:
            header = json.loads(raw)
        except ValueError as exc:
            raise StoreCorrupted(detail="wallet.json is not JSON") from exc
        if type(header) is not dict or header.get("format") != FORMAT:
            raise StoreCorrupted(detail="unknown wallet format")
        return header

    def _write_header(self, header: dict[str, Any]) -> None:
        """Replace the store file; the header always carries the count, so pin.json is moot."""
        write_json(self.store_file, header)
        self.legacy_pin_file.unlink(missing_ok=True)

    def _failures(self, header: dict[str, Any]) -> int:
        """Wrong PINs in a row recorded for a sealed store; a previous release's store takes
        the count from its pin.json and without one is refused (never a fresh count)."""
        if "failures" in header:
            failures = header["failures"]
        else:
            try:
                state = json.loads(self.legacy_pin_file.read_bytes())
            except FileNotFoundError as exc:
                raise StoreCorrupted(detail="the PIN failure counter is missing") from exc
            except ValueError as exc:
                raise StoreCorrupted(detail="pin.json is not JSON") from exc
            if type(state) is not dict:
                raise StoreCorrupted(detail="pin.json is malformed")
            failures = MAX_PIN_FAILURES if state.get("locked") else state.get("failures")
        if type(failures) is not int or failures < 0:
            raise StoreCorrupted(detail="the PIN failure counter is malformed")
        return failures

    def pin_state(self) -> dict[str, Any]:
        """Wrong PINs in a row and whether the store was wiped (and when)."""
        header = self._header()
        if header is None:
            return {"failures": 0, "locked": False}
        if "sealed" not in header:
            failures = header.get("failures", MAX_PIN_FAILURES)
            return {"failures": failures, "locked": True, "locked_at": header.get("erased_at")}
        return {"failures": self._failures(header), "locked": False}

    def exists(self) -> bool:
        header = self._header()
        return header is not None and "sealed" in header

    def is_locked(self) -> bool:
        header = self._header()
        return header is not None and "sealed" not in header

    def device_id(self) -> str | None:
        header = self._header()
        return header.get("device_id") if header else None

    # --- lifecycle ---------------------------------------------------------------------------

    def create(self, pin: str, *, alg: str = ALG_EDDSA) -> UnlockedWallet:
        """Onboard a phone: a device id and key, sealed under a new PIN with a fresh salt.

        Allowed on an empty directory and on a locked (erased) wallet, whose device id is kept.
        """
        validate_pin(pin)
        if alg not in _KEY_ALGS:
            raise WalletError(
                "지원하지 않는 키 알고리즘입니다.", f"Unsupported key algorithm {alg}"
            )
        header = self._header()
        if header is not None and "sealed" in header:
            raise WalletExists()
        ensure_private_dir(self.path)
        device_id = (header or {}).get("device_id") or str(uuid.UUID(bytes=self.rng(16), version=4))
        key = _new_device_key(alg, self.rng)
        data: dict[str, Any] = {
            "device_id": device_id,
            "alg": alg,
            "device_key": key.to_jwk(private=True),
            "created_at": int(self.clock()),
            "credentials": [],
            "history": [],
        }
        wallet = UnlockedWallet(self, device_id, alg, data, b"", {}, None)
        wallet.set_pin(pin)  # saves only if no other command created the store meanwhile
        return wallet

    def unlock(self, pin: str) -> UnlockedWallet:
        """Open the wallet with its PIN; wrong PINs count, the fifth erases and locks.

        Under the lock the attempt is counted on disk before the PIN is tried, so neither
        parallel commands nor a crash mid-attempt get a try that is not counted.
        """
        with self._locked():
            header = self._header()
            if header is None:
                raise WalletNotFound()
            if "sealed" not in header:
                raise WalletLocked()
            failures = self._failures(header)
            if failures >= MAX_PIN_FAILURES:  # the last count landed, its erase did not
                self._erase(header)
                raise WalletLocked()
            failures += 1
            self._write_header({**header, "failures": failures})
            try:
                kdf = header["kdf"]
                salt = b64url_decode(kdf["salt"])
                limits = KdfLimits(int(kdf["opslimit"]), int(kdf["memlimit"]))
                sealed = b64url_decode(header["sealed"])
            except (KeyError, TypeError, ValueError, VCError) as exc:
                raise StoreCorrupted(detail="wallet header incomplete") from exc
            if kdf.get("alg") != KDF_ALG:
                raise StoreCorrupted(detail="unknown KDF")
            key = self._derive(pin, salt, limits) if _PIN.fullmatch(pin or "") else b""
            try:
                plain = nacl.secret.SecretBox(key).decrypt(sealed) if key else None
            except nacl.exceptions.CryptoError:
                plain = None
            if plain is None:
                if failures >= MAX_PIN_FAILURES:
                    self._erase(header)
                    raise WalletLocked()
                raise WrongPin(MAX_PIN_FAILURES - failures)
            self._write_header({**header, "failures": 0})
        data = json.loads(plain)
        if data.get("device_id") != header.get("device_id") or data.get("alg") != header.get("alg"):
            raise StoreCorrupted(detail="header does not match the sealed store")
        return UnlockedWallet(
            self, data["device_id"], data["alg"], data, key, dict(kdf), header["sealed"]
        )

    def _erase(self, header: dict[str, Any]) -> None:
        """Crypto-shred: drop the sealed blob (key, credentials, history), keep the device id."""
        self._write_header(
            {
                "format": FORMAT,
                "device_id": header.get("device_id"),
                "alg": header.get("alg"),
                "erased_at": int(self.clock()),
                "failures": MAX_PIN_FAILURES,
            }
        )

    def _replace_sealed(self, expected: str | None, header: dict[str, Any]) -> None:
        """Write `header` (a new sealed blob) if the store still holds `expected` (None: no
        sealed store yet); the failure count on disk is kept, and a fresh store starts at 0."""
        with self._locked():
            current = self._header()
            sealed = current.get("sealed") if current else None
            if sealed != expected:
                if sealed is not None:
                    raise WalletChanged() if expected else WalletExists()
                raise WalletLocked() if current else WalletNotFound()
            failures = self._failures(current) if current and expected else 0
            self._write_header({**header, "failures": failures})

    def reset(self) -> None:
        """Wipe the wallet directory's files (the directory itself stays)."""
        if not self.path.is_dir():
            return
        with self._locked():
            for child in (self.store_file, self.legacy_pin_file):
                child.unlink(missing_ok=True)
            for stray in self.path.glob(f".{STORE_FILE}.*"):
                stray.unlink()
            for stray in self.path.glob(f".{LEGACY_PIN_FILE}.*"):
                stray.unlink()
            self.lock_file.unlink()  # waiting commands notice and lock the next one

    def _derive(self, pin: str, salt: bytes, limits: KdfLimits) -> bytes:
        key: bytes = nacl.pwhash.argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            pin.encode("ascii"),
            salt,
            opslimit=limits.opslimit,
            memlimit=limits.memlimit,
        )
        return key


class UnlockedWallet:
    """An open wallet for the length of one command: decrypted data and the derived key.

    `sealed` is the blob it was opened from (or last saved); a save replaces only that blob.
    """

    def __init__(  # noqa: PLR0917 - built only by WalletStore
        self,
        store: WalletStore,
        device_id: str,
        alg: str,
        data: dict[str, Any],
        key: bytes,
        kdf: dict[str, Any],
        sealed: str | None,
    ) -> None:
        self.store = store
        self.device_id = device_id
        self.alg = alg
        self.data = data
        self._key = key
        self._kdf = kdf
        self._sealed = sealed

    def __repr__(self) -> str:  # never print secrets
        return f"<UnlockedWallet {self.device_id}>"

    @property
    def device_key(self) -> PrivateKey:
        return private_key_from_jwk(self.data["device_key"])

    @property
    def credentials(self) -> list[dict[str, Any]]:
        creds: list[dict[str, Any]] = self.data["credentials"]
        return creds

    @property
    def history(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.data["history"]
        return entries

    def add_credential(self, record: dict[str, Any]) -> None:
        self.credentials.append(record)
        self.save()

    def append_history(self, entry: dict[str, Any]) -> None:
        """Record a presentation on the phone only (never sent anywhere)."""
        self.history.append(entry)
        self.save()

    def set_pin(self, pin: str) -> None:
        """(Re)key the store under `pin` with a fresh random salt, then save."""
        validate_pin(pin)
        salt = self.store.rng(nacl.pwhash.argon2id.SALTBYTES)
        limits = self.store.kdf_limits
        self._key = self.store._derive(pin, salt, limits)
        self._kdf = {
            "alg": KDF_ALG,
            "salt": b64url_encode(salt),
            "opslimit": limits.opslimit,
            "memlimit": limits.memlimit,
        }
        self.save()

    def save(self) -> None:
        """Seal the data with a fresh random nonce and replace the store file atomically, unless
        another command wiped, re-keyed or saved the wallet since this one opened it."""
        plain = json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        nonce = self.store.rng(nacl.secret.SecretBox.NONCE_SIZE)
        sealed = nacl.secret.SecretBox(self._key).encrypt(plain, nonce)
        blob = b64url_encode(bytes(sealed))
        header = {
            "format": FORMAT,
            "device_id": self.device_id,
            "alg": self.alg,
            "kdf": self._kdf,
            "sealed": blob,
        }
        self.store._replace_sealed(self._sealed, header)
        self._sealed = blob
