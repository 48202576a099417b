"""A sticky reverse proxy in front of several nodes, routing as docs/scaling.md's nginx
configuration does: a new Engine.IO session goes to the next node in turn, and every later
request of that session (its polls, its POSTs, its WebSocket upgrade) to the node that
opened it, named by the `sid` query parameter's prefix (`<TASKTREK_NODE_NAME>.`)."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
from aiohttp import web

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"}


class StickyProxy:
    def __init__(self, upstreams: dict[str, str]) -> None:
        self.upstreams = upstreams  # node name → its URL
        self.routed: list[tuple[str, str]] = []  # (sid, node name) of every request with a sid
        self._turn = itertools.cycle(upstreams.values())
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
        if sid is None:
            return next(self._turn)
        node = sid.partition(".")[0]
        self.routed.append((sid, node))
        return self.upstreams.get(node) or next(self._turn)

    async def forward(self, request: web.Request) -> web.StreamResponse:
        upstream = self.upstream_for(request)
        target = upstream + request.rel_url.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, target, headers)
        body = await request.read()
        async with self._client.request(request.method, target, headers=headers, data=body or None) as answer:
            payload = await answer.read()
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
