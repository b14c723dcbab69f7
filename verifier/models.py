"""Tables of the verifier: gate-local entry records, bundle items and presentations seen,
central entry records.

SQLAlchemy Core tables on their own `MetaData`, so the verifier's schema never mixes with the
issuer's. A gate keeps a small SQLite file of its own; the central service may share a database
server with other parties, hence the `verifier_` prefix.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "RECORD_COLUMNS",
    "bundle_items",
    "central_gates",
    "central_records",
    "entry_records",
    "metadata",
    "seen_presentations",
]

metadata = MetaData()


def _record_columns() -> list[Column[object]]:
    return [
        Column("id", String(32), primary_key=True),
        Column("gate_id", String(64), nullable=False),
        Column("site", String(80), nullable=False),
        Column("purpose", String(16), nullable=False),
        Column("at", Float, nullable=False),
        Column("allow", Boolean, nullable=False),
        Column("reason", String(32), nullable=False),
        Column("stale_status", Boolean, nullable=False, default=False),
        Column("issuer", String(255)),
        Column("employee_number", String(20)),
        Column("agency_code", String(16)),
        Column("member_id", String(32)),
        Column("elapsed_ms", Float, nullable=False),
    ]


RECORD_COLUMNS = (
    "id",
    "gate_id",
    "site",
    "purpose",
    "at",
    "allow",
    "reason",
    "stale_status",
    "issuer",
    "employee_number",
    "agency_code",
    "member_id",
    "elapsed_ms",
)
"""An entry record on the wire (upload) and in CSV, in this order."""

entry_records = Table(
    "verifier_gate_entry_records",
    metadata,
    *_record_columns(),
    Column("uploaded_at", Float),
    Index("ix_verifier_gate_entry_records_at", "at"),
    Index("ix_verifier_gate_entry_records_uploaded_at", "uploaded_at"),
)
"""Every scan at this gate; `uploaded_at` is set once the central service has it."""

bundle_items = Table(
    "verifier_gate_bundle_items",
    metadata,
    Column("kind", String(16), primary_key=True),  # "issuer" or "status_list"
    Column("key", String(512), primary_key=True),  # issuer identifier or status list URI
    Column("issuer", String(255), nullable=False),
    Column("body", Text, nullable=False),  # metadata JSON or status list token
    Column("etag", String(255)),
    Column("fetched_at", Float, nullable=False),
)
"""The offline bundle: what the gate last learnt, re-verified whenever it is loaded."""

seen_presentations = Table(
    "verifier_gate_seen_presentations",
    metadata,
    Column("key", LargeBinary(16), primary_key=True),  # verifier.replay.replay_key
    Column("keep_until", Float, nullable=False),
    sqlite_with_rowid=False,  # the key is the row: one B-tree to write per scan, not two
)
"""Presentations this gate accepted, each kept until its KB-JWT `iat` can no longer pass the
window, so a QR shown again is refused even after the gate restarts."""

central_records = Table(
    "verifier_central_entry_records",
    metadata,
    *_record_columns(),
    Column("received_at", Float, nullable=False),
    Index("ix_verifier_central_entry_records_at", "at"),
    Index("ix_verifier_central_entry_records_gate", "gate_id", "at"),
)
"""Entry records of every gate; the record `id` (made by the gate) is the idempotency key."""

central_gates = Table(
    "verifier_central_gates",
    metadata,
    Column("gate_id", String(64), primary_key=True),
    Column("last_contact_at", Float, nullable=False),
)
"""When the central service last heard from each gate (every upload, an empty one included: the
gates' heartbeat), for the operators' overview of gates online and offline."""
