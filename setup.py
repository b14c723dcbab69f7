"""Compiles the gate's verification core with mypyc; everything else is in pyproject.toml.

mypyc compiles the listed modules (`vc.native.COMPILED`), unchanged typed Python, into C
extensions beside their sources: a gate then makes about 12 % more decisions a second.
A compiled core written by hand would be a second implementation of security-critical parsing
of attacker-controlled input; this one is the same code, and the test suite runs on both.

`MOBILEID_PURE_PYTHON=1` at install time builds nothing (and at run time loads the sources).
Without a C compiler the extensions are skipped (`optional`) and the sources run.
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
NATIVE = runpy.run_path(str(HERE / "vc" / "native.py"))


class BuildCore(build_ext):
    """build_ext that also records which sources the extensions were compiled from."""

    def run(self) -> None:
        super().run()
        built = [ext for ext in self.extensions if Path(self.get_ext_fullpath(ext.name)).exists()]
        if len(built) != len(self.extensions):
            print("mobileid: compiled core not built; the Python sources will run", file=sys.stderr)
            return
        sources = {
            name: hashlib.sha256(NATIVE["source_path"](name, HERE).read_bytes()).hexdigest()
            for name in NATIVE["COMPILED"]
        }
        import mypy.version

        manifest = {"compiler": f"mypyc {mypy.version.__version__}", "sources": sources}
        target = Path(self.get_ext_fullpath("vc.errors")).parent / NATIVE["MANIFEST"]
        target.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def core_extensions() -> list:
    if os.environ.get(NATIVE["PURE_ENV"], "") not in ("", "0"):
        return []
    from mypyc.build import mypycify

    paths = [str(NATIVE["source_path"](name, Path("."))) for name in NATIVE["COMPILED"]]
    # pyproject's strict mypy settings are CI's to enforce (`mypy`), not an install's: a
    # lint-level complaint must not fail `pip install`. The types are the same either way, since
    # [build-system] requires the runtime dependencies the compiled modules import.
    options = ["--config-file", os.devnull, "--ignore-missing-imports", "--follow-imports=silent"]
    extensions = mypycify([*options, *paths], opt_level="3", group_name="mobileid_core")
    for extension in extensions:
        extension.optional = True  # no compiler: install the sources alone
    return extensions


setup(ext_modules=core_extensions(), cmdclass={"build_ext": BuildCore})
