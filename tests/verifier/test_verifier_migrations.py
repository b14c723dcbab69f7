"""Verifier schema migrations: one Alembic branch per deployment, adoption of create_all schemas."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, insert, inspect, select, text

from verifier.login.models import oidc_keys, oidc_metadata
from verifier.migrate import VERSION_TABLE, Part, branch_tables, upgrade_verifier_database
from verifier.models import (
    bundle_items,
    central_records,
    entry_records,
    metadata,
    seen_presentations,
)
from verifier.oid4vp.models import login_metadata

PARTS: tuple[Part, ...] = ("gate", "central", "login")
HEADS = {"gate": "g0002", "central": "c0002", "login": "l0004"}


@pytest.fixture
def engine(database_url: str) -> Any:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


def heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(
            MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE}
            ).get_current_heads()
        )


def tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names()) - {VERSION_TABLE}


def schema_diff(engine: Engine, part: Part) -> list[Any]:
    owned = branch_tables(part)

    def ours(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name in owned

    target = [login_metadata, oidc_metadata] if part == "login" else metadata
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": ours, "compare_type": True})
        return list(compare_metadata(ctx, target))


@pytest.mark.parametrize("part", PARTS)
def test_each_part_creates_exactly_its_tables_as_the_models_say(engine, part: Part) -> None:
    upgrade_verifier_database(engine, part)
    assert tables(engine) == set(branch_tables(part))
    assert heads(engine) == {HEADS[part]}
    assert schema_diff(engine, part) == []


def test_parts_share_one_database_and_rerunning_changes_nothing(engine) -> None:
    for part in PARTS:
        upgrade_verifier_database(engine, part)
    for part in PARTS:
        upgrade_verifier_database(engine, part)
    assert heads(engine) == set(HEADS.values())
    assert tables(engine) == set().union(*(branch_tables(p) for p in PARTS))


def test_a_create_all_database_is_adopted_with_its_rows(engine) -> None:
    # the gate and central tables, as `create_all` made them before migrations existed
    metadata.create_all(engine, tables=[entry_records, bundle_items, central_records])
    row = {
        "id": "a" * 32,
        "gate_id": "sejong-01",
        "site": "sejong",
        "purpose": "gate",
        "at": 1.0,
        "allow": True,
        "reason": "ok",
        "stale_status": False,
        "elapsed_ms": 0.5,
    }
    with engine.begin() as conn:
        conn.execute(insert(entry_records), [row])
        conn.execute(insert(central_records), [{**row, "received_at": 2.0}])
    upgrade_verifier_database(engine, "gate")
    upgrade_verifier_database(engine, "central")
    assert heads(engine) == {HEADS["gate"], HEADS["central"]}
    assert seen_presentations.name in tables(engine)  # the gate's later table beside them
    with engine.connect() as conn:
        assert conn.execute(select(entry_records.c.gate_id)).scalars().all() == ["sejong-01"]
        assert conn.execute(select(central_records.c.received_at)).scalars().all() == [2.0]
    upgrade_verifier_database(engine, "login")  # a part not there yet is created alongside
    assert heads(engine) == set(HEADS.values())


def test_some_tables_of_a_part_without_a_record_are_refused(engine) -> None:
    oidc_keys.create(engine)
    with pytest.raises(RuntimeError, match="some of the login tables"):
        upgrade_verifier_database(engine, "login")
    assert heads(engine) == set()  # nothing was stamped or half-created
    assert tables(engine) == {"verifier_oidc_keys"}


def test_unknown_part_is_refused(engine) -> None:
    with pytest.raises(ValueError, match="unknown verifier schema part"):
        upgrade_verifier_database(engine, "wallet")  # type: ignore[arg-type]


def test_the_version_table_is_the_verifiers_own(engine) -> None:
    upgrade_verifier_database(engine, "gate")
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [
            "g0002"
        ]
    assert "alembic_version_issuer" not in tables(engine)
