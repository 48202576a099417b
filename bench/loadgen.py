"""The load generator: a closed-loop HTTP driver and a bare Socket.IO-over-WebSocket client.

Every loop is bounded in count and in time and stops by itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

import aiohttp

from .procs import Server
from .stats import MS

REQUEST_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 30.0
ACK_TIMEOUT_S = 10.0
DRAIN_GRACE_S = REQUEST_TIMEOUT_S  # how long a closed loop may overrun its duration
CONNECT_CONCURRENCY = 100  # sockets being opened at once
WS_PATH = "/socket.io/?EIO=4&transport=websocket"

clock = time.perf_counter


def http_session(concurrency: int = 0) -> aiohttp.ClientSession:
    """A keep-alive session; `concurrency` caps its connections (0: unlimited)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


async def call(session: aiohttp.ClientSession, method: str, url: str, *, token: str | None = None,
               body: object = None, expect: int = 200) -> dict:
    """One JSON request whose status must be `expect`; returns the decoded body."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, json=body, headers=headers) as resp:
        data = await resp.json(content_type=None)
        if resp.status != expect:
            raise RuntimeError(f"{method} {url}: {resp.status} {data}")
        return data


@dataclass
class LoadResult:
    latencies_ms: list[float]
    elapsed_s: float
    errors: int
    server_cpu: float  # fraction of one core the server used

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


def request_maker(session: aiohttp.ClientSession, method: str, url: str, *, token: str, body: object = None,
                  expect: int = 200) -> Callable[[], Awaitable[int | None]]:
    """A prepared request (body encoded once) that returns the response body's size, or None
    when the status was not `expect`."""
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"

    async def send() -> int | None:
        async with session.request(method, url, data=data, headers=headers) as resp:
            size = len(await resp.read())
            return size if resp.status == expect else None

    return send


def edit_maker(session: aiohttp.ClientSession, base_url: str, task_ids: list[str], *, token: str
               ) -> Callable[[], Awaitable[int | None]]:
    """`PUT /api/tasks/<id>` that really changes something every time: each call edits the
    next of `task_ids` in turn with a title no earlier call used. Returns the body's size, or
    None unless 200."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    counter = itertools.count()

    async def send() -> int | None:
        n = next(counter)
        url = f"{base_url}/api/tasks/{task_ids[n % len(task_ids)]}"
        async with session.put(url, data=b'{"title":"Edited %d"}' % n, headers=headers) as resp:
            size = len(await resp.read())
            return size if resp.status == 200 else None

    return send


def in_turn(*sends: Callable[[], Awaitable[int | None]]) -> Callable[[], Awaitable[int | None]]:
    """One call sends each request after the previous one is answered (a write, then a read
    that must see it); returns the last one's size, or None when any failed."""

    async def send() -> int | None:
        size = None
        for one in sends:
            size = await one()
            if size is None:
                return None
        return size

    return send


async def closed_loop(send: Callable[[], Awaitable[int | None]], server: Server, *, concurrency: int,
                      duration_s: float, max_requests: int) -> LoadResult:
    """`concurrency` workers each send one request after another until `duration_s` has
    passed or `max_requests` were sent in all. Latencies of successful requests only."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = clock() + duration_s

    async def worker() -> None:
        nonlocal sent, errors
        while sent < max_requests and clock() < deadline:
            sent += 1
            start = clock()
            try:
                ok = await send() is not None
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok = False
            if ok:
                latencies.append((clock() - start) * MS)
            else:
                errors += 1

    cpu_before, start = server.cpu_seconds(), clock()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), duration_s + DRAIN_GRACE_S)
    elapsed = clock() - start
    return LoadResult(latencies, elapsed, errors, (server.cpu_seconds() - cpu_before) / elapsed)


class Socket:
    """One Socket.IO client on a bare WebSocket, speaking REALTIME.md's text frames.

    It answers Engine.IO pings, resolves acks, and calls `on_event(receipt_time)` for every
    event named `watch`; everything else it reads and drops.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, watch: str | None,
                 on_event: Callable[[float], None] | None):
        self.ws = ws
        self.watch_prefix = f'42["{watch}"' if watch else None
        self.on_event = on_event
        self.events_seen = 0
        self.acks: dict[str, asyncio.Future] = {}
        self.ack_ids = itertools.count()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, base_url: str, token: str, *,
                      watch: str | None = None, on_event: Callable[[float], None] | None = None) -> "Socket":
        ws = await session.ws_connect(base_url + WS_PATH)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                opening = await ws.receive_str()
                if not opening.startswith("0"):
                    raise RuntimeError(f"expected an Engine.IO open packet, got {opening[:80]!r}")
                await ws.send_str("40" + json.dumps({"token": token}))
                while not (frame := await ws.receive_str()).startswith("40"):
                    if frame.startswith("44"):
                        raise RuntimeError(f"connection refused: {frame}")
                    if frame == "2":
                        await ws.send_str("3")
        except BaseException:
            await ws.close()
            raise
        return cls(ws, watch, on_event)

    async def _read(self) -> None:
        ws, watch = self.ws, self.watch_prefix
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = message.data
            if watch and frame.startswith(watch):
                self.events_seen += 1
                self.on_event(clock())
            elif frame == "2":
                await ws.send_str("3")
            elif frame.startswith("43"):
                ack_id, _, payload = frame[2:].partition("[")
                future = self.acks.pop(ack_id, None)
                if future and not future.done():
                    future.set_result(json.loads("[" + payload))

    async def call(self, event: str, data: object) -> list:
        """Emit `event` with an ack id and return the ack's arguments."""
        ack_id = str(next(self.ack_ids))
        future = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = future
        await self.ws.send_str(f"42{ack_id}" + json.dumps([event, data]))
        return await asyncio.wait_for(future, ACK_TIMEOUT_S)

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


async def connect_many(count: int, session: aiohttp.ClientSession, base_url: str, token: str, *,
                       watch: str | None = None, on_event: Callable[[float], None] | None = None,
                       join: dict | None = None) -> list[Socket]:
    """`count` sockets, opened `CONNECT_CONCURRENCY` at a time; each sends `join:task` with
    `join` (when given) and must be acked `{"ok": true}`."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets: list[Socket] = []

    async def one() -> None:
        async with gate:
            sock = await Socket.connect(session, base_url, token, watch=watch, on_event=on_event)
            sockets.append(sock)
            if join is not None and (reply := await sock.call("join:task", join)) != [{"ok": True}]:
                raise RuntimeError(f"join:task refused: {reply}")

    try:
        await asyncio.gather(*(one() for _ in range(count)))
    except BaseException:
        await close_all(sockets)
        raise
    return sockets


async def close_all(sockets: list[Socket]) -> None:
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
