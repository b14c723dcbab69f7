"""Crashes around a status change: the published token always ends up agreeing with what the
database committed, after a restart at the latest (publication from the committed state, rebuild
on start). Processes are really killed: `os._exit` in a subprocess, SIGKILL of `mobileid serve`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from lifecycle_kit import Clock, Office, bound_socket, run_issuer
from typer.testing import CliRunner

from mobileid.cli import app as cli
from vc.status_list import INVALID

ROOT = Path(__file__).resolve().parents[3]

REVOKE_THEN_DIE = r"""
import os, sys
from issuer.api_tokens import operator
from issuer.lifecycle.credentials import revoke_credential
from issuer.status.publication import StatusListPublisher
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import get_settings

mode, credential_id = sys.argv[1], sys.argv[2]
runtime = open_issuer_runtime(get_settings())
if mode == "during_publication":  # dies while signing, inside the transaction
    StatusListPublisher._sign = lambda *a, **k: os._exit(9)
if mode == "publication_lost":  # a writer that committed a state without publishing it
    StatusListPublisher.record_changes = lambda *a, **k: ()
with runtime.unit_of_work() as s:
    revoke_credential(s, operator(), credential_id, reason="phone_lost",
                      publisher=runtime.status, keyring=runtime.keyring, now=runtime.clock())
os._exit(9)  # committed; the process dies before doing anything else
"""

MASS_REVOKE_DIES_AFTER_FIRST_BATCH = r"""
import os
from issuer.api_tokens import operator
from issuer.lifecycle.mass_actions import MassScope, plan_mass_action, run_mass_action
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import get_settings

runtime = open_issuer_runtime(get_settings())
with runtime.unit_of_work() as s:
    plan = plan_mass_action(s, operator(), MassScope.parse(department_code="D100"),
                            action="revoke", reason="other")
run_mass_action(plan, unit_of_work=runtime.unit_of_work, publisher=runtime.status,
                keyring=lambda: runtime.keyring, clock=runtime.clock, batch_size=2,
                progress=lambda n: os._exit(9))
"""


def _env(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[dict, int]:
    with bound_socket() as probe:
        port = probe.getsockname()[1]
    env = dict(
        server_env, MOBILEID_ISSUER_BASE_URL=f"http://127.0.0.1:{port}", MOBILEID_PORT=str(port)
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env, port


def _run(script: str, env: dict[str, str], *args: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=120,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


@pytest.mark.parametrize("mode", ["after_commit", "during_publication", "publication_lost"])
def test_process_killed_around_commit_then_restart(
    server_env, tmp_path: Path, monkeypatch, caplog, mode: str
) -> None:
    env, port = _env(server_env, monkeypatch)
    with run_issuer(env, port) as server:
        office = Office(server, tmp_path)
        a, b = office.issue("E1001"), office.issue("E1002")
        office.assert_published(a.uri, {})
    assert _run(REVOKE_THEN_DIE, env, mode, a.credential_id) == 9
    committed = mode != "during_publication"
    caplog.set_level(logging.WARNING, logger="mobileid")
    with run_issuer(env, port) as server:
        office = Office(server, tmp_path)
        assert office.state_of(a) == ("revoked" if committed else "active")
        assert office.state_of(b) == "active"
        office.assert_published(a.uri, {a.idx: INVALID} if committed else {})
    repaired = [r for r in caplog.records if "disagreed with the database" in r.getMessage()]
    assert bool(repaired) is (mode == "publication_lost")


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mobileid", "serve", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(
                    f"http://127.0.0.1:{port}/.well-known/openid-credential-issuer", timeout=1
                ).status_code
                == 200
            ):
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("mobileid serve did not start")


@pytest.mark.slow
def test_sigkill_of_the_server_and_an_interrupted_mass_revocation(
    server_env, tmp_path: Path, monkeypatch
) -> None:
    from mobileid.runtime import open_issuer_runtime
    from mobileid.settings import get_settings

    env, port = _env(server_env, monkeypatch)
    url = f"http://127.0.0.1:{port}"
    runtime = open_issuer_runtime(get_settings())
    proc = _serve(env, port)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            server = SimpleNamespace(
                url=url,
                data_dir=Path(env["MOBILEID_DATA_DIR"]),
                env=env,
                clock=Clock(),
                client=client,
                runtime=runtime,
            )
            office = Office(server, tmp_path)
            issued = [office.issue(n) for n in ("E1001", "E1002", "E9000", "E9001", "E2001")]
            assert office.act("revoke", issued[0], "phone_lost").status_code == 200
            proc.send_signal(signal.SIGKILL)  # right after the acknowledgement
            proc.wait(timeout=30)
            proc = _serve(env, port)
            uri = issued[0].uri
            office.assert_published(uri, {issued[0].idx: INVALID})

            # a mass revocation of D100 dies after its first batch (2 credentials) ...
            assert _run(MASS_REVOKE_DIES_AFTER_FIRST_BATCH, env) == 9
            states = [office.state_of(i) for i in issued]
            assert states.count("revoked") == 3 and states[4] == "active"
            office.assert_published(
                uri,
                {i.idx: INVALID for i, st in zip(issued, states, strict=True) if st == "revoked"},
            )
            # ... and the same command run again finishes the job
            dry = CliRunner().invoke(
                cli,
                ["issuer", "mass-revoke", "--department", "D100", "--reason", "other", "--dry-run"],
                env=env,
            )
            assert dry.exit_code == 0, dry.output
            assert "1 credential(s) of department:D100" in dry.output
            done = CliRunner().invoke(
                cli,
                [
                    "issuer",
                    "mass-revoke",
                    "--department",
                    "D100",
                    "--reason",
                    "other",
                    "--batch-size",
                    "1",
                ],
                env=env,
            )
            assert done.exit_code == 0, done.output
            assert "1 changed in 1 batch(es)" in done.output
            assert [office.state_of(i) for i in issued] == ["revoked"] * 4 + ["active"]
            office.assert_published(uri, {i.idx: INVALID for i in issued[:4]})
    finally:
        proc.kill()
        proc.wait(timeout=30)
        runtime.close()
