"""Signing key files of releases before migration 0004, read once to move them into the database.

Layout: `<data_dir>/issuer_keys/key-0001.json`, `key-0002.json`, ... each a JSON object
`{"kid", "alg", "created_at", "jwk"}` with the private JWK in plaintext (0600 in a 0700
directory), plus `publish_until`, `retired_at`/`retired_reason` and `activates_at` as set by
rotations. `issuer.keys.store` imports them at start and then removes the files.
"""

from __future__ import annotations

import contextlib
import json
import re
import stat
from pathlib import Path
from typing import Any

from issuer.errors import KeyStoreError
from issuer.keys.signing import SigningKey
from vc.errors import VCError
from vc.keys import private_key_from_jwk

__all__ = ["read_key_files", "remove_key_files"]

_KEY_FILE = re.compile(r"^key-(\d{4,})\.json$")
_PARTIAL_FILE = ".tmp-"  # a key being written when a process stopped; never published
_MAX_KEY_FILE_BYTES = 16 * 1024


def _opt_int(doc: dict[str, Any], name: str) -> int | None:
    value = doc.get(name)
    return None if value is None else int(value)


def _read_key(path: Path) -> SigningKey | None:
    """The key in `path`, or None when it vanished (another process imported it meanwhile)."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(f"{path} is readable by group or others; chmod 600 it")
    if info.st_size > _MAX_KEY_FILE_BYTES:
        raise KeyStoreError(f"{path} is too large to be a key file")
    try:
        doc = json.loads(text)
        key = private_key_from_jwk(doc["jwk"])
        reason = doc.get("retired_reason")
        found = SigningKey(
            kid=str(doc["kid"]),
            alg=str(doc["alg"]),
            key=key,
            created_at=int(doc["created_at"]),
            publish_until=_opt_int(doc, "publish_until"),
            retired_at=_opt_int(doc, "retired_at"),
            retired_reason=str(reason) if reason is not None else None,
            activates_at=_opt_int(doc, "activates_at"),
        )
    except (ValueError, KeyError, TypeError, VCError) as exc:
        raise KeyStoreError(f"{path} is not a usable key file") from exc
    if found.alg not in key.public_key.algorithms or found.kid != key.public_key.thumbprint():
        raise KeyStoreError(f"{path}: kid or alg does not fit the key")
    return found


def read_key_files(keys_dir: Path) -> list[tuple[int, SigningKey]]:
    """(number, key) for every key file in `keys_dir`, by number; [] when there is none."""
    if not keys_dir.is_dir():
        return []
    numbered = sorted(
        (int(m.group(1)), p) for p in keys_dir.iterdir() if (m := _KEY_FILE.match(p.name))
    )
    found = [(number, _read_key(path)) for number, path in numbered]
    return [(number, key) for number, key in found if key is not None]


def remove_key_files(keys_dir: Path) -> int:
    """Delete the key files (and half-written ones) and the directory once empty; how many."""
    if not keys_dir.is_dir():
        return 0
    removed = 0
    for path in keys_dir.iterdir():
        if _KEY_FILE.match(path.name) or path.name.startswith(_PARTIAL_FILE):
            path.unlink(missing_ok=True)
            removed += 1
    with contextlib.suppress(OSError):  # something else lives there: left to the operator
        keys_dir.rmdir()
    return removed
