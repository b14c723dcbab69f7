"""A population of issued credentials for load and scale work, without 1.2 million OpenID4VCI
flows: one active credential per imported employee (retired ones excepted), each at a random
status slot through the issuer's own bulk allocator (`issuer.status.bulk`), then every list
published (`StatusListPublisher.rebuild`). The credential rows carry what issuance would record
(holder key thumbprint, signing kid, expiry); no credential is signed, as none leaves the
issuer.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, text

from issuer.models import Credential, Employee
from issuer.status.bulk import insert_with_status_slots
from mobileid.runtime import IssuerRuntime

__all__ = ["issue_population"]


def issue_population(
    runtime: IssuerRuntime,
    *,
    batch: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Issue one active credential to every employee not retired, `batch` per transaction;
    returns how many."""
    kid = runtime.keyring.active.kid
    lifetime = timedelta(seconds=runtime.config.credential_lifetime_s)
    issued, after = 0, 0
    while True:
        with runtime.unit_of_work() as session:
            now = runtime.clock()
            ids = session.scalars(
                select(Employee.id)
                .where(Employee.id > after, Employee.employment_status != "retired")
                .order_by(Employee.id)
                .limit(batch)
            ).all()
            if not ids:
                break
            rows = [
                {
                    "id": uuid.uuid4().hex,
                    "employee_id": employee_id,
                    "holder_jkt": secrets.token_urlsafe(32),
                    "kid": kid,
                    "state": "active",
                    "issued_at": now,
                    "expires_at": now + lifetime,
                    "notification_id": secrets.token_urlsafe(32),
                }
                for employee_id in ids
            ]
            insert_with_status_slots(session, runtime.config, now, rows)
        issued += len(ids)
        after = ids[-1]
        if progress is not None:
            progress(len(ids))
    with runtime.unit_of_work() as session:
        runtime.status.rebuild(session, keyring=runtime.keyring, now=runtime.clock())
        if session.get_bind().dialect.name == "postgresql":  # as autovacuum would have by then
            session.execute(text(f"ANALYZE {Credential.__tablename__}"))
    return issued
