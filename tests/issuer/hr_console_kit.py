"""Test helpers for the HR officer's console: a live issuer with its console as the assembly
mounts it, the signed-in person chosen by overriding `current_viewer` (the kit's
documented seam), forms posted with the page's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from issuer_kit import AGENCY, OTHER_AGENCY, employee
from lifecycle_kit import Clock, Office, RunningIssuer
from server_kit import Served

from console.viewer import Grant, Viewer
from console.web import current_viewer

__all__ = [
    "AGENCY",
    "OTHER_AGENCY",
    "HrDesk",
    "admin",
    "csrf_of",
    "hr_desk",
    "officer",
]

STRANGER = employee(
    "E5001",
    name="남궁외부",
    agency="통일부",
    agency_code=OTHER_AGENCY,
    department="정책과",
    department_code="U100",
)
"""An employee of the other agency (not dispatched anywhere)."""


def admin(number: str = "A0001") -> Viewer:
    return Viewer(number, "관리자", (Grant("hr_admin"),))


def officer(agency: str, number: str = "O0001") -> Viewer:
    return Viewer(number, "인사담당", (Grant("hr_officer", agency),))


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a page's form carries (the session's)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


class HrDesk:
    """A live issuer with the HR console, seeded staff (plus `STRANGER`), and an `Office` to
    issue real credentials over HTTP."""

    def __init__(self, server: RunningIssuer, tmp_path: Path) -> None:
        self.server = server
        self.client = server.client
        self.office = Office(server, tmp_path)
        from issuer.hr.importing import HrSource, import_records, validate_records

        with server.runtime.unit_of_work() as session:
            import_records(
                session, validate_records([STRANGER]), source=HrSource.central, now=server.clock()
            )

    def sign_in(self, viewer: Viewer | None) -> None:
        """Who the console sees from now on (None: nobody, the kit's real dependency)."""
        overrides = self.server.app.dependency_overrides
        if viewer is None:
            overrides.pop(current_viewer, None)
        else:
            overrides[current_viewer] = lambda: viewer

    def post_form(self, page_url: str, url: str, data: dict[str, Any]) -> httpx.Response:
        """Post `data` to `url` with the CSRF token of the form on `page_url`."""
        page = self.client.get(page_url)
        assert page.status_code == 200, page.text[:500]
        return self.client.post(
            url, data={"csrf_token": csrf_of(page), **data}, follow_redirects=True
        )


@contextmanager
def hr_desk(
    server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[HrDesk]:
    """The issuer app with the HR console on 127.0.0.1, its staff seeded."""
    from mobileid.app import create_app
    from mobileid.settings import get_settings

    served = Served(None)
    env = dict(
        server_env,
        MOBILEID_ISSUER_BASE_URL=served.url,
        MOBILEID_PORT=str(served.port),
        # the console as `mobileid serve` mounts it; its login service is never reached (the
        # tests choose the viewer)
        MOBILEID_CONSOLE_LOGIN_URL="http://127.0.0.1:9",
        MOBILEID_CONSOLE_CLIENT_ID="issuer-console",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clock = Clock()
    try:
        served.app = create_app(get_settings(), clock=clock)
    except BaseException:
        served.close()
        raise
    served.start()
    try:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            server = RunningIssuer(
                served.url, Path(env["MOBILEID_DATA_DIR"]), env, clock, served.app, client
            )
            yield HrDesk(server, tmp_path)
    finally:
        served.stop()
