"""The fan-out load generator as a child process: bench/node/fanout-client.js (`ws` sockets),
driven over JSON lines. The Python generator saturates before a server does when one event
goes to 1,000 sockets; Node's does not, so every server is measured with this one."""

from __future__ import annotations

import asyncio
import json
import time

from .procs import REPO

CLIENT = REPO / "bench" / "node" / "fanout-client.js"
CONNECT_TIMEOUT_S = 120.0
CLOSE_TIMEOUT_S = 30.0


class NodeSockets:
    """`count` sockets joined to one task's room, shared out among `urls`."""

    def __init__(self, process: asyncio.subprocess.Process, count: int):
        self.process = process
        self.count = count

    @classmethod
    async def open(cls, urls: list[str], token: str, count: int, *, task_id: str, event: str) -> "NodeSockets":
        argv = ["node", str(CLIENT), "--token", token, "--sockets", str(count), "--task", task_id, "--event", event]
        for url in urls:
            argv += ["--url", url]
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE,
                                                       stdout=asyncio.subprocess.PIPE)
        sockets = cls(process, count)
        try:
            ready = await sockets._read(CONNECT_TIMEOUT_S)
            if ready.get("ready") != count:
                raise RuntimeError(f"fan-out client: expected {count} sockets ready, got {ready}")
        except BaseException:
            await sockets.kill()
            raise
        return sockets

    async def delivered(self, timeout_s: float) -> int:
        """Waits until the next event reached every socket; returns the last receipt's time
        on time.monotonic_ns()'s clock (CLOCK_MONOTONIC, as Node's process.hrtime)."""
        return int((await self._read(timeout_s))["last_ns"])

    async def close(self) -> tuple[int, int]:
        """Closes every socket; returns the fewest and the most events any socket got."""
        self.process.stdin.write(b"close\n")
        await self.process.stdin.drain()
        closed = await self._read(CLOSE_TIMEOUT_S)
        await self.process.wait()
        return closed["min"], closed["max"]

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _read(self, timeout_s: float) -> dict:
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        if not line:
            raise RuntimeError("fan-out client exited")
        message = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"fan-out client: {message['error']}")
        return message


now_ns = time.monotonic_ns
