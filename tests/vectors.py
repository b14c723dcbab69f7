"""Where the standards' own test vectors live: `../shared/vectors/` beside the project root, or
wherever `MOBILEID_VECTORS_DIR` points.

They are read in place, never copied into the repository. A checkout without the folder skips the
tests that need it, with a message saying why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

VECTORS_DIR = Path(
    os.environ.get("MOBILEID_VECTORS_DIR")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "vectors"
).resolve()


def vectors_dir() -> Path:
    """The vectors folder; skips the calling test module when it is absent."""
    if not VECTORS_DIR.is_dir():
        pytest.skip(
            f"shared test vectors not found at {VECTORS_DIR} (see ../shared/vectors/README.md)",
            allow_module_level=True,
        )
    return VECTORS_DIR


def vector_path(*parts: str) -> Path:
    """A file or folder inside the vectors folder; skips when it is missing."""
    path = vectors_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test vector {'/'.join(parts)} not found in {VECTORS_DIR}")
    return path


def read_text(*parts: str) -> str:
    return vector_path(*parts).read_text(encoding="utf-8")


def read_json(*parts: str) -> Any:
    return json.loads(read_text(*parts))


def read_joined(*parts: str) -> str:
    """A token the spec repositories wrap over several lines, with all whitespace removed."""
    return "".join(read_text(*parts).split())
