"""Real-browser tests: Playwright driving Debian's Chromium (`/usr/bin/chromium`), headless.

Playwright never downloads a browser of its own here: it launches the system's Chromium through
`executable_path`. Every request a page makes is recorded, and a test fails if any of them was
for anywhere but 127.0.0.1/localhost (issue 19: "every page loads with no request leaving
127.0.0.1"); such requests are also aborted, so nothing leaves the machine even then.
`shot(page, name)` saves a screenshot to `tests/artifacts/screenshots/` (gitignored; CI leaves
the folder in place as its artifacts).

Sync API: it runs its own event loop in the test's thread, while the apps under test run under
uvicorn in threads of their own (`server_kit`), so the two never share a loop; each pytest-xdist
worker launches its own Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, Route

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "DESKTOP",
    "SCREENSHOTS",
    "TABLET",
    "TIMEOUT_MS",
    "RequestLog",
    "launch_chromium",
    "recorded_page",
    "requests_of",
    "shot",
    "sign_in_with_wallet",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
"""The guard display's tablet width (issue 19)."""
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
NOT_NETWORK = frozenset({"data", "blob", "about"})
"""Schemes a page may load from without any request leaving the machine."""
TIMEOUT_MS = 30_000
"""How long a page action or an `expect` waits (a wait, never a timing assertion): on a busy
2-core machine Swagger UI alone can take more than Playwright's default 5 s to render."""

MISSING = (
    f"Chromium is not installed at {CHROMIUM}: the browser tests (tests/browser/) need Debian's "
    "package. Install it with `sudo apt-get install -y chromium fonts-noto-cjk` "
    "(.ci/run does this on a fresh machine); Playwright's own browser download is not used."
)


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with nothing of its own on the network; fails the test
    (never skips) with how to install it when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(MISSING, pytrace=False)
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
    )


def is_local(url: str) -> bool:
    """Whether loading `url` stays on this machine."""
    parts = urlsplit(url)
    return parts.scheme in NOT_NETWORK or parts.hostname in LOCAL_HOSTS


@dataclass
class RequestLog:
    """Every request a page (and its frames and workers) made, in order."""

    urls: list[str] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.urls.append(request.url)

    @property
    def foreign(self) -> list[str]:
        return [url for url in self.urls if not is_local(url)]

    def assert_all_local(self) -> None:
        assert not self.foreign, f"requests that left 127.0.0.1: {self.foreign}"


def _refuse_foreign(route: Route) -> None:
    if is_local(route.request.url):
        route.continue_()
    else:
        route.abort("blockedbyclient")


@contextmanager
def recorded_page(browser: Browser, *, viewport: dict[str, int] = DESKTOP) -> Iterator[Page]:
    """A page in a fresh context (own cookies) at `viewport`, whose requests are recorded in
    `page.request_log`; foreign ones are aborted, and the block fails if there was one."""
    context = browser.new_context(viewport=viewport, locale="ko-KR", service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    log = RequestLog()
    context.on("request", log.record)
    context.route("**/*", _refuse_foreign)
    page = context.new_page()
    page.request_log = log  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
    log.assert_all_local()


def requests_of(page: Page) -> RequestLog:
    """The requests a page from `recorded_page` (the `page` fixture) has made so far."""
    log: RequestLog = page.request_log  # type: ignore[attr-defined]
    return log


def shot(page: Page, name: str, *, width: int = DESKTOP["width"]) -> Path:
    """Save a full-page screenshot of `page` at `width` (1280, or 768 for the guard display's
    tablet) to `tests/artifacts/screenshots/<name>.png`; returns its path."""
    height = DESKTOP["height"] if width >= DESKTOP["width"] else TABLET["height"]
    page.set_viewport_size({"width": width, "height": height})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class WalletHolder(Protocol):
    """A phone of the wallet simulator (`stack_kit.Phone`): its wallet and OpenID4VP side."""

    wallet: Any
    presenter: Any


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sign_in_with_wallet(page: Page, holder: WalletHolder, *, same_device: bool = False) -> None:
    """The browser shows the login service's page (QR + same-device link): the phone answers
    the OpenID4VP request the page carries (the QR's `data-link`, or the same-device link), and
    the browser goes on by itself, back to the relying party; returns once it is there."""
    qr = page.locator("#qr")
    qr.wait_for()
    login = _origin(page.url)
    if same_device:
        link = page.locator("#same-device").get_attribute("href")
    else:
        link = qr.get_attribute("data-link")
    assert link, "the login page carries no OpenID4VP request"
    if same_device:  # tapping the link leaves the page for the wallet app (no polling then)
        page.goto("about:blank")
    presenter = holder.presenter
    plan = presenter.resolve_request(link, holder.wallet)
    outcome = presenter.respond(plan, holder.wallet, follow_redirect=False)
    if same_device:  # the wallet app hands the browser its return address
        assert outcome.redirect_uri, "the login service gave the wallet no way back"
        page.goto(outcome.redirect_uri)
    # Cross-device: the page polls the session's state and moves on when the wallet answered.
    page.wait_for_url(lambda url: _origin(url) != login, wait_until="load")
