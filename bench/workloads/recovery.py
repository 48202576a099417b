"""7. Recovery: `recovery_sockets` sockets that opted into connection state recovery drop at
once, `recovery_changes` changes are made while they are away (each one `task:updated` and
one `notification:new` for them), then all reconnect at once with their pid and last offset.
Measured: the time from the first reconnect to the last socket having every missed event
(and each socket's own time), with every socket checked: recovered (same sid), every missed
event exactly once, in offset order.

TaskTrek only: python-socketio's server has no connection state recovery, and Node
socket.io's keeps sessions in process memory (a different guarantee: lost on restart).
"""

from __future__ import annotations

import asyncio
import itertools
import json

import aiohttp

from ..loadgen import CONNECT_CONCURRENCY, CONNECT_TIMEOUT_S, WS_PATH, call, clock, http_session
from ..procs import running
from ..report import Outcome
from ..stats import MS, latency_summary, median_of
from ..targets import TASKTREK, Context, new_task, register

LOGGED = ('42["task:', '42["notification:new"', '42["notification:updated"')
RECOVER_TIMEOUT_S = 120.0
COLUMNS = ["sockets", "missed each", "all recovered ms", "p50 ms", "p99 ms"]


class RecoveringSocket:
    """A bare WebSocket that opted into recovery and keeps its pid and last offset."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.session, self.base_url, self.token = session, base_url, token
        self.sid = self.pid = self.offset = None
        self.offsets: list[int] = []  # of the logged events received since the last connect
        self.expected = 0
        self.complete = asyncio.Event()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task | None = None

    async def connect(self) -> dict:
        self.ws = await self.session.ws_connect(self.base_url + WS_PATH)
        hello = {"token": self.token, "recover": True}
        if self.pid is not None:
            hello |= {"pid": self.pid} | ({"offset": self.offset} if self.offset else {})
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            assert (await self.ws.receive_str()).startswith("0")
            await self.ws.send_str("40" + json.dumps(hello))
            while not (frame := await self.ws.receive_str()).startswith("40"):
                if frame == "2":
                    await self.ws.send_str("3")
        self.offsets = []
        self.reader = asyncio.create_task(self._read())
        return json.loads(frame[2:])

    async def _read(self) -> None:
        async for message in self.ws:
            frame = message.data
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            if frame.startswith(LOGGED):
                self.offset = json.loads(frame[2:])[-1]
                self.offsets.append(int(self.offset))
                if len(self.offsets) >= self.expected:
                    self.complete.set()
            elif frame == "2":
                await self.ws.send_str("3")

    async def drop(self) -> None:
        self.reader.cancel()
        await self.ws.close()


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    count, changes = sizes.recovery_sockets, sizes.recovery_changes
    outcome = Outcome("recovery", f"7. Recovery: {count} sockets drop, {changes} changes, all come back at once "
                                  f"(median of {sizes.repetitions} repetitions)", COLUMNS)
    reps = []
    async with http_session() as session, running(ctx.tasktrek()) as server:
        owner = await register(session, server.url, "owner")
        assignee = await register(session, server.url, "assignee")
        task = await call(session, "POST", server.url + "/api/tasks", token=owner.token,
                          body={**new_task(0), "assignedTo": assignee.id}, expect=201)
        status_url = f"{server.url}/api/tasks/{task['_id']}/status"
        statuses = itertools.cycle(("in-progress", "todo"))
        sockets = [RecoveringSocket(session, server.url, assignee.token) for _ in range(count)]
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def first_connect(sock: RecoveringSocket) -> None:
            async with gate:
                answer = await sock.connect()
                sock.sid, sock.pid = answer["sid"], answer["pid"]

        await asyncio.gather(*(first_connect(s) for s in sockets))
        for _ in range(sizes.repetitions):
            await asyncio.gather(*(s.drop() for s in sockets))
            for _ in range(changes):
                await call(session, "PATCH", status_url, token=owner.token, body={"status": next(statuses)})
            reps.append(await _recover_all(sockets, 2 * changes, gate))
    summaries = [{"all_ms": all_ms, **latency_summary(samples)} for all_ms, samples in reps]
    medians = {k: median_of(summaries, k) for k in ("all_ms", "p50_ms", "p99_ms")}
    outcome.rows.append([count, 2 * changes, medians["all_ms"], medians["p50_ms"], medians["p99_ms"]])
    outcome.summary = {TASKTREK: {"median": medians, "repetitions": summaries}}
    return outcome


async def _recover_all(sockets: list[RecoveringSocket], missed: int, gate: asyncio.Semaphore) -> tuple[float, list[float]]:
    """Reconnect every socket at once; (ms until the last has all, each socket's ms)."""
    start = clock()

    async def back(sock: RecoveringSocket) -> float:
        sock.expected, sock.complete = missed, asyncio.Event()
        before = sock.offset
        async with gate:
            answer = await sock.connect()
        if answer != {"sid": sock.sid, "pid": sock.pid}:
            raise RuntimeError(f"not recovered: {answer}")
        await asyncio.wait_for(sock.complete.wait(), RECOVER_TIMEOUT_S)
        done = clock()
        got = sock.offsets[:missed]
        if len(set(got)) != missed or got != sorted(got) or (before and got[0] <= int(before)):
            raise RuntimeError(f"missed events not once and in order: {got[:5]}…")
        return (done - start) * MS

    samples = await asyncio.gather(*(back(s) for s in sockets))
    return max(samples), list(samples)
