"""Test helpers for the issuer console's pages: a live issuer, a console app on its context, and
the signed-in person chosen per request (`current_viewer` overridden, as the contract allows)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from issuer_kit import Tokens, seed
from server_kit import Served
from sqlalchemy import select

from console.viewer import Grant, Viewer
from console.web import Console, current_viewer
from issuer.console.employee import employee_router
from issuer.console.inbox import inbox_router
from issuer.models import AuditEntry

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TEMPLATES = Path(__file__).parents[2] / "issuer" / "console" / "templates"


def people() -> dict[str, Viewer]:
    """The standard staff's people as the console sees them: E1001 and E9000 (D100) employees,
    E1002 heads D100, E2001 heads D200."""
    head = lambda number, name, dept: Viewer(  # noqa: E731
        number, name, (Grant("department_head", dept),)
    )
    return {
        "E1001": Viewer("E1001", "홍길동", ()),
        "E9000": Viewer("E9000", "직원0", ()),
        "E1002": head("E1002", "김철수", "D100"),
        "E2001": head("E2001", "이영희", "D200"),
        "nobody": Viewer("X0000", "외부인", ()),
    }


class Pages:
    """The employee and inbox pages on a live issuer, served on 127.0.0.1 (one session cookie
    for the client, whoever is signed in); `as_(number)` picks who is signed in."""

    def __init__(self, server: Any, tmp_path: Path) -> None:
        self.server = server
        self.tokens: Tokens = seed(server, tmp_path)
        self.people = people()
        self.viewer: Viewer | None = None
        app = FastAPI()
        app.state.issuer = server.app.state.issuer
        console = Console(
            title="모바일 공무원증 / Mobile ID",
            templates=TEMPLATES,
            roles=None,
            signin=None,
            session_secret=b"k" * 32,
            secure_cookies=False,
        )
        console.install(app)
        app.include_router(employee_router(console))
        app.include_router(inbox_router(console))
        app.dependency_overrides[current_viewer] = self._viewer
        self.served = Served(app).start()
        self.client = httpx.Client(base_url=self.served.url, timeout=30)

    def close(self) -> None:
        self.client.close()
        self.served.stop()

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


def error_code(html: str) -> str | None:
    """The stable code an error page shows."""
    found = re.search(r"Error code: <code>([a-z_]+)</code>", html)
    return found.group(1) if found else None
