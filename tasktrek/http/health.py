"""Liveness and readiness probes."""

from aiohttp import web

from .io import json_response
from .keys import CLUSTER, STORE


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """503 while the database does not answer. In cluster mode the answer also says whether
    Redis does; without it the node still serves the API (docs/scaling.md), so it stays 200."""
    await request.app[STORE].ping()  # StoreUnavailable → 503
    body = {"status": "ok"}
    node = request.app.get(CLUSTER)
    if node is not None:
        body["redis"] = "ok" if await node.probe() else "unavailable"
    return json_response(body)
