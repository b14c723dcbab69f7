"""A credential after issuance: revoke, suspend, reinstate, reissue, one by one or en masse."""
