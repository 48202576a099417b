"""The web board: static HTML, CSS and JavaScript modules shipped in `tasktrek/web/`.

Only the files present in that folder when the app is built are served, looked up by name
(no path from the request ever reaches the file system). Every answer carries a
Content-Security-Policy that lets the page run only its own scripts and talk only to its own
origin: the REST API and the Socket.IO endpoint (CSP Level 3's 'self' covers ws:/wss: to the
same host as well).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
ASSETS_PATH = "/board/"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Small files, changed with every release: revalidate rather than run a stale module.
    "Cache-Control": "no-cache",
}
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}


def board_files(root: Path = WEB_ROOT) -> dict[str, Path]:
    """Every servable file under `root`, by its path relative to it ("vendor/x.js")."""
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


def file_response(body: bytes, suffix: str) -> web.Response:
    return web.Response(body=body, content_type=CONTENT_TYPES[suffix], charset="utf-8", headers=SECURITY_HEADERS)


def setup_board(app: web.Application) -> tuple[web.AbstractResource, web.AbstractResource]:
    """Add `GET /` (the page) and `GET /board/{name}` (its assets). Returns both resources:
    they need no token (the page logs in through the API)."""
    # Read once: a few small files, served from memory without touching the disk again.
    files = {name: (path.read_bytes(), path.suffix) for name, path in board_files().items()}

    async def page(request: web.Request) -> web.Response:
        return file_response(*files["index.html"])

    async def asset(request: web.Request) -> web.Response:
        found = files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return file_response(*found)

    index = app.router.add_get("/", page).resource
    assets = app.router.add_get(ASSETS_PATH + "{name:.+}", asset).resource
    return index, assets


def fixed_prefix(resource: web.AbstractResource) -> str:
    """The part of a resource's path before its first variable ("/x/board/" of "/x/board/{name}")."""
    return resource.canonical.partition("{")[0]
