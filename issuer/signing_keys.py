"""The issuer's signing keys on disk: generated on first start, owner-only, published as a JWKS.

Layout: `<keys_dir>/key-0001.json`, `key-0002.json`, ... each a JSON object
`{"kid", "alg", "created_at", "jwk"}` with the private JWK, mode 0600 in a 0700 directory. The
highest number is the active signing key; every key stays in the published JWKS so credentials
signed before a rotation keep verifying (the lifecycle issue adds retirement).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from issuer.errors import KeyStoreError
from vc.errors import VCError
from vc.keys import PrivateKey, generate_private_key, private_key_from_jwk

__all__ = [
    "IssuerKeyring",
    "SigningKey",
    "add_signing_key",
    "load_keyring",
    "load_or_create_keyring",
]

_KEY_FILE = re.compile(r"^key-(\d{4,})\.json$")
_MAX_KEY_FILE_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    key: PrivateKey
    created_at: int

    def public_jwk(self) -> dict[str, str]:
        jwk = self.key.public_key.to_jwk()
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


@dataclass(frozen=True, slots=True)
class IssuerKeyring:
    """All keys, oldest first; the last one signs."""

    keys: tuple[SigningKey, ...]

    @property
    def active(self) -> SigningKey:
        return self.keys[-1]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.keys]}


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
    except (ValueError, KeyError, TypeError, VCError) as exc:
        raise KeyStoreError(f"{path.name} is not a usable key file") from exc
    if alg not in key.public_key.algorithms:
        raise KeyStoreError(f"{path.name}: alg {alg} does not fit the key")
    return SigningKey(kid=kid, alg=alg, key=key, created_at=created_at)


def load_keyring(keys_dir: Path) -> IssuerKeyring | None:
    """The keys in `keys_dir`, or None when there are none yet."""
    if not keys_dir.is_dir():
        return None
    numbered = sorted(
        (int(m.group(1)), p) for p in keys_dir.iterdir() if (m := _KEY_FILE.match(p.name))
    )
    if not numbered:
        return None
    return IssuerKeyring(tuple(_read_key(p) for _, p in numbered))


def add_signing_key(keys_dir: Path, alg: str, now: int) -> SigningKey:
    """Generate a key and publish it as the next number; concurrent callers never overwrite."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    key = generate_private_key(alg)
    kid = key.public_key.thumbprint()
    doc = {"kid": kid, "alg": key.default_alg, "created_at": now, "jwk": key.to_jwk(private=True)}
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
    return SigningKey(kid=kid, alg=key.default_alg, key=key, created_at=now)


def load_or_create_keyring(keys_dir: Path, alg: str, now: int) -> IssuerKeyring:
    """Load the keys, generating the first one on first start."""
    ring = load_keyring(keys_dir)
    if ring is None:
        add_signing_key(keys_dir, alg, now)
        ring = load_keyring(keys_dir)
    if ring is None:  # pragma: no cover - the key was just written
        raise KeyStoreError("no signing key in the key directory")
    return ring
