"""Which verification core runs: the modules compiled with mypyc, or their Python source.

The gate's decision path (parsing, signature checks, disclosures, status, replay, policy) is
compiled at install time by mypyc, which turns these same typed Python modules into C extensions
(`setup.py`). Nothing is written twice: the `.py` files are the reference and the only source;
the extensions are a build product placed beside them, which Python's import system prefers.

Compiled code keeps Python's semantics with one difference this project relies on knowing: a
value passed to an annotated parameter is checked against the annotation at run time, so a
function that checks an argument's type itself types that parameter `object` (the check is the
contract), and `int` parameters receive `True` as `1`.

A stale build must not run: the build records a SHA-256 of each source it compiled
(`native-build.json`), and when any source differs, or `MOBILEID_PURE_PYTHON=1` is set, every
compiled module is loaded from its `.py` instead, all or none (compiled modules call each other
directly). `state()` says which core runs and why; the benchmarks print it.

This module uses the standard library only: `setup.py` reads `COMPILED` from it before anything
is installed.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["COMPILED", "MANIFEST", "PURE_ENV", "prefer_source", "source_digest", "state"]

# The gate's decision path, in import order. Everything else (HTTP apps, stores, CLI) stays
# interpreted: it waits on I/O, and FastAPI and SQLAlchemy introspect it.
COMPILED: tuple[str, ...] = (
    "vc.errors",
    "vc.base64url",
    "vc.keys",
    "vc.jws",
    "vc.sd_jwt.common",
    "vc.sd_jwt.verifier",
    "vc.sd_jwt_vc",
    "vc.status_list",
    "vc.qr_compact",
    "verifier.reasons",
    "verifier.trust",
    "verifier.status",
    "verifier.replay",
    "verifier.policy",
    "verifier.pipeline",
)
MANIFEST = "native-build.json"  # beside this file: {"compiler": ..., "sources": {module: sha256}}
PURE_ENV = "MOBILEID_PURE_PYTHON"

log = logging.getLogger(__name__)
_ROOT = Path(__file__).resolve().parent.parent  # the directory holding vc/ and verifier/


def source_path(module: str, root: Path = _ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules' `.py` files ahead of the extensions built beside them."""

    def __init__(self, modules: Sequence[str], root: Path) -> None:
        self.paths = {name: source_path(name, root) for name in modules}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.paths.get(fullname)
        if source is None or not source.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def _decide(root: Path, environ: Mapping[str, str]) -> tuple[bool, str]:
    """(use the compiled modules, why)."""
    if environ.get(PURE_ENV, "") not in ("", "0"):
        return False, f"{PURE_ENV} is set"
    manifest = root / "vc" / MANIFEST
    try:
        built = json.loads(manifest.read_text())
        sources = built["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return False, "not compiled (no build manifest)"
    if set(sources) != set(COMPILED):
        return False, "the build compiled another module list"
    for name in COMPILED:
        path = source_path(name, root)
        if path.is_file() and source_digest(path) != sources[name]:
            return False, f"stale build: {name} changed since it was compiled"
    for name in COMPILED:
        spec = importlib.machinery.PathFinder.find_spec(
            name.rpartition(".")[2], [str(source_path(name, root).parent)]
        )
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return False, f"not compiled: no extension for {name}"
    return True, f"compiled with {built.get('compiler', 'mypyc')}"


_STATE: dict[str, object] = {}


def prefer_source(root: Path = _ROOT, environ: Mapping[str, str] = os.environ) -> None:
    """Decide once per process, before any listed module is imported (`vc/__init__` calls it)."""
    if _STATE:
        return
    compiled, why = _decide(root, environ)
    _STATE.update(core="compiled" if compiled else "python", why=why)
    if not compiled:
        sys.meta_path.insert(0, _SourceFinder(COMPILED, root))
        if why.startswith("stale"):
            log.warning("verification core runs from source: %s (reinstall to rebuild)", why)


def state() -> dict[str, object]:
    """Which core this process runs, why, and where each listed module was loaded from."""
    loaded = {
        name: ("compiled" if str(module.__file__).endswith((".so", ".pyd")) else "python")
        for name in COMPILED
        if (module := sys.modules.get(name)) is not None
    }
    return {**_STATE, "loaded": loaded}
