"""Alembic environment: always run through `verifier.migrate` with a live connection."""

from __future__ import annotations

from alembic import context

from verifier.migrate import VERSION_TABLE, target_metadata

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=config.attributes.get("include_object"),
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
