"""The signing keys a running issuer process uses: opened at start, following the database after.

`open_key_store` runs once at start: it moves a key directory left by an earlier release into
the database (sealed, one transaction, then the plaintext files go), creates the first key when
there is none (two processes starting together: exactly one key, the loser reads the winner's),
and opens every key, refusing a deployment secret that does not open them.

`KeyStore.current()` answers from memory: it is read inside request transactions, and a query
there would need a second connection (SQLite has one, behind a writer lock: a deadlock). A
rotation by another process reaches the ring through `refresh()`, which a server's daemon thread
calls every second (`follow`) and a process that changed the keys itself calls at once. The
check costs one small SELECT of the keys' numbers and dates; the sealed keys are opened only
when those changed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from issuer.errors import IssuerError, KeyStoreError
from issuer.keys.files import read_key_files, remove_key_files
from issuer.keys.signing import (
    IssuerKeyring,
    KeyVersions,
    insert_signing_key,
    key_versions,
    load_keyring,
    new_signing_key,
)
from vc.sealing import SealingKey

__all__ = ["FOLLOW_EVERY_S", "KeyStore", "open_key_store"]

log = logging.getLogger(__name__)
FOLLOW_EVERY_S = 1.0
UnitOfWork = Callable[[], AbstractContextManager[Session]]


@dataclass(slots=True)
class KeyStore:
    """The keyring this process signs with, refreshed from the table when it changes."""

    unit_of_work: UnitOfWork
    sealer: SealingKey
    ring: IssuerKeyring
    versions: KeyVersions
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def current(self) -> IssuerKeyring:
        return self.ring

    def refresh(self) -> IssuerKeyring:
        """Re-read the keys if the table changed. Never call it inside a transaction."""
        with self._lock, self.unit_of_work() as session:
            versions = key_versions(session)
            if versions != self.versions:
                ring = load_keyring(session, self.sealer)
                if ring is None:
                    raise KeyStoreError("the signing keys table is empty")
                ring.active  # noqa: B018 - refuse a ring with every key retired
                self.ring, self.versions = ring, versions
        return self.ring

    def follow(self, every: float = FOLLOW_EVERY_S) -> None:
        """Refresh every `every` seconds in a daemon thread until `stop()`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._follow, args=(every,), name="issuer-keys", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _follow(self, every: float) -> None:
        failing = False
        while not self._stop.wait(every):
            try:
                self.refresh()
            except (IssuerError, SQLAlchemyError) as exc:
                if not failing:  # once per outage, not once a second
                    log.warning("cannot re-read the signing keys; keeping the ones in use: %s", exc)
                failing = True
            else:
                if failing:
                    log.info("signing keys readable again")
                failing = False


def _check_or_import(
    session: Session, sealer: SealingKey, legacy_dir: Path, alg: str, now: datetime
) -> int:
    """Fill an empty table (from the legacy directory, else one new key) or check that the
    directory holds nothing the table lacks; returns the number of legacy files found."""
    files = read_key_files(legacy_dir)
    ring = load_keyring(session, sealer)
    if ring is None and files:
        for number, key in files:
            insert_signing_key(session, sealer, key, number)
    elif ring is None:  # a concurrent first start may take number 1 first: IntegrityError
        insert_signing_key(session, sealer, new_signing_key(alg, now), 1)
    else:
        unknown = [key.kid for _, key in files if ring.get(key.kid) is None]
        if unknown:
            raise KeyStoreError(
                f"{legacy_dir} holds {len(unknown)} signing key(s) the database does not have "
                f"(kid {unknown[0][:16]}...): start with the database they belong to "
                "(MOBILEID_DATABASE_URL), or move that directory out of MOBILEID_DATA_DIR if "
                "nothing they signed is still in use"
            )
    return len(files)


def open_key_store(
    unit_of_work: UnitOfWork, sealer: SealingKey, *, alg: str, now: datetime, legacy_dir: Path
) -> KeyStore:
    """The deployment's keys, created or imported on first start; refuses another secret."""
    for attempt in (1, 2):
        try:
            with unit_of_work() as session:
                found = _check_or_import(session, sealer, legacy_dir, alg, now)
                ring = load_keyring(session, sealer)
                versions = key_versions(session)
            break
        except IntegrityError as exc:  # another process filled the table first: use its keys
            if attempt == 2:
                raise KeyStoreError("the signing keys table keeps changing; try again") from exc
    if ring is None:  # pragma: no cover - the transaction above stored at least one key
        raise KeyStoreError("no signing key in the database")
    if found:
        removed = remove_key_files(legacy_dir)
        log.warning(
            "the %d signing key(s) of %s are in the database now, sealed with "
            "MOBILEID_SECRET_KEY; removed %d plaintext key file(s)",
            found,
            legacy_dir,
            removed,
        )
    return KeyStore(unit_of_work, sealer, ring, versions)
