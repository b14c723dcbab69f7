"""Shared set-up for the `vc/` tests.

`tests/` goes on `sys.path` for the `vectors` helper and `tests/vc/` for `vc_factory`, so the
imports work under both pytest import modes (there is deliberately no `__init__.py` here: a
package called `vc` would shadow the code under test).
"""

from __future__ import annotations

import sys
from pathlib import Path

for _path in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
