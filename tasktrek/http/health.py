"""Liveness and readiness probes."""

from aiohttp import web

from .io import json_response
from .keys import STORE


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    await request.app[STORE].ping()  # StoreUnavailable → 503
    return json_response({"status": "ok"})
