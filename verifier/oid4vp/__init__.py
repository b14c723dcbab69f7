"""OpenID4VP 1.0 verifier for logins and desks: DCQL requests, signed Request Objects, QR and
same-device links, `direct_post` responses verified through the shared pipeline."""
