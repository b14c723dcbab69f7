"""`/docs` in a real browser with no network: Swagger UI's files come from the issuer itself
(`mobileid.docs_ui`), and the page lists the API's operations."""

from __future__ import annotations

from typing import Any

from browser_kit import requests_of, shot
from playwright.sync_api import Page, expect


def test_docs_render_the_operations_with_nothing_from_outside(live_server: Any, page: Page) -> None:
    refused: list[str] = []  # what the page's Content-Security-Policy blocked
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    response = page.goto(f"{live_server.url}/docs")
    assert (
        response is not None
        and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    )
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 10
    expect(page.locator(".opblock-summary-path", has_text="/credential").first).to_be_visible()
    shot(page, "docs-issuer")
    log = requests_of(page)
    assert f"{live_server.url}/docs/assets/swagger-ui-bundle.js" in log.urls
    assert f"{live_server.url}/openapi.json" in log.urls
    assert refused == []
