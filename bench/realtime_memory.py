"""Memory of the real-time gateway: RSS per idle socket, and RSS across connect/disconnect cycles.

Runs a real server (`python -m tasktrek`, SQLite in a temporary directory) in a child process
and measures that process's resident set size (VmRSS from /proc) while this process plays
the clients over plain WebSockets:

1. warm-up: 1,000 connect/disconnect cycles (allocator pools, caches, imports settle);
2. leak: RSS before and after `--cycles` more cycles (default 10,000), twice in a row;
3. idle: RSS before and after opening `--idle` sockets (default 2,000) that each completed the
   handshake and CONNECT (authenticated, in their user room, counted in presence) and then
   sit idle; the difference divided by their number is the memory per idle socket.

Each cycle: WebSocket upgrade, Engine.IO open packet, `40{"token":...}`, `40{"sid":...}`,
`notification:count`, close. Usage (Linux):

    .venv/bin/python bench/realtime_memory.py [--cycles 10000] [--idle 2000] [--workers 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ws:
    """A minimal WebSocket client (masked text frames out, unmasked frames in)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int, path: str) -> "Ws":
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head.decode(errors="replace"))
        return cls(reader, writer)

    def send(self, data: bytes, opcode: int = 0x1) -> None:
        size = len(data)
        if size < 126:
            header = bytes([0x80 | opcode, 0x80 | size])
        else:
            header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", size)
        self.writer.write(header + b"\0\0\0\0" + data)

    async def recv(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(size)

    async def text(self) -> str:
        while True:
            opcode, payload = await self.recv()
            if opcode == 0x8:
                raise ConnectionError("closed by the server")
            if payload == b"2":
                self.send(b"3")
                continue
            return payload.decode()

    async def close(self) -> None:
        self.send((1000).to_bytes(2, "big"), 0x8)
        try:
            while (await self.recv())[0] != 0x8:
                pass
        except asyncio.IncompleteReadError:
            pass
        self.writer.close()
        await self.writer.wait_closed()


async def connected(host: str, port: int, token: str) -> Ws:
    ws = await Ws.open(host, port, "/socket.io/?EIO=4&transport=websocket")
    assert (await ws.text()).startswith("0{")
    ws.send(('40{"token":"%s"}' % token).encode())
    assert (await ws.text()).startswith('40{"sid"')
    while not (await ws.text()).startswith('42["notification:count"'):
        pass  # presence:online of a neighbour may come first
    return ws


async def cycles(host: str, port: int, tokens: list[str], count: int) -> float:
    started = time.perf_counter()
    remaining = count

    async def worker(token: str) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            ws = await connected(host, port, token)
            await ws.close()

    await asyncio.gather(*(worker(t) for t in tokens))
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--idle", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=25)
    args = parser.parse_args()

    host, port = "127.0.0.1", free_port()
    tmp = tempfile.mkdtemp(prefix="tasktrek-rt-mem-")
    env = {
        **os.environ,
        "TASKTREK_HOST": host,
        "TASKTREK_PORT": str(port),
        "TASKTREK_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "TASKTREK_JWT_SECRET": "b" * 48,
        "TASKTREK_BCRYPT_ROUNDS": "4",
        "TASKTREK_PRESENCE_GRACE_SECONDS": "0",
        "TASKTREK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    server = await asyncio.create_subprocess_exec(sys.executable, "-m", "tasktrek", env=env, cwd=tmp)
    try:
        base = f"http://{host}:{port}"
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with http.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
            tokens = []
            for i in range(args.workers):
                async with http.post(base + "/api/users", json={"name": f"u{i}", "email": f"u{i}@bench.io", "password": "correct horse"}) as resp:
                    tokens.append((await resp.json())["token"])
            # Neighbours share a task, so presence is announced to someone on every cycle.
            for i, token in enumerate(tokens):
                async with http.get(base + "/api/users/me", headers={"Authorization": f"Bearer {tokens[(i + 1) % len(tokens)]}"}) as resp:
                    neighbour = (await resp.json())["_id"]
                async with http.post(base + "/api/tasks", json={"title": "shared", "assignedTo": neighbour},
                                     headers={"Authorization": f"Bearer {token}"}) as resp:
                    assert resp.status == 201

        pid = server.pid
        results: dict = {"python": sys.version.split()[0]}
        results["rss_start_kib"] = rss_kib(pid)
        await cycles(host, port, tokens, 1_000)
        results["rss_after_warmup_kib"] = warm = rss_kib(pid)
        seconds = await cycles(host, port, tokens, args.cycles)
        results["rss_after_first_batch_kib"] = first = rss_kib(pid)
        await cycles(host, port, tokens, args.cycles)
        results["rss_after_second_batch_kib"] = second = rss_kib(pid)
        results["cycles_per_batch"] = args.cycles
        results["cycles_per_second"] = round(args.cycles / seconds)
        results["leak_first_batch_kib"] = first - warm
        results["leak_second_batch_kib"] = second - first

        before = rss_kib(pid)
        idle = []
        for i in range(args.idle):
            idle.append(await connected(host, port, tokens[i % len(tokens)]))
        after = rss_kib(pid)
        results["idle_sockets"] = args.idle
        results["rss_before_idle_kib"] = before
        results["rss_with_idle_kib"] = after
        results["bytes_per_idle_socket"] = round((after - before) * 1024 / args.idle)
        for ws in idle:
            await ws.close()
        results["rss_after_idle_closed_kib"] = rss_kib(pid)
        print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    asyncio.run(main())
