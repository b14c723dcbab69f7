"""Test helpers for the employee's and the department head's console pages: the issuer with its
console as `mobileid serve` builds it (`issuer_console_kit.served_issuer`: the standard staff
imported, the SMS in `dev-sms.log`), the signed-in person chosen by overriding `current_viewer`
(the kit's documented seam); the login service it would send people to is never reached."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from issuer_console_kit import served_issuer
from sqlalchemy import select

from console.viewer import EMPLOYEE, Grant, Viewer
from console.web import current_viewer
from issuer.models import AuditEntry

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def people() -> dict[str, Viewer]:
    """The standard staff's people as the console sees them: E1001 and E9000 (D100) employees,
    E1002 heads D100, E2001 heads D200; X0000 is signed in but not in the HR data."""
    staff = Grant(EMPLOYEE)
    head = lambda number, name, dept: Viewer(  # noqa: E731
        number, name, (staff, Grant("department_head", dept))
    )
    return {
        "E1001": Viewer("E1001", "홍길동", (staff,)),
        "E9000": Viewer("E9000", "직원0", (staff,)),
        "E1002": head("E1002", "김철수", "D100"),
        "E2001": head("E2001", "이영희", "D200"),
        "nobody": Viewer("X0000", "외부인", ()),
    }


class _Clock:
    """What the test holder signs its proofs with (`issuer_kit.Holder`)."""

    @staticmethod
    def timestamp() -> int:
        return int(time.time())


@dataclass
class Issuer:
    """The served issuer, shaped as `issuer_kit.Holder` and the tests read it."""

    app: FastAPI
    client: httpx.Client
    data_dir: Path
    clock: _Clock

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


class Pages:
    """The console pages on the served issuer (one session cookie for the client, whoever is
    signed in); `as_(number)` picks who is signed in."""

    def __init__(self, app: FastAPI, url: str, data_dir: Path) -> None:
        self.server = Issuer(app, httpx.Client(base_url=url, timeout=30), data_dir, _Clock())
        self.client = httpx.Client(base_url=url, timeout=30)
        self.people = people()
        self.viewer: Viewer | None = None
        app.dependency_overrides[current_viewer] = self._viewer

    def close(self) -> None:
        self.client.close()
        self.server.client.close()

    def _viewer(self) -> Viewer:
        assert self.viewer is not None
        return self.viewer

    def as_(self, who: str) -> Pages:
        self.viewer = self.people[who]
        return self

    def csrf(self, page: str = "/console/me") -> str:
        r = self.client.get(page)
        found = _CSRF.search(r.text)
        assert found, r.text
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, page: str = "/console/me") -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf(page), **data})

    def audit(self, actor: str) -> list[tuple[str, str]]:
        """(action, subject) of the audit entries recorded for `actor`, oldest first."""
        with self.server.runtime.unit_of_work() as session:
            rows = session.execute(
                select(AuditEntry.action, AuditEntry.subject)
                .where(AuditEntry.actor == actor)
                .order_by(AuditEntry.seq)
            ).all()
        return [(a, s) for a, s in rows]


@contextlib.contextmanager
def console_pages(tmp_path: Path, database_url: str) -> Iterator[Pages]:
    with served_issuer(
        tmp_path,
        database_url,
        login_url="http://127.0.0.1:9",
        client_id="issuer-console",
        secret="console-secret",
        run_outbox=True,
    ) as (served, app):
        pages = Pages(app, served.url, tmp_path / "data")
        try:
            yield pages
        finally:
            pages.close()


def error_code(html: str) -> str | None:
    """The stable code an error page shows."""
    found = re.search(r"Error code: <code>([a-z_]+)</code>", html)
    return found.group(1) if found else None
