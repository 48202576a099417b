"""Discovery: the OpenAPI and AsyncAPI documents and the interactive docs page (Swagger UI,
its files installed with the `swagger-ui-bundle-v2` package, served by the app: no CDN)."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

from .keys import DOCUMENTS

OPENAPI_PATH = "/api/openapi.json"
ASYNCAPI_PATH = "/api/asyncapi.json"
DOCS_PATH = "/api/docs"
ASSETS_PATH = DOCS_PATH + "/"
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")


def swagger_ui_files() -> dict[str, Path]:
    """The files the page uses (not the package's sample index.html and initializer)."""
    return {name: Path(swagger_ui_path) / name for name in SWAGGER_UI_FILES}

# Relative links: right under any prefix the app is mounted at.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TaskTrek API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});
</script>
</body>
</html>
"""


def mount_prefix(request: web.Request, path: str) -> str:
    """The prefix the app is mounted under ("" at the root), from the route that matched."""
    return request.match_info.route.resource.canonical.removesuffix(path)


def _json(document: dict) -> web.Response:
    return web.Response(text=json.dumps(document, ensure_ascii=False), content_type="application/json")


async def openapi_json(request: web.Request) -> web.Response:
    prefix = mount_prefix(request, OPENAPI_PATH)
    return _json({**request.app[DOCUMENTS].openapi, "servers": [{"url": prefix or "/"}]})


async def asyncapi_json(request: web.Request) -> web.Response:
    prefix = mount_prefix(request, ASYNCAPI_PATH)
    return _json(request.app[DOCUMENTS].asyncapi_at(request.host, prefix, secure=request.secure))


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")
