"""The login service: business systems log employees in with OpenID Connect (code flow + PKCE)
while the verifier asks the wallet over OpenID4VP.

The split:
- `verifier.oid4vp` is the OpenID4VP verifier library, used by this service and by a gate's
  desk alike: requests and DCQL, sessions, the wallet's responses, verification, how a session
  ends, its routes (`LoginRuntime`, `oid4vp_router`) and its tables (`verifier.oid4vp.models`:
  sessions, login records, failed secrets). It knows nothing of OpenID Connect.
- `verifier.login` (here) is the login service on top of it: its config (`config`), its runtime
  (`service`: wiring and the purge), the OpenID Connect provider (`provider`, `clients`,
  `claims`, `keys`, `pages`, `api`), its login sessions and logout (`sessions`: `sid` and the
  logout tokens owed; `logout`: when sessions end, RP-initiated logout; `backchannel`: sending
  logout tokens) and the provider's tables (`models`). It hands OpenID4VP a
  typed return URI (`OidcContext.continue_uri`) and reads finished sessions back.
- `mobileid.login_app` assembles and serves it: settings (`mobileid.settings.LoginSettings`),
  the database, the one HTTP error mapping (`LOGIN_ERRORS`) on the shared edge.

Neither this package nor `verifier.oid4vp` imports `verifier.gate`, and the gate never imports
this package.
"""
