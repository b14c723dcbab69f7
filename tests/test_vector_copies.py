"""The standards' vectors in `tests/vectors/` stay unmodified copies: each file there is listed in
`SHA256SUMS` with the digest it has at its source commit (`tests/vectors/README.md`), and nothing
unlisted sits beside them."""

from __future__ import annotations

import hashlib

from vectors import VECTORS_DIR

# Ours, not copies: the loader, the notes on sources and licences, and the digests themselves.
OWN = {"__init__.py", "README.md", "SHA256SUMS"}


def _listed() -> dict[str, str]:
    lines = (VECTORS_DIR / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}


def _present() -> set[str]:
    return {
        path.relative_to(VECTORS_DIR).as_posix()
        for path in VECTORS_DIR.rglob("*")
        if path.is_file()
        and path.name not in OWN
        and not {"LICENSES", "__pycache__"} & set(path.relative_to(VECTORS_DIR).parts)
    }


def test_every_copy_is_listed_and_every_listed_copy_is_there() -> None:
    assert _present() == set(_listed())


def test_every_copy_has_its_recorded_digest() -> None:
    changed = [
        path
        for path, digest in _listed().items()
        if hashlib.sha256((VECTORS_DIR / path).read_bytes()).hexdigest() != digest
    ]
    assert changed == []
