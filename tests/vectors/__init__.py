"""The standards' own test vectors, copied unmodified into this folder (their sources, commits and
licences are in `README.md` here), and the one way tests read them.

A missing vector is an error, never a skip: the files travel with the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent


def vector_path(*parts: str) -> Path:
    """A file or folder inside the vectors folder; raises when it is missing."""
    path = VECTORS_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"test vector {'/'.join(parts)} is missing from {VECTORS_DIR} (see README.md there)"
        )
    return path


def read_text(*parts: str) -> str:
    return vector_path(*parts).read_text(encoding="utf-8")


def read_json(*parts: str) -> Any:
    return json.loads(read_text(*parts))


def read_joined(*parts: str) -> str:
    """A token the spec repositories wrap over several lines, with all whitespace removed."""
    return "".join(read_text(*parts).split())
