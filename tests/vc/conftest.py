"""Shared set-up for the `vc/` tests.

The `vectors` helper and `vc_factory` are found through pyproject's `pythonpath` (there is
deliberately no `__init__.py` here: a package called `vc` would shadow the code under test).
"""

from __future__ import annotations
