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
        self.opened: list[str] = []  # the node each new session (request without sid) went to
        self._turns = itertools.count()
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.forward)
        self._client: aiohttp.ClientSession | None = None
        self.app.on_startup.append(self._open)
        self.app.on_cleanup.append(self._close)

    async def _open(self, app) -> None:
        self._client = aiohttp.ClientSession(auto_decompress=False)

    async def _close(self, app) -> None:
        await self._client.close()

    def candidates(self, request: web.Request) -> list[str]:
        """The node of the request's session; without one, every node, starting with the
        next in turn (a node that does not answer is skipped, as nginx's max_fails does)."""
        sid = request.query.get("sid")
        if sid is not None:
            node = sid.partition(".")[0]
            self.routed.append((sid, node))
            if node in self.upstreams:
                return [self.upstreams[node]]
        order = list(self.upstreams.values())
        start = next(self._turns) % len(order)
        return order[start:] + order[:start]

    async def forward(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        for upstream in self.candidates(request):
            target = upstream + request.rel_url.path_qs
            new_session = "sid" not in request.query and request.path.startswith("/socket.io/")
            try:
                if request.headers.get("Upgrade", "").lower() == "websocket":
                    return await self._websocket(request, target, headers, new_session)
                async with self._client.request(request.method, target, headers=headers, data=body or None) as answer:
                    payload = await answer.read()
                    if new_session:
                        self._opened(upstream)
                    out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
                    return web.Response(status=answer.status, body=payload, headers=out)
            except aiohttp.ClientConnectionError:
                continue  # that node is down
        return web.Response(status=502, text="no node answers")

    def _opened(self, upstream: str) -> None:
        self.opened.append(next(name for name, url in self.upstreams.items() if url == upstream))

    async def _websocket(self, request: web.Request, target: str, headers: dict,
                         new_session: bool) -> web.WebSocketResponse:
        async with self._client.ws_connect(target.replace("http", "ws", 1), headers=headers) as upstream:
            if new_session:
                self._opened(target.split("/socket.io/")[0])
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
