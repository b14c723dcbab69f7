"""Fixtures of the real-browser tests (`browser_kit`): one Chromium per test process, a fresh
page per test that fails the test if it made a request leaving 127.0.0.1. Every test here is
marked `browser`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_kit import TIMEOUT_MS, launch_chromium, recorded_page
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Per module, not per session: Playwright's sync API keeps an event loop running in the
    test thread until it stops, and a later test of the same worker calling `asyncio.run` would
    fail (a module's browser tests run together; the next module's find no loop)."""
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = launch_chromium(playwright)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with recorded_page(browser) as opened:
        yield opened
