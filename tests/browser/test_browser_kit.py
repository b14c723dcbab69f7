"""The browser kit itself: a page that reaches outside 127.0.0.1 fails its test (FastAPI's
default `/docs`, which loads Swagger UI from a CDN, is such a page), and a machine without
Chromium fails the browser tests with how to install it instead of skipping them."""

from __future__ import annotations

from pathlib import Path

import browser_kit
import pytest
from browser_kit import launch_chromium, recorded_page, requests_of
from fastapi import FastAPI
from playwright.sync_api import Browser, Playwright
from server_kit import serve_app


def test_a_request_leaving_the_machine_fails_the_test(browser: Browser) -> None:
    with (
        serve_app(FastAPI(title="cdn docs")) as served,  # FastAPI's own /docs: a CDN page
        pytest.raises(AssertionError, match=r"requests that left 127\.0\.0\.1") as failed,
        recorded_page(browser) as page,
    ):
        page.goto(f"{served.url}/docs")
    assert "cdn.jsdelivr.net" in str(failed.value)


def test_local_requests_pass(browser: Browser) -> None:
    app = FastAPI(title="local")
    with serve_app(app) as served, recorded_page(browser) as page:
        page.goto(f"{served.url}/openapi.json")
        assert requests_of(page).urls == [f"{served.url}/openapi.json"]


def test_without_chromium_the_browser_tests_fail_saying_how_to_install_it(
    playwright: Playwright, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser_kit, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception) as failed:
        launch_chromium(playwright)
    assert "apt-get install -y chromium" in str(failed.value)
