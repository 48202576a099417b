"""The board served by the real app over HTTP, at the root or mounted under a prefix."""

from __future__ import annotations

import pytest
from aiohttp import web

from tasktrek import create_app


@pytest.fixture
def serve(aiohttp_server, settings):
    """serve(prefix="") → the board's URL (ending in "/"), the app served at the root or
    under `prefix` ("/tasks/") in a host application."""

    async def start(prefix: str = "") -> str:
        app = create_app(settings)
        if prefix:
            host = web.Application()
            host.add_subapp(prefix, app)
            app = host
        server = await aiohttp_server(app, host="127.0.0.1")
        return str(server.make_url(prefix or "/"))

    return start
