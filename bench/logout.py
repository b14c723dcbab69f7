"""Revocation to back-channel logout: how long after a revocation commits does each business
system with a session of that credential receive its logout token?

    python -m bench.logout [--revocations 20] [--clients 3]

An issuer (the real app, its own process) and a login service (the real app with its status
feed follower, its own process) on 127.0.0.1, each on its own SQLite database, and a listening
relying system in this process (`--clients` registrations, each with its
`backchannel_logout_uri` here). This process issues credentials straight into the issuer's
database (as `bench.propagation` does) and opens one login session per client and credential
straight in the login database (`verifier.login.sessions.open_session`, what the token endpoint
does at the end of a login: the logins themselves are `bench.login`'s subject). Then it revokes
one credential at a time at random moments, as `mobileid issuer revoke` does, and times, from
each revocation's commit:

- the baseline: the login service holds the new status list (its `/health` polled every 20 ms),
  the status feed's own propagation, as `bench.propagation` measures it for gates;
- the figure: each client's logout token arriving (target p99 <= 3 s).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from bench.loopback import (
    Connection,
    free_port,
    in_private_dir,
    pct,
    start_worker,
    stop_workers,
)
from bench.propagation import _issuer_env, _issuer_runtime, issue_population, revoke
from vc.jws import decode_unverified

GIVE_UP_S = 60.0
POLL_S = 0.02


def serve_login(directory: Path, port: int) -> None:
    """The login service: the real app, its feed follower and purge."""
    import uvicorn
    from pydantic import SecretStr

    from mobileid.login_app import create_login_app, open_login_service
    from mobileid.settings import LoginSettings

    role = json.loads((directory / "role.json").read_text())
    settings = LoginSettings(
        base_url=f"http://127.0.0.1:{port}",
        database_url=role["database_url"],
        data_dir=directory / "login",
        trusted_issuers=[role["issuer"]],
        allow_insecure_loopback=True,
        client_id_prefix="redirect_uri",
        secret_key=SecretStr(secrets.token_urlsafe(32)),
    )
    app = create_login_app(open_login_service(settings))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Listener:
    """The relying systems' back-channel endpoint: records when each `sid`'s token arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.open: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.open[writer] = task
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                token = parse_qs(body.decode("ascii"))["logout_token"][0]
                _, claims, _, _ = decode_unverified(token)  # the timing, not the checks
                self.arrived.setdefault(claims["sid"], time.monotonic())
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open.pop(writer, None)
            writer.close()

    async def stop(self) -> None:
        handlers = list(self.open.values())
        for writer in list(self.open):  # the login service's idle keep-alive connections
            writer.close()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def open_sessions(
    database_url: str, listener_url: str, clients: int, population: list[Any]
) -> dict[str, list[str]]:
    """Register the clients and open a session of each for every credential: {credential id:
    [sid, ...]}."""
    from mobileid.db import create_db_engine
    from verifier.login.clients import register_client
    from verifier.login.sessions import open_session

    engine = create_db_engine(database_url)
    sids: dict[str, list[str]] = {}
    try:
        with engine.begin() as db:
            now = time.time()
            ids = [
                register_client(
                    db,
                    name=f"business system {n}",
                    redirect_uris=[f"http://127.0.0.1:9/cb{n}"],
                    allowed_claims=["name"],
                    backchannel_logout_uri=listener_url,
                    now=now,
                ).client.client_id
                for n in range(clients)
            ]
            for credential_id, credential, _ in population:
                _, claims, _, _ = decode_unverified(credential.split("~")[0])
                ref = claims["status"]["status_list"]
                sids[credential_id] = [
                    open_session(
                        db,
                        client_id=client_id,
                        sub=secrets.token_hex(8),
                        employee_number=credential_id[:12],
                        issuer=claims["iss"],
                        status_ref=(ref["uri"], ref["idx"]),
                        now=now,
                    )
                    for client_id in ids
                ]
    finally:
        engine.dispose()
    return sids


async def _health(port: int) -> dict[str, Any]:
    conn = await Connection.open(port)
    try:
        _, _, body = await conn.request("GET", "/health")
    finally:
        conn.close()
    return dict(json.loads(body))


async def _held_iat(port: int) -> int:
    ages = (await _health(port))["status_list_ages"]
    return max((a["iat"] for a in ages), default=0)


async def _feed_connected(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        feeds = (await _health(port))["status_feed"]
        if feeds and all(f["state"] == "connected" for f in feeds):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the login service did not connect to the issuer's feed")


async def one_revocation(
    runtime: Any, port: int, listener: Listener, credential_id: str, sids: list[str]
) -> tuple[float, list[float]]:
    """Revoke; (seconds until the login service held the new list, seconds until each token)."""
    before = await _held_iat(port)
    since = revoke(runtime, credential_id)
    held = None
    while time.monotonic() - since < GIVE_UP_S:
        if held is None and await _held_iat(port) > before:
            held = time.monotonic() - since
        if held is not None and all(s in listener.arrived for s in sids):
            return held, [listener.arrived[s] - since for s in sids]
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"no logout within {GIVE_UP_S} s (list held after {held})")


async def drive(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    issuer_port, login_port = free_port(), free_port()
    env = _issuer_env(directory, issuer_port, 300)
    listener = Listener()
    await listener.start()
    with _issuer_runtime(env) as runtime:
        population = issue_population(runtime, args.revocations + 1)
        (directory / "issuer-serve").mkdir()
        (directory / "issuer-serve" / "env.json").write_text(json.dumps(env))
        processes = [start_worker("bench.propagation", directory / "issuer-serve", issuer_port, 0)]
        login_dir = directory / "login-serve"
        login_dir.mkdir(mode=0o700)
        database_url = f"sqlite:///{login_dir / 'login.sqlite3'}"
        role = {"issuer": env["MOBILEID_ISSUER_BASE_URL"], "database_url": database_url}
        (login_dir / "role.json").write_text(json.dumps(role))
        try:
            processes.append(start_worker("bench.logout", login_dir, login_port, 0))
            sids = open_sessions(
                database_url,
                f"http://127.0.0.1:{listener.port}/backchannel",
                args.clients,
                population,
            )
            await _feed_connected(login_port)
            warm_id, _, _ = population.pop()  # the first revocation also fetches the list
            await one_revocation(runtime, login_port, listener, warm_id, sids[warm_id])
            held: list[float] = []
            logouts: list[float] = []
            for credential_id, _, _ in population:
                # a second apart at least: each new list has a newer `iat` (whole seconds)
                await asyncio.sleep(rng.uniform(1.0, 2.0))
                list_held, delivered = await one_revocation(
                    runtime, login_port, listener, credential_id, sids[credential_id]
                )
                held.append(list_held)
                logouts += delivered
        finally:
            await listener.stop()
            stop_workers(processes)
    print(
        f"status list held by the login service (baseline, {len(held)} revocations): "
        f"p50 {statistics.median(held):.2f} s  p99 {pct(held, 99):.2f} s"
    )
    print(
        f"logout token received ({args.clients} clients, {len(logouts)} tokens): "
        f"p50 {statistics.median(logouts):.2f} s  p99 {pct(logouts, 99):.2f} s  "
        f"max {max(logouts):.2f} s (target p99 <= 3 s)"
    )
    return {
        "logout_p50_s": round(statistics.median(logouts), 3),
        "logout_p99_s": round(pct(logouts, 99), 3),
        "logout_max_s": round(max(logouts), 3),
        "list_held_p50_s": round(statistics.median(held), 3),
        "list_held_p99_s": round(pct(held, 99), 3),
        "revocations": len(held),
        "clients": args.clients,
        "tokens": len(logouts),
    }


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve_login(Path(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revocations", type=int, default=20)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    os.environ.setdefault("MOBILEID_OUTBOX_CONSOLE", "false")
    print(json.dumps(in_private_dir("bench-logout-", lambda path: drive(args, path))))


if __name__ == "__main__":
    main()
