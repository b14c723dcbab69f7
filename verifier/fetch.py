"""How the verifier reads other parties' documents: httpx, https only, bounded in size and time.

Plain http is allowed only for loopback hosts and only when asked (development and tests). No
redirect is followed: an issuer's metadata and status lists live where the issuer says they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from verifier.errors import VerifierError

__all__ = [
    "LOOPBACK_HOSTS",
    "FetchError",
    "Fetched",
    "check_fetch_url",
    "fetch",
    "new_http_client",
    "origin_of",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT_SECONDS = 3.0


class FetchError(VerifierError):
    """A document could not be fetched; for logs only. Codes: `url_refused` (the URL policy),
    `fetch_failed` (network, HTTP status, an unusable answer), `document_too_large`."""


@dataclass(frozen=True, slots=True)
class Fetched:
    status_code: int
    body: bytes
    etag: str | None
    content_type: str


def new_http_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The verifier's client; tests pass `httpx.MockTransport` or nothing (real sockets)."""
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(TIMEOUT_SECONDS, connect=2.0),
        follow_redirects=False,
        headers={"User-Agent": "mobileid-verifier/0.1"},
    )


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL (lower-cased), for same-host comparisons."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def check_fetch_url(url: str, *, allow_insecure_loopback: bool) -> None:
    """Refuse anything but https, or http to a loopback host when explicitly allowed."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise FetchError("url_refused", f"unusable URL {url[:200]!r}")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and allow_insecure_loopback and parts.hostname in LOOPBACK_HOSTS:
        return
    raise FetchError("url_refused", f"refusing non-https URL {url[:200]!r}")


def fetch(
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int,
    accept: str,
    etag: str | None = None,
    allow_insecure_loopback: bool = False,
) -> Fetched:
    """GET `url` (with `If-None-Match` when `etag` is given); 200 or 304, else `FetchError`."""
    check_fetch_url(url, allow_insecure_loopback=allow_insecure_loopback)
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code not in (200, 304):
                raise FetchError("fetch_failed", f"GET {url[:200]} answered {response.status_code}")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    "document_too_large", f"GET {url[:200]}: body larger than {max_bytes} bytes"
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(
                        "document_too_large", f"GET {url[:200]}: body larger than {max_bytes} bytes"
                    )
                chunks.append(chunk)
            return Fetched(
                response.status_code,
                b"".join(chunks),
                response.headers.get("etag"),
                response.headers.get("content-type", ""),
            )
    except httpx.HTTPError as exc:
        raise FetchError("fetch_failed", f"GET {url[:200]} failed: {type(exc).__name__}") from exc
