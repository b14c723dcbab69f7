"""Alembic environment: always run through `remote_work.migrate` with a live connection."""

from __future__ import annotations

from typing import Any

from alembic import context

from remote_work.migrate import VERSION_TABLE
from remote_work.models import metadata

config = context.config
connection = config.attributes["connection"]


def _ours(name: str | None, type_: str, _parent_names: Any) -> bool:
    return type_ != "table" or (name or "").startswith("rw_")


context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=_ours,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
