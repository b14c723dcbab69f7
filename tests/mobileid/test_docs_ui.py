"""`mobileid.docs_ui`: the OpenAPI page refers only to files the app serves itself, serves
exactly those (not the package's petstore page or source maps), and needs the OpenAPI URL."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from server_kit import serve_app

from mobileid.docs_ui import ASSETS, install_docs


def _app() -> FastAPI:
    app = FastAPI(title="문서 <docs>", docs_url=None, redoc_url=None)
    install_docs(app)
    return app


def test_the_page_loads_only_the_apps_own_files() -> None:
    with serve_app(_app()) as served, httpx.Client(base_url=served.url) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "<title>문서 &lt;docs&gt; - Swagger UI</title>" in page.text
        assert "<script>" not in page.text  # no inline script: works under a strict CSP
        referenced = re.findall(r"(?:src|href)='([^']+)'", page.text)
        assert referenced and all(ref.startswith("/docs/assets/") for ref in referenced)
        for ref in referenced:
            asset = client.get(ref)
            assert asset.status_code == 200 and asset.content, ref
        assert set(referenced) == {f"/docs/assets/{name}" for name in ASSETS}
        assert "data-openapi-url='/openapi.json'" in page.text
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs/oauth2-redirect").status_code == 200


@pytest.mark.parametrize(
    "name", ["index.html", "swagger-ui-bundle.js.map", "swagger-initializer.js", "..%2Fsecret"]
)
def test_other_files_are_not_served(name: str) -> None:
    with serve_app(_app()) as served:
        assert httpx.get(f"{served.url}/docs/assets/{name}").status_code == 404


def test_an_app_without_an_openapi_document_cannot_have_the_page() -> None:
    with pytest.raises(ValueError, match="openapi_url"):
        install_docs(FastAPI(openapi_url=None))


def test_the_docs_page_carries_the_consoles_security_headers() -> None:
    with serve_app(_app()) as served:
        page = httpx.get(f"{served.url}/docs")
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and page.headers["x-frame-options"] == "DENY"
