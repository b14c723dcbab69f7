"""Shared set-up for the login tests: authlib's httpx client and JOSE modules imported
once with their deprecation notices (httpx -> httpx2, authlib.jose -> joserfc) silenced, since
tests turn warnings into errors."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    import authlib.deprecate  # its import puts an "always" filter first ...

    warnings.simplefilter("ignore")  # (... so "ignore" goes in front of it, afterwards)
    import authlib.integrations.httpx_client
    import authlib.jose  # noqa: F401  (deprecated for joserfc; authlib's own OIDC checks use it)
