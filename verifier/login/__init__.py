"""OpenID Connect bridge: business systems log employees in with OIDC (code flow + PKCE) while the
verifier asks the wallet over OpenID4VP; see `verifier.oidc.app` for how it is served."""
