"""The issuer's signing keys on disk: generated on first start, owner-only, published as a JWKS.

Layout: `<keys_dir>/key-0001.json`, `key-0002.json`, ... each a JSON object
`{"kid", "alg", "created_at", "jwk"}` with the private JWK, mode 0600 in a 0700 directory, plus
after a rotation `publish_until` (the previous key stays in the JWKS until every credential it
signed has expired) or `retired_at`/`retired_reason` (a compromised key: never published or used
again), and `activates_at` for a key published ahead of signing. The highest-numbered key that is
not retired and already active signs. `KeyStore` reloads the directory when another process
(`mobileid issuer rotate-key`) changed it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from issuer.errors import KeyStoreError
from vc.errors import VCError
from vc.keys import PrivateKey, generate_private_key, private_key_from_jwk

__all__ = [
    "IssuerKeyring",
    "KeyStore",
    "SigningKey",
    "add_signing_key",
    "load_keyring",
    "load_or_create_keyring",
    "update_key_file",
]

log = logging.getLogger(__name__)
_KEY_FILE = re.compile(r"^key-(\d{4,})\.json$")
_MAX_KEY_FILE_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    key: PrivateKey
    created_at: int
    publish_until: int | None = None
    retired_at: int | None = None
    retired_reason: str | None = None
    activates_at: int | None = None

    def published(self, now: float) -> bool:
        """In the JWKS: not retired, and not past `publish_until` (set when it stopped signing)."""
        if self.retired_at is not None:
            return False
        return self.publish_until is None or now < self.publish_until

    def public_jwk(self) -> dict[str, str]:
        jwk = self.key.public_key.to_jwk()
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


@dataclass(frozen=True, slots=True)
class IssuerKeyring:
    """All keys, oldest first; the newest one that is not retired signs."""

    keys: tuple[SigningKey, ...]

    @property
    def active(self) -> SigningKey:
        """The signing key now (wall clock); services pass their clock to `signing_key`."""
        return self.signing_key(time.time())

    def signing_key(self, now: float) -> SigningKey:
        """The newest key that is neither retired nor still waiting for its `activates_at`."""
        for key in reversed(self.keys):
            if key.retired_at is None and (key.activates_at is None or key.activates_at <= now):
                return key
        raise KeyStoreError("every signing key is retired; run `mobileid issuer rotate-key`")

    def get(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def published(self, now: float | None = None) -> tuple[SigningKey, ...]:
        """The keys verifiers may trust at `now`: the active one and unexpired earlier ones."""
        at = time.time() if now is None else now
        active = self.signing_key(at)
        return tuple(k for k in self.keys if k is active or k.published(at))

    def jwks(self, now: float | None = None) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.published(now)]}


def _read_key(path: Path) -> SigningKey:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(f"{path.name} is readable by group or others; chmod 600 it")
    if path.stat().st_size > _MAX_KEY_FILE_BYTES:
        raise KeyStoreError(f"{path.name} is too large to be a key file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        key = private_key_from_jwk(doc["jwk"])
        kid, alg, created_at = str(doc["kid"]), str(doc["alg"]), int(doc["created_at"])
        publish_until, retired_at = _opt_int(doc, "publish_until"), _opt_int(doc, "retired_at")
        activates_at = _opt_int(doc, "activates_at")
        reason = doc.get("retired_reason")
    except (ValueError, KeyError, TypeError, VCError) as exc:
        raise KeyStoreError(f"{path.name} is not a usable key file") from exc
    if alg not in key.public_key.algorithms:
        raise KeyStoreError(f"{path.name}: alg {alg} does not fit the key")
    return SigningKey(
        kid=kid,
        alg=alg,
        key=key,
        created_at=created_at,
        publish_until=publish_until,
        retired_at=retired_at,
        retired_reason=str(reason) if reason is not None else None,
        activates_at=activates_at,
    )


def _opt_int(doc: dict[str, Any], name: str) -> int | None:
    value = doc.get(name)
    return None if value is None else int(value)


def _numbered_files(keys_dir: Path) -> list[tuple[int, Path]]:
    return sorted(
        (int(m.group(1)), p) for p in keys_dir.iterdir() if (m := _KEY_FILE.match(p.name))
    )


def load_keyring(keys_dir: Path) -> IssuerKeyring | None:
    """The keys in `keys_dir`, or None when there are none yet."""
    if not keys_dir.is_dir():
        return None
    numbered = _numbered_files(keys_dir)
    if not numbered:
        return None
    return IssuerKeyring(tuple(_read_key(p) for _, p in numbered))


def add_signing_key(
    keys_dir: Path, alg: str, now: int, activates_at: int | None = None
) -> SigningKey:
    """Generate a key and publish it as the next number; concurrent callers never overwrite.
    With `activates_at`, the key is published now and signs from then on."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    key = generate_private_key(alg)
    kid = key.public_key.thumbprint()
    doc: dict[str, Any] = {
        "kid": kid,
        "alg": key.default_alg,
        "created_at": now,
        "jwk": key.to_jwk(private=True),
    }
    if activates_at is not None:
        doc["activates_at"] = activates_at
    tmp = keys_dir / f".tmp-{kid}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        existing = [int(m.group(1)) for p in keys_dir.iterdir() if (m := _KEY_FILE.match(p.name))]
        number = max(existing, default=0) + 1
        while True:
            try:
                os.link(tmp, keys_dir / f"key-{number:04d}.json")  # fails if taken: no overwrite
                break
            except FileExistsError:
                number += 1
    finally:
        tmp.unlink(missing_ok=True)
    return SigningKey(
        kid=kid, alg=key.default_alg, key=key, created_at=now, activates_at=activates_at
    )


def update_key_file(keys_dir: Path, kid: str, **fields: int | str | None) -> SigningKey:
    """Set metadata fields (`publish_until`, `retired_at`, `retired_reason`) of the key `kid`.

    The file is replaced atomically (write, fsync, rename), so readers see old or new, never half.
    """
    for _, path in _numbered_files(keys_dir) if keys_dir.is_dir() else []:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("kid") != kid:
            continue
        doc.update(fields)
        tmp = keys_dir / f".tmp-{kid}-update"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return _read_key(path)
    raise KeyStoreError(f"no key with kid {kid[:60]} in the key directory")


@dataclass(slots=True)
class KeyStore:
    """The key directory as a keyring that follows changes made by other processes.

    `current()` costs one `stat` of the directory; a rotation or retirement renames files in it,
    which changes its mtime, and the ring is read again. A change within the last second is
    re-read each time, since coarse file system clocks could hide a second change.
    """

    keys_dir: Path
    ring: IssuerKeyring
    _stamp: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> IssuerKeyring:
        try:
            stamp = self.keys_dir.stat().st_mtime_ns
        except OSError:
            return self.ring
        if stamp != self._stamp or time.time_ns() - stamp < 1_000_000_000:
            with self._lock:
                try:
                    ring = load_keyring(self.keys_dir)
                    if ring is not None:
                        ring.active  # noqa: B018 - refuse a ring with every key retired
                        self.ring = ring
                except KeyStoreError:
                    log.exception("key directory changed but cannot be read; keeping the old keys")
                self._stamp = stamp
        return self.ring


def load_or_create_keyring(keys_dir: Path, alg: str, now: int) -> IssuerKeyring:
    """Load the keys, generating the first one on first start."""
    ring = load_keyring(keys_dir)
    if ring is None:
        add_signing_key(keys_dir, alg, now)
        ring = load_keyring(keys_dir)
    if ring is None:  # pragma: no cover - the key was just written
        raise KeyStoreError("no signing key in the key directory")
    return ring
