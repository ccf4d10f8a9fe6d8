"""The API docs (Swagger UI) served from this process: no CDN, under a strict CSP."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
# Swagger UI 5 (OpenAPI 3.1), as bundled by the fastapi-offline package.
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Swagger UI at /api/docs with its bundled assets at /api/docs/assets."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} — docs",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
    )
    html = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.finditer(html)
    )
    csp = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )

    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    app.add_api_route(DOCS_PATH, docs, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
