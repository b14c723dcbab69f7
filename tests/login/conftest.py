"""Shared set-up for the login tests: `tests/login` and `tests/verifier` on `sys.path` (for
`login_kit` and the gate kit's issuer double); authlib's httpx client and JOSE modules imported
once with their deprecation notices (httpx -> httpx2, authlib.jose -> joserfc) silenced, since
tests turn warnings into errors."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _path in (_HERE, _HERE.parent / "verifier", _HERE.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

with warnings.catch_warnings():
    import authlib.deprecate  # its import puts an "always" filter first ...

    warnings.simplefilter("ignore")  # (... so "ignore" goes in front of it, afterwards)
    import authlib.integrations.httpx_client
    import authlib.jose  # noqa: F401  (deprecated for joserfc; authlib's own OIDC checks use it)
