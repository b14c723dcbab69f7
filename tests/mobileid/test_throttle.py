"""`mobileid.throttle`: failures counted in the database that two workers share, each worker
refusing from memory the sources it has seen go over the limit; a success reads nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, select

from mobileid import throttle as throttle_module
from mobileid.db import connection_transaction, create_db_engine
from mobileid.throttle import FailureThrottle
from verifier.migrate import upgrade_verifier_database
from verifier.oid4vp.models import secret_failures

KIND, SOURCE, OTHER = "client_secret", "198.51.100.7", "198.51.100.8"
LIMIT, WINDOW = 3, 60


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    upgrade_verifier_database(engine, "login")
    yield engine
    engine.dispose()


def _fail(engine: Engine, worker: FailureThrottle, source: str, now: float) -> int | None:
    with connection_transaction(engine) as db:
        return worker.record_failure(db, KIND, source, now)


def test_two_workers_share_the_count_and_each_learns_the_refusal_from_a_failure(
    engine: Engine,
) -> None:
    first, second = (
        FailureThrottle(secret_failures, max_failures=LIMIT, window_s=WINDOW) for _ in range(2)
    )
    now = 1_000.0
    assert [_fail(engine, w, SOURCE, now) for w in (first, second, first)] == [None] * 3
    assert first.retry_after(KIND, SOURCE, now + 1) == WINDOW - 1  # it saw the limit reached
    assert second.retry_after(KIND, SOURCE, now + 1) is None  # it has not seen it yet
    assert second.retry_after("session_handle", SOURCE, now + 1) is None  # another kind
    assert first.retry_after(KIND, OTHER, now + 1) is None  # another source

    # the worker that had not seen it counts one more failure, and is told to refuse it
    assert _fail(engine, second, SOURCE, now + 2) == WINDOW - 2
    assert second.retry_after(KIND, SOURCE, now + 2) == WINDOW - 2

    # the window closes: both let the source try again, and a failure starts a new count
    assert first.retry_after(KIND, SOURCE, now + WINDOW) is None
    assert _fail(engine, first, SOURCE, now + WINDOW) is None
    assert second.retry_after(KIND, SOURCE, now + WINDOW + 1) is None
    with connection_transaction(engine) as db:
        rows = db.execute(select(secret_failures.c.source, secret_failures.c.failures)).all()
    assert [tuple(r) for r in rows] == [(SOURCE, 1)]


def test_a_check_that_succeeds_touches_no_database(engine: Engine) -> None:
    worker = FailureThrottle(secret_failures, max_failures=LIMIT, window_s=WINDOW)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert worker.retry_after(KIND, SOURCE, 1_000.0) is None
    assert statements == []
    _fail(engine, worker, SOURCE, 1_000.0)
    assert any("verifier_secret_failures" in s for s in statements)


def test_a_worker_remembers_a_bounded_number_of_sources(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle_module, "MAX_REMEMBERED", 2)
    worker = FailureThrottle(secret_failures, max_failures=1, window_s=WINDOW)
    sources = [f"203.0.113.{n}" for n in range(3)]
    for source in sources:
        _fail(engine, worker, source, 1_000.0)
    assert [worker.retry_after(KIND, s, 1_001.0) for s in sources] == [None, None, WINDOW - 1]
    # a forgotten source is refused again from its next failure on
    assert _fail(engine, worker, sources[0], 1_001.0) == WINDOW - 1
