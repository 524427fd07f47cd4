"""`/docs`: Swagger UI on `/openapi.json`, served from this process.

Swagger UI's script and stylesheet come from the `swagger-ui-dist` npm
package, copied into the console's bundle by its build
(`gateway/web/scripts/swagger-ui.mjs` → `dist/swagger-ui/`); the page and its
start-up script are ours. Nothing is loaded from another host, so the API
documentation works on an air-gapped cluster, and a strict
Content-Security-Policy holds it to 'self' (no inline script; Swagger UI
sets inline styles and draws a few icons as `data:` images).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from gateway.console import BUNDLE_DIR, NO_CACHE, file_response, load_file

log = logging.getLogger("flowpilot.gateway.docs")

SWAGGER_DIR = "swagger-ui"
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE")
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
DOCS_HEADERS = {
    "Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": NO_CACHE,
}
# Started by a file of ours, not inline, so that script-src stays 'self'.
# No validator badge: it would load an image from validator.swagger.io.
INIT_SCRIPT = b"""\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true,
  });
});
"""


def _page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" href="/favicon.svg">
</head>
<body>
<main id="swagger-ui"></main>
<noscript>Swagger UI needs JavaScript; the API description itself is at
<a href="/openapi.json">/openapi.json</a>.</noscript>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""


def docs_routes(title: str, bundle_dir: Path = BUNDLE_DIR) -> list[Route]:
    swagger = bundle_dir / SWAGGER_DIR
    page = _page(title).encode()

    async def docs(request: Request) -> Response:
        if not (swagger / "swagger-ui-bundle.js").is_file():
            return HTMLResponse(
                "<!doctype html><title>API documentation</title>"
                "<h1>Swagger UI is not built</h1><p>It comes with the web console's build: run "
                "<code>bash .ci/install</code> (or <code>python -m gateway.web_build</code>). "
                'The API description is at <a href="/openapi.json">/openapi.json</a>.</p>',
                status_code=503,
                headers=DOCS_HEADERS,
            )
        return HTMLResponse(page, headers=DOCS_HEADERS)

    async def init(request: Request) -> Response:
        return Response(INIT_SCRIPT, media_type="text/javascript", headers=DOCS_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        path = swagger / name
        if name not in SWAGGER_FILES or not path.is_file():
            raise HTTPException(404)  # the gateway's JSON 404
        response = file_response(request, load_file(path), NO_CACHE)
        response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    if not (swagger / "swagger-ui-bundle.js").is_file():
        log.warning("Swagger UI is not built (%s); /docs explains how to build it", swagger)
    methods = ["GET", "HEAD"]
    return [
        Route("/docs", docs, methods=methods),
        Route("/docs/init.js", init, methods=methods),
        Route("/docs/{name}", asset, methods=methods),
    ]
