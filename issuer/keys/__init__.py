"""The issuer's signing keys: the keyring, its store in the database, rotation, old key files."""
