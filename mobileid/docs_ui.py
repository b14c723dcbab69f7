"""`/docs` that works without a network: Swagger UI's files are served by the app itself.

FastAPI's default page loads Swagger UI from a CDN (and its favicon from fastapi.tiangolo.com), so
on a machine without internet `/docs` is blank. The files come from `swagger-ui-bundle-v2` (PyPI):
the unmodified `swagger-ui-dist` release, kept up to date by connexion's maintainers, with a public
`swagger_ui_path`. We chose it over `fastapi-offline`, which bundles the same files but reaches them
only through its own `FastAPI` factory, and over `swagger-ui-bundle` 1.x, which is stuck on Swagger
UI 4. The page itself is ours (FastAPI's self-hosting recipe, without its inline script): it loads
`docs-init.js`, so it works under a Content-Security-Policy without `'unsafe-inline'` script.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from console.headers import security_headers

__all__ = ["DOCS_ASSETS", "install_docs"]

DOCS_PATH = "/docs"
DOCS_ASSETS = "/docs/assets"
_SWAGGER = Path(str(swagger_ui_path))
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_SWAGGER / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_SWAGGER / "swagger-ui.css", "text/css"),
    "favicon-32x32.png": (_SWAGGER / "favicon-32x32.png", "image/png"),
    "docs-init.js": (Path(__file__).with_suffix(".js"), "text/javascript"),
}
"""Exactly the files the page needs (not the package's petstore `index.html` or source maps)."""


def install_docs(app: FastAPI) -> None:
    """Serve `GET /docs`, `GET /docs/oauth2-redirect` and `GET /docs/assets/{name}` on `app`
    (made with `docs_url=None` and an `openapi_url`): the OpenAPI page with every file local."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("install_docs needs the app's openapi_url")
    page = _page(app.title, openapi_url)
    headers = security_headers()  # the consoles' (no inline script or style, no framing)

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @app.get(f"{DOCS_PATH}/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(f"{DOCS_ASSETS}/{{name}}", include_in_schema=False)
    async def swagger_ui_asset(name: str) -> FileResponse:
        found = ASSETS.get(name)
        if found is None:
            raise HTTPException(status_code=404)
        path, media_type = found
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=3600"})


def _page(title: str, openapi_url: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)} - Swagger UI</title>"
        f"<link rel='stylesheet' href='{DOCS_ASSETS}/swagger-ui.css'>"
        f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>"
        "</head><body>"
        f"<div id='swagger-ui' data-openapi-url='{escape(openapi_url)}' "
        f"data-oauth2-redirect-url='{DOCS_PATH}/oauth2-redirect'></div>"
        f"<script src='{DOCS_ASSETS}/swagger-ui-bundle.js'></script>"
        f"<script src='{DOCS_ASSETS}/docs-init.js'></script>"
        "</body></html>"
    )
