"""Alembic migrations of the issuer's tables (version table `alembic_version_issuer`)."""
