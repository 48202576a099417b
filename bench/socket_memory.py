"""Where an idle WebSocket's memory goes: `tracemalloc` on a live TaskTrek server.

Serves TaskTrek (the command line's `Runner`, SQLite in a temporary directory) in a child
process that traces allocations, opens N authenticated, idle sockets of one user over bare
WebSockets from this process, and prints the traced bytes per socket that appeared between
before and after opening them, by file and by line (docs/performance.md, *Fast paths*).

    .venv/bin/python bench/socket_memory.py [--sockets 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
RAISED_CAPS = dict(max_sockets_per_user=1_000_000, max_unauthenticated_per_address=1_000_000,
                   max_unauthenticated=1_000_000)
WARMUP_SOCKETS = 50
DONE = "END"


async def serve(port: int, workdir: str) -> None:
    """The child: TaskTrek with tracemalloc; `base` and `diff N` on standard input."""
    import gc
    import tracemalloc
    from dataclasses import replace

    tracemalloc.start(1)
    from aiohttp import web

    from tasktrek import create_app
    from tasktrek.http.server import Runner
    from tasktrek.realtime import GATEWAY
    from tasktrek.settings import Settings

    settings = Settings(database_url=f"sqlite:///{workdir}/memory.db", jwt_secret="m" * 48, bcrypt_rounds=4,
                        presence_grace_seconds=0, log_level="WARNING")
    app = create_app(settings)
    app[GATEWAY].options = replace(app[GATEWAY].options, **RAISED_CAPS)
    runner = Runner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    base = None
    while words := (await commands.readline()).decode().split():
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(ignore)
        if words[0] == "base":
            base = snapshot
        else:
            count = int(words[1])
            by_file = snapshot.compare_to(base, "filename")
            print(f"traced bytes per socket: {sum(s.size_diff for s in by_file) / count:.0f}")
            for title, stats, rows in (("by file", by_file, 30), ("by line", snapshot.compare_to(base, "lineno"), 50)):
                print(f"-- {title}")
                for stat in stats[:rows]:
                    frame = stat.traceback[0]
                    where = frame.filename.split("site-packages/")[-1].replace(str(REPO) + "/", "")
                    where += f":{frame.lineno}" if title == "by line" else ""
                    print(f"{stat.size_diff / count:8.0f} B {stat.count_diff / count:6.2f} objects  {where}")
        print(DONE, flush=True)
    await runner.cleanup()


async def idle_socket(session: aiohttp.ClientSession, url: str, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url + "/socket.io/?EIO=4&transport=websocket")  # answers pings itself
    assert (await ws.receive_str()).startswith("0{")
    await ws.send_str('40{"token":"%s"}' % token)
    while not (await ws.receive_str()).startswith('42["notification:count"'):
        pass
    return ws


async def measure(count: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", str(port), tempfile.mkdtemp(prefix="tasktrek-memory-"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})

    async def ask(command: str) -> str:
        server.stdin.write(command.encode() + b"\n")
        lines = []
        while (line := (await server.stdout.readline()).decode().rstrip()) != DONE:
            lines.append(line)
        return "\n".join(lines)

    try:
        assert (await server.stdout.readline()).strip() == b"ready"
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            body = {"name": "probe", "email": "probe@example.com", "password": "correct horse"}
            async with session.post(url + "/api/users", json=body) as resp:
                token = (await resp.json())["token"]
            for ws in [await idle_socket(session, url, token) for _ in range(WARMUP_SOCKETS)]:
                await ws.close()
            await asyncio.sleep(0.5)  # presence and counts settle
            await ask("base")
            sockets = [await idle_socket(session, url, token) for _ in range(count)]
            await asyncio.sleep(0.5)
            print(await ask(f"diff {count}"))
            for ws in sockets:
                await ws.close()
    finally:
        server.stdin.close()
        await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=400)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(int(args.serve[0]), args.serve[1]))
    else:
        asyncio.run(measure(args.sockets))


if __name__ == "__main__":
    main()
