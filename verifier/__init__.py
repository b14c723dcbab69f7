"""The relying side: verification pipeline and policies, gates, logins, trust and status cache."""

import vc  # noqa: F401  (decides which verification core loads before verifier.* modules do)
