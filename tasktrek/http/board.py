"""The web board: static HTML, CSS and JavaScript modules shipped in `tasktrek/web/`.

Only the files present in that folder when the app is built are served, looked up by name
(no path from the request ever reaches the file system; see `routes.Static`). Every answer carries a
Content-Security-Policy that lets the page run only its own scripts and talk only to its own
origin: the REST API and the Socket.IO endpoint (CSP Level 3's 'self' covers ws:/wss: to the
same host as well).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import hdrs, web

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


def file_response(path: Path) -> web.FileResponse:
    content_type = f"{CONTENT_TYPES[path.suffix]}; charset=utf-8"
    return web.FileResponse(path, headers={**SECURITY_HEADERS, hdrs.CONTENT_TYPE: content_type})


async def page(request: web.Request) -> web.FileResponse:
    """`GET /`: the board's page. It and its assets (`ASSETS_PATH`) need no token: the page
    logs in through the API. Both are entries of `tasktrek.http.routes.ROUTES`."""
    return file_response(WEB_ROOT / "index.html")
