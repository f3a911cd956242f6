"""``/api/v1/docs``: the OpenAPI document for people, rendered by Swagger UI.

Swagger UI comes from npm (``swagger-ui-dist``): ``presentation/api_docs`` installs it
and copies the two files it needs into its ``dist/``, which the engine serves itself —
no CDN, so the page works on a closed network and loads nothing from third parties.
The page and the script that starts Swagger UI are here; the page's Content Security
Policy allows scripts from this server only.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Final

from aiohttp import web

logger = logging.getLogger(__name__)

DOCS_DIST: Final = Path(__file__).resolve().parents[1] / "api_docs" / "dist"
ASSETS: Final = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
}
_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
NOT_BUILT: Final = (
    "The API docs page is not built: run deploy/scripts/setup.sh (or `npm ci && npm run "
    "build` in presentation/api_docs)."
)

# Relative URLs throughout: the page works under whatever prefix a reverse proxy gives it.
_INIT_JS: Final = """\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
"""

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat engine API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"""

_FALLBACK: Final = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chat engine API</title></head>
<body>
<h1>Chat engine API</h1>
<p>{message}</p>
<p>The reference is the <a href="openapi.json">OpenAPI document</a>.</p>
</body>
</html>
"""


def warn_if_not_built(directory: Path) -> None:
    if not all((directory / name).is_file() for name in ASSETS):
        logger.warning("%s (%s)", NOT_BUILT, directory)


def docs_handlers(directory: Path) -> tuple[web.RouteDef, ...]:
    """The page and its assets, served from ``directory`` (a built ``dist``)."""

    async def page(request: web.Request) -> web.Response:
        if not all((directory / name).is_file() for name in ASSETS):
            text = _FALLBACK.format(message=html.escape(NOT_BUILT))
            return web.Response(text=text, content_type="text/html", headers=_headers())
        return web.Response(text=_PAGE, content_type="text/html", headers=_headers())

    async def init_js(request: web.Request) -> web.Response:
        return web.Response(text=_INIT_JS, content_type="text/javascript", headers=_headers())

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        content_type = ASSETS.get(name)
        path = directory / name
        if content_type is None or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(
            path,
            headers={
                "Content-Type": f"{content_type}; charset=utf-8",
                "Cache-Control": "public, max-age=3600",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return (
        web.get("/docs", page),
        web.get("/docs/init.js", init_js),
        web.get("/docs/{name}", asset),
    )


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
