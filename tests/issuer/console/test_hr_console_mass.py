"""Mass actions from the console: confirmed with the count, run in the background, progress
streamed (Server-Sent Events) and polled until 100 %; an officer stays within their agency."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hr_console_kit import AGENCY, OTHER_AGENCY, admin, hr_desk, officer
from sqlalchemy import select

from issuer.console.hr_mass import MassJobs
from issuer.models import AuditEntry
from vc.status_list import SUSPENDED


@pytest.fixture
def desk(server_env, monkeypatch, tmp_path: Path):
    with hr_desk(server_env, monkeypatch, tmp_path) as desk:
        desk.server.app.state.hr_mass_jobs = MassJobs(batch_size=1)  # a batch per credential
        yield desk


def _job_url(started) -> str:
    assert started.status_code == 303, started.text[:1000]
    location = started.headers["location"]
    assert re.fullmatch(r"/console/hr/mass/jobs/[\w-]+", location)
    return location


def test_mass_suspension_confirmed_runs_to_100_percent(desk) -> None:
    issued = [desk.office.issue(n) for n in ("E1001", "E1002", "E9000")]
    desk.sign_in(officer(AGENCY, "O1"))
    form = {"action": "suspend", "reason": "emergency", "agency_code": AGENCY}
    confirm = desk.post_form("/console/hr/mass", "/console/hr/mass", form)
    assert confirm.status_code == 200
    assert "<strong>3</strong>" in confirm.text and "Gates and logins refuse it" in confirm.text
    assert all(desk.office.state_of(i) == "active" for i in issued), "nothing before confirming"

    started = desk.client.post(
        "/console/hr/mass",
        data={**form, "confirmed": "yes", "comment": "훈련", "csrf_token": _token(desk)},
    )
    job = _job_url(started)
    page = desk.client.get(job)
    assert page.status_code == 200 and f'data-sse="{job}/events"' in page.text
    with desk.client.stream("GET", f"{job}/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        stream = events.read().decode()
    percents = [int(p) for p in re.findall(r'data-percent="(\d+)"', stream)]
    assert percents[-1] == 100 and percents == sorted(percents)
    assert stream.count("event: done") == 1 and stream.rstrip().endswith("</div>")
    final = desk.client.get(f"{job}/progress").text
    assert 'value="100"' in final and "완료 / Done: 3" in final
    desk.office.assert_published(issued[0].uri, {i.idx: SUSPENDED for i in issued})
    with desk.server.runtime.unit_of_work() as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["credential.suspend",
                                                             "credential.mass_suspend"]))
        ).all()  # fmt: skip
    assert len(entries) == 4 and {e.actor for e in entries} == {"console:O1"}


def _token(desk) -> str:
    from hr_console_kit import csrf_of

    return csrf_of(desk.client.get("/console/hr/mass"))


def test_progress_is_polled_until_done(desk) -> None:
    desk.office.issue("E1001")
    desk.sign_in(admin())
    started = desk.client.post(
        "/console/hr/mass",
        data={"action": "revoke", "reason": "other", "department_code": "D100",
              "confirmed": "yes", "csrf_token": _token(desk)},
    )  # fmt: skip
    job = _job_url(started)
    deadline = time.monotonic() + 30
    while 'value="100"' not in (progress := desk.client.get(f"{job}/progress").text):
        assert time.monotonic() < deadline, progress
        time.sleep(0.05)
    assert "완료 / Done: 1" in progress
    desk.sign_in(officer(AGENCY, "O2"))  # not theirs: the job page is not found
    assert desk.client.get(job).status_code == 404


def test_an_officer_cannot_reach_beyond_their_agency(desk) -> None:
    issued = desk.office.issue("E1001")
    desk.sign_in(officer(OTHER_AGENCY))
    other = {"action": "suspend", "reason": "emergency", "confirmed": "yes"}
    refused = desk.post_form(
        "/console/hr/mass", "/console/hr/mass", {**other, "agency_code": AGENCY}
    )
    assert refused.status_code == 403 and "forbidden_scope" in refused.text
    # a department of another agency: narrowed to theirs, nothing matches
    narrowed = desk.post_form(
        "/console/hr/mass", "/console/hr/mass", {**other, "department_code": "D100"}
    )
    assert narrowed.status_code == 200 and "완료 / Done: 0" in _wait_done(desk, narrowed)
    assert desk.office.state_of(issued) == "active"
    bad = desk.post_form(
        "/console/hr/mass", "/console/hr/mass", {"action": "suspend", "reason": "phone_lost"}
    )
    assert bad.status_code == 400 and "invalid_scope" in bad.text


def _wait_done(desk, job_page) -> str:
    job = str(job_page.url.path)
    deadline = time.monotonic() + 30
    while "완료 / Done" not in (progress := desk.client.get(f"{job}/progress").text):
        assert time.monotonic() < deadline, progress
        time.sleep(0.05)
    return progress
