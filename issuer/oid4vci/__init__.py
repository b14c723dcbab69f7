"""OpenID4VCI 1.0: metadata, pre-authorized offers and tokens, DPoP, nonces and credentials."""
