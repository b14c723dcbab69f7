"""How the phone talks to the outside: httpx with an injectable transport, https only.

Plain http is allowed for loopback hosts only (the test issuer and verifiers on 127.0.0.1).
Redirects are never followed automatically, bodies are size-capped, and transport failures
become `WalletError`s with a bilingual message instead of stack traces.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from wallet_sim.errors import WalletError

__all__ = ["LOOPBACK_HOSTS", "MAX_BODY_BYTES", "check_url", "json_body", "new_client"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_BODY_BYTES = 1024 * 1024
TIMEOUT_SECONDS = 10.0


def new_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The wallet's HTTP client; pass `transport` (e.g. `httpx.MockTransport`) in tests."""
    return httpx.Client(
        transport=transport,
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        headers={"User-Agent": "mobileid-wallet-sim/0.1"},
    )


def check_url(url: Any, what: str, error: type[WalletError] = WalletError) -> str:
    """Refuse anything but https (or http to a loopback host)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    ok = (
        parts is not None
        and bool(parts.hostname)
        and (
            parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
        )
    )
    if not ok:
        raise error(
            f"{what} 주소가 안전하지 않습니다(https 필요).",
            f"The {what} URL is not acceptable (https required)",
            detail=str(url)[:200],
        )
    assert isinstance(url, str)
    return url


def json_body(response: httpx.Response, what: str, error: type[WalletError]) -> Any:
    """Parse a JSON body (size-capped); non-JSON is a protocol error of the other party."""
    if len(response.content) > MAX_BODY_BYTES:
        raise error(f"{what} 응답이 너무 큽니다.", f"The {what} response is too large")
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise error(
            f"{what} 응답을 해석할 수 없습니다.", f"The {what} response is not JSON"
        ) from exc
