"""The phone's secure storage: a directory holding one PIN-locked, encrypted wallet.

`wallet.json` holds the public header (format, device id, key algorithm, KDF parameters with a
random salt) and one sealed blob: the device private key, the credentials and the presentation
history, encrypted with XSalsa20-Poly1305 (`nacl.secret.SecretBox`, a fresh random nonce on
every write) under a key derived from the 6-digit PIN by Argon2id (at least the libsodium
"interactive" limits). `pin.json` holds the failure counter outside the blob, so it survives
restarts; it is bumped *before* each attempt and reset only after a successful one. The fifth
wrong PIN in a row destroys the sealed blob (the credentials are gone, the employee applies for
reissue) and marks the wallet locked; a new onboarding with a new PIN unlocks it again. Every
write goes to a temporary file in the same directory that is then renamed over the old one.

A software wallet can be copied and its PIN brute-forced offline; a real phone keeps the key in
hardware that enforces the counter. This simulator does what software can.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
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
    WalletError,
    WalletExists,
    WalletLocked,
    WalletNotFound,
    WrongPin,
)

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
PIN_STATE_FILE = "pin.json"
_PIN = re.compile(r"[0-9]{6}")
_KEY_ALGS = (ALG_EDDSA, ALG_ES256)

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


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file + fsync + rename, so a crash leaves old or new."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # directory fsync is not possible everywhere
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _write_json(path: Path, value: Any) -> None:
    _atomic_write(path, json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8"))


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
    def pin_file(self) -> Path:
        return self.path / PIN_STATE_FILE

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

    def pin_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.pin_file.read_bytes())
        except FileNotFoundError:
            return {"failures": 0, "locked": False}
        except ValueError as exc:  # a broken counter must not reset to zero silently
            raise StoreCorrupted(detail="pin.json is not JSON") from exc
        if type(state) is not dict or type(state.get("failures")) is not int:
            raise StoreCorrupted(detail="pin.json is malformed")
        return state

    def _write_pin_state(self, failures: int, locked: bool) -> None:
        state: dict[str, Any] = {"failures": failures, "locked": locked}
        if locked:
            state["locked_at"] = int(self.clock())
        _write_json(self.pin_file, state)

    def exists(self) -> bool:
        header = self._header()
        return header is not None and "sealed" in header

    def is_locked(self) -> bool:
        return bool(self.pin_state().get("locked"))

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
        if header is not None and "sealed" in header and not self.is_locked():
            raise WalletExists()
        ensure_private_dir(self.path)
        device_id = (header or {}).get("device_id") or str(uuid.UUID(bytes=self.rng(16), version=4))
        key: PrivateKey = (
            Ed25519PrivateKey(self.rng(32)) if alg == ALG_EDDSA else P256PrivateKey.generate()
        )
        data: dict[str, Any] = {
            "device_id": device_id,
            "alg": alg,
            "device_key": key.to_jwk(private=True),
            "created_at": int(self.clock()),
            "credentials": [],
            "history": [],
        }
        wallet = UnlockedWallet(self, device_id, alg, data, b"", {})
        wallet.set_pin(pin)  # derives the key with a new salt and writes the store
        self._write_pin_state(0, False)
        return wallet

    def unlock(self, pin: str) -> UnlockedWallet:
        """Open the wallet with its PIN; wrong PINs count, the fifth erases and locks."""
        header = self._header()
        if self.is_locked():
            raise WalletLocked()
        if header is None or "sealed" not in header:
            raise WalletNotFound()
        failures = self.pin_state()["failures"] + 1
        self._write_pin_state(failures, False)  # counted before trying, so a crash cannot reset
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
                self._erase()
                raise WalletLocked()
            raise WrongPin(MAX_PIN_FAILURES - failures)
        self._write_pin_state(0, False)
        data = json.loads(plain)
        if data.get("device_id") != header.get("device_id") or data.get("alg") != header.get("alg"):
            raise StoreCorrupted(detail="header does not match the sealed store")
        return UnlockedWallet(self, data["device_id"], data["alg"], data, key, dict(kdf))

    def _erase(self) -> None:
        """Crypto-shred: drop the sealed blob (key, credentials, history), keep the device id."""
        header = self._header() or {}
        _write_json(
            self.store_file,
            {
                "format": FORMAT,
                "device_id": header.get("device_id"),
                "alg": header.get("alg"),
                "erased_at": int(self.clock()),
            },
        )
        self._write_pin_state(MAX_PIN_FAILURES, True)

    def reset(self) -> None:
        """Wipe the wallet directory's files (the directory itself stays)."""
        for child in (self.store_file, self.pin_file):
            with contextlib.suppress(FileNotFoundError):
                child.unlink()
        for stray in self.path.glob(f".{STORE_FILE}.*"):
            stray.unlink()
        for stray in self.path.glob(f".{PIN_STATE_FILE}.*"):
            stray.unlink()

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
    """An open wallet for the length of one command: decrypted data and the derived key."""

    def __init__(  # noqa: PLR0917 - built only by WalletStore
        self,
        store: WalletStore,
        device_id: str,
        alg: str,
        data: dict[str, Any],
        key: bytes,
        kdf: dict[str, Any],
    ) -> None:
        self.store = store
        self.device_id = device_id
        self.alg = alg
        self.data = data
        self._key = key
        self._kdf = kdf

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
        """Seal the data with a fresh random nonce and replace the store file atomically."""
        plain = json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        nonce = self.store.rng(nacl.secret.SecretBox.NONCE_SIZE)
        sealed = nacl.secret.SecretBox(self._key).encrypt(plain, nonce)
        header = {
            "format": FORMAT,
            "device_id": self.device_id,
            "alg": self.alg,
            "kdf": self._kdf,
            "sealed": b64url_encode(bytes(sealed)),
        }
        _write_json(self.store.store_file, header)
