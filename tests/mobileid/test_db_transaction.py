"""`mobileid.db`: one unit of work for ORM sessions and Core connections; an error that declares
`keep_changes` commits before it propagates, any other error rolls back."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from issuer.errors import IssuerCode, IssuerError
from mobileid.db import connection_transaction, create_db_engine, make_session_factory, transaction
from verifier.errors import VerifierError

metadata = MetaData()
rows = Table("rows", metadata, Column("n", Integer, primary_key=True))


class SpentNonce(VerifierError):
    keep_changes = True


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        pytest.param(SpentNonce("invalid_request"), True, id="declared_by_the_class"),
        pytest.param(VerifierError("access_denied", keep_changes=True), True, id="passed"),
        pytest.param(IssuerError(IssuerCode.invalid_grant, keep_changes=True), True, id="issuer"),
        pytest.param(VerifierError("access_denied"), False, id="not_declared"),
        pytest.param(ValueError("a bug"), False, id="foreign"),
    ],
)
@pytest.mark.parametrize("unit", ["session", "connection"])
def test_an_error_keeps_changes_only_when_it_declares_so(
    database_url: str, unit: str, error: Exception, kept: bool
) -> None:
    engine = create_db_engine(database_url)
    metadata.create_all(engine)
    factory = make_session_factory(engine)

    def open_unit() -> AbstractContextManager[Any]:
        return transaction(factory) if unit == "session" else connection_transaction(engine)

    with pytest.raises(type(error)), open_unit() as db:
        db.execute(insert(rows).values(n=1))
        raise error
    with open_unit() as db:
        assert db.execute(select(rows.c.n)).scalars().all() == ([1] if kept else [])
        db.execute(text("DELETE FROM rows"))
    engine.dispose()
