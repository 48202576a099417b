"""A sticky reverse proxy in front of several nodes, as a load balancer does for long-polling
clients: a new Engine.IO session goes to the next node in turn, and every later request of
that session (its polls, its POSTs, its WebSocket upgrade) to the node that opened it, found
by the `sid` query parameter. docs/scaling.md shows the same rule for nginx."""

from __future__ import annotations

import asyncio
import itertools
import json

import aiohttp
from aiohttp import web

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"}


class StickyProxy:
    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.sessions: dict[str, str] = {}  # Engine.IO sid → upstream that opened it
        self._turn = itertools.cycle(upstreams)
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.forward)
        self._client: aiohttp.ClientSession | None = None
        self.app.on_startup.append(self._open)
        self.app.on_cleanup.append(self._close)

    async def _open(self, app) -> None:
        self._client = aiohttp.ClientSession(auto_decompress=False)

    async def _close(self, app) -> None:
        await self._client.close()

    def upstream_for(self, request: web.Request) -> str:
        sid = request.query.get("sid")
        if sid is not None:
            return self.sessions.get(sid, self.upstreams[0])
        return next(self._turn)

    async def forward(self, request: web.Request) -> web.StreamResponse:
        upstream = self.upstream_for(request)
        target = upstream + request.rel_url.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, target, headers)
        body = await request.read()
        async with self._client.request(request.method, target, headers=headers, data=body or None) as answer:
            payload = await answer.read()
            if "sid" not in request.query and answer.status == 200 and payload.startswith(b"0{"):
                self.sessions[json.loads(payload[1:].split(b"\x1e")[0])["sid"]] = upstream  # the open packet
            out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=answer.status, body=payload, headers=out)

    async def _websocket(self, request: web.Request, target: str, headers: dict) -> web.WebSocketResponse:
        async with self._client.ws_connect(target.replace("http", "ws", 1), headers=headers) as upstream:
            downstream = web.WebSocketResponse()
            await downstream.prepare(request)

            async def pump(source, sink) -> None:
                async for message in source:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await sink.send_str(message.data)
                    elif message.type == aiohttp.WSMsgType.BINARY:
                        await sink.send_bytes(message.data)
                    else:
                        break
                await sink.close()

            await asyncio.gather(pump(downstream, upstream), pump(upstream, downstream), return_exceptions=True)
            return downstream
