"""Login benchmark: complete OpenID Connect logins per second over HTTP against one login worker,
beside the in-process `vp_token` verification rate, in the same run.

    python -m bench.login [--seconds S] [--connections N] [--rounds R]

One login is what a business system, a browser and a wallet cause together: `GET /authorize`
(OpenID4VP session created, login page), `GET request_uri` (signed Request Object), `POST
/oid4vp/response` (`direct_post.jwt`, HAIP's default: encrypted to the session's key, then
verified through the shared pipeline), `GET /login/continue` (authorization code) and `POST
/token` (PKCE, RS256 ID token): five keep-alive HTTP requests.
The worker (uvicorn, its own process, SQLite) has the issuer's keys and status list preloaded,
as after its first login; the load generator reads the Request Object without verifying it (a
wallet would) and signs a fresh KB-JWT per login. `verify_per_s` is `verify_vp_token` in process
on the same kind of presentations. Figures are medians over rounds, beside the worker's own CPU
time per login (from /proc): on a shared machine the rate moves with the neighbours, the CPU
time much less. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import json
import re
import secrets
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from bench.gate import ISSUER, STATUS_URI, Fixture
from bench.loopback import Connection, cpu_seconds, free_port, start_worker
from vc.base64url import b64url_encode
from vc.dcql import parse_dcql_query
from vc.jws import decode_unverified
from vc.keys import Ed25519PrivateKey
from vc.openid4vp import encrypt_response
from vc.sd_jwt import present

REDIRECT_URI = "https://approval.example.go.kr/callback"
CLAIMS = ["name", "department", "position"]
ASKED = [("employee_number",), ("name",), ("department",), ("position",)]


# --- the login worker, in its own process ---------------------------------------------------


def _settings(directory: Path, port: int) -> Any:
    from mobileid.settings import LoginSettings

    return LoginSettings(
        base_url=f"http://127.0.0.1:{port}",
        data_dir=directory,
        trusted_issuers=[ISSUER],
        client_id_prefix="x509_hash",
        purge_every_s=3600,
    )


def serve_login(data_dir: str, port: int, lifetime_s: float) -> None:
    """Child process: one uvicorn worker with the real login app, issuer data preloaded."""
    import logging

    import uvicorn

    from mobileid.login_app import create_login_app, open_login_service

    logging.disable(logging.WARNING)
    directory = Path(data_dir)
    issuer = json.loads((directory / "issuer.json").read_text())
    service = open_login_service(_settings(directory, port))
    verifier = service.runtime.vp.verifier
    now = time.time()
    verifier.trust.load_document(ISSUER, issuer["metadata"], fetched_at=now)
    verifier.status.load_token(
        ISSUER, STATUS_URI, issuer["status_token"], etag=None, fetched_at=now, now=now
    )
    config = uvicorn.Config(
        create_login_app(service),
        host="127.0.0.1",
        port=port,
        log_level="error",
        access_log=False,
    )
    server = uvicorn.Server(config)
    threading.Timer(lifetime_s, lambda: setattr(server, "should_exit", True)).start()
    server.run()


def start_login_process(fixture: Fixture, lifetime_s: float) -> tuple[Any, int, Path, Any]:
    """Prepare the data directory (certificate, client), start the worker; wait for its port."""
    from mobileid.db import connection_transaction, create_db_engine
    from verifier.login.clients import register_client
    from verifier.migrate import upgrade_verifier_database
    from verifier.x509 import create_local_pki

    directory = Path(tempfile.mkdtemp(prefix="bench-login-"))
    create_local_pki(directory / "cert", "login.example.go.kr")
    (directory / "issuer.json").write_text(
        json.dumps({"metadata": fixture.metadata, "status_token": fixture.status_token})
    )
    port = free_port()
    settings = _settings(directory, port)
    engine = create_db_engine(settings.db_url)
    upgrade_verifier_database(engine, "login")
    with connection_transaction(engine) as db:
        new = register_client(
            db,
            name="전자결재 (bench)",
            redirect_uris=[REDIRECT_URI],
            allowed_claims=CLAIMS,
            now=time.time(),
        )
    engine.dispose()
    return start_worker("bench.login", directory, port, lifetime_s), port, directory, new


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def one_login(
    conn: Connection, client: Any, credential: str, holder: Ed25519PrivateKey
) -> float:
    """The five requests of one login; returns its latency in ms. Raises on any wrong answer."""
    start = time.perf_counter()
    verifier = b64url_encode(secrets.token_bytes(32))
    challenge = b64url_encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client.client_id,
            "scope": "openid",
            "redirect_uri": REDIRECT_URI,
            "state": b64url_encode(secrets.token_bytes(12)),
            "nonce": b64url_encode(secrets.token_bytes(12)),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    status, headers, page = await conn.request("GET", f"/authorize?{query}")
    if status != 200:
        raise RuntimeError(f"authorize answered {status}")
    cookie = headers["set-cookie"].split(";", 1)[0]
    found = re.search(rb"data-link='([^']+)'", page)
    assert found is not None
    link = parse_qs(urlsplit(html.unescape(found.group(1).decode())).query)
    status, _, token = await conn.request("GET", _path(link["request_uri"][0]))
    if status != 200:
        raise RuntimeError(f"request object answered {status}")
    params = decode_unverified(token.decode())[1]
    presentation = present(
        credential,
        select=ASKED,
        holder_key=holder,
        audience=params["client_id"],
        nonce=params["nonce"],
        iat=int(time.time()),
    )
    answer_fields = {"vp_token": {"employee_id": [presentation]}, "state": params["state"]}
    if params["response_mode"] == "direct_post.jwt":  # the default (HAIP): encrypted
        (key,) = params["client_metadata"]["jwks"]["keys"]
        form = urlencode({"response": encrypt_response(answer_fields, key, "A128GCM")}).encode()
    else:
        answer_fields["vp_token"] = json.dumps(answer_fields["vp_token"])
        form = urlencode(answer_fields).encode()
    status, _, answer = await conn.request(
        "POST",
        "/oid4vp/response",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 200:
        raise RuntimeError(f"direct_post answered {status}: {answer[:200]!r}")
    session_id = urlsplit(link["request_uri"][0]).path.rsplit("/", 1)[1]
    status, headers, _ = await conn.request(
        "GET", f"/login/continue/{session_id}", headers={"Cookie": cookie}
    )
    location = headers.get("location", "")
    code = parse_qs(urlsplit(location).query).get("code")
    if status != 303 or not code:
        raise RuntimeError(f"continue answered {status} {location[:200]}")
    basic = base64.b64encode(
        f"{quote(client.client.client_id)}:{quote(client.secret)}".encode()
    ).decode()
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code[0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
    ).encode()
    status, _, body = await conn.request(
        "POST",
        "/token",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}",
        },
    )
    if status != 200 or b'"id_token"' not in body:
        raise RuntimeError(f"token answered {status}: {body[:200]!r}")
    return (time.perf_counter() - start) * 1000


async def logins(
    port: int, fixture: Fixture, client: Any, count: int, connections: int
) -> tuple[float, list[float]]:
    conns = [await Connection.open(port) for _ in range(connections)]
    latencies: list[float] = []
    todo = iter(range(count))

    async def worker(conn: Connection) -> None:
        for i in todo:
            k = i % len(fixture.holders)
            latencies.append(
                await one_login(conn, client, fixture.credentials[k], fixture.holders[k])
            )

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    return count / elapsed, latencies


# --- in process: vp_token verification -------------------------------------------------------


def verify_rate(fixture: Fixture, n: int) -> float:
    from verifier.oid4vp.requests import employee_dcql
    from verifier.oid4vp.verify import LoginVerifier, login_policy, verify_vp_token
    from verifier.status import StatusCache
    from verifier.trust import TrustedIssuer, TrustStore

    policy = login_policy()
    trust = TrustStore([TrustedIssuer(ISSUER)], client=None, clock=time.time)
    trust.load_document(ISSUER, fixture.metadata, fetched_at=time.time())
    status = StatusCache(trust, client=None, algorithms=policy.algorithms)
    status.load_token(
        ISSUER,
        STATUS_URI,
        fixture.status_token,
        etag=None,
        fetched_at=time.time(),
        now=time.time(),
    )
    verifier = LoginVerifier(policy, trust=trust, status=status)
    audience = "x509_hash:bench"
    pipeline = verifier.pipeline(audience)
    query = parse_dcql_query(employee_dcql(verifier.vct_values, ["employee_number", *CLAIMS]))
    nonce = b64url_encode(secrets.token_bytes(16))
    tokens = [
        {
            "employee_id": [
                present(
                    fixture.credentials[i % len(fixture.holders)],
                    select=ASKED,
                    holder_key=fixture.holders[i % len(fixture.holders)],
                    audience=audience,
                    nonce=nonce,
                    iat=int(time.time()),
                )
            ]
        }
        for i in range(n)
    ]
    now = time.time()
    start = time.perf_counter()
    for token in tokens:
        verify_vp_token(token, query, pipeline=pipeline, nonce=nonce, now=now)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="rough length of one round")
    parser.add_argument("--connections", type=int, default=8, help="concurrent logins")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (medians are reported)")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_login(args.serve[0], int(args.serve[1]), float(args.serve[2]))
        return

    fixture = Fixture()
    process, port, directory, client = start_login_process(fixture, lifetime_s=600)
    verify_rates, login_rates, latencies, cpu_spent = [], [], [], []
    try:
        asyncio.run(logins(port, fixture, client, 100, args.connections))  # warm up
        count = max(200, int(300 * args.seconds))
        for _ in range(args.rounds):
            verify_rates.append(verify_rate(fixture, max(500, int(2000 * args.seconds))))
            cpu_before = cpu_seconds(process.pid)
            rate, lat = asyncio.run(logins(port, fixture, client, count, args.connections))
            cpu_after = cpu_seconds(process.pid)
            if cpu_before is not None and cpu_after is not None:
                cpu_spent.append(cpu_after - cpu_before)
            login_rates.append(rate)
            latencies.extend(lat)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
    verify_per_s = statistics.median(verify_rates)
    logins_per_s = statistics.median(login_rates)
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    cpu_ms = sum(cpu_spent) * 1000 / (count * len(cpu_spent)) if cpu_spent else None
    print(
        f"in-process vp_token verification   : {verify_per_s:>10,.0f} /s   "
        "(pipeline: issuer + KB signatures, disclosures, status, DCQL check)"
    )
    print(
        f"HTTP complete logins, 1 worker     : {logins_per_s:>10,.0f} /s   "
        f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  ({args.connections} concurrent; 5 requests each; "
        "SQLite; target >= 200 /s)"
    )
    if cpu_ms is not None:
        print(f"  worker CPU per login             : {cpu_ms:>10.2f} ms")
    print(f"  rounds (logins/s)                : {', '.join(f'{r:,.0f}' for r in login_rates)}")
    print(
        json.dumps(
            {
                "logins_per_s": round(logins_per_s, 1),
                "verify_per_s": round(verify_per_s, 1),
                "p50_ms": round(p50, 2),
                "p99_ms": round(p99, 2),
                "worker_cpu_ms_per_login": None if cpu_ms is None else round(cpu_ms, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
