"""TaskTrek nodes as separate processes, started with `make run`'s entry point (run.py) on
their own ports, sharing one SQLite file (WAL) and one Redis: what an operator runs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.realtime.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cluster-test-secret-" + "x" * 40
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0  # aiohttp's shutdown takes at most a few seconds (cli.SHUTDOWN_TIMEOUT_SECONDS)
READING = "reading the bus"  # what a node logs once its bus is read (bus.py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeProcess(Harness):
    """One node: its process, its URL, and the harness's HTTP shortcuts against it."""

    def __init__(self, name: str, env: dict[str, str], session: aiohttp.ClientSession) -> None:
        super().__init__(None, None, None, session)
        self.name = name
        self.env = env
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._reader: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "NodeProcess":
        self.log = []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run.py"), "--port", str(self.port),
            cwd=ROOT, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read_log(ready))
        await asyncio.wait_for(ready, START_TIMEOUT)
        return self

    async def _read_log(self, ready: asyncio.Future) -> None:
        serving = reading = False
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.log.append(text)
            serving = serving or "serving on" in text
            reading = reading or READING in text
            if serving and reading and not ready.done():
                ready.set_result(None)
        if not ready.done():
            ready.set_exception(AssertionError(f"node {self.name} exited: " + "\n".join(self.log[-20:])))

    def kill(self) -> None:
        """SIGKILL: the node dies without a word."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        """SIGTERM, the way an orchestrator stops a node; returns the exit status."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.kill()
            await self.wait()
            raise AssertionError(f"node {self.name} did not stop on SIGTERM: " + "\n".join(self.log[-30:])) from None
        if self._reader is not None:
            await self._reader
        return status

    async def wait(self) -> None:
        assert self.proc is not None
        await self.proc.wait()
        if self._reader is not None:
            await self._reader


def node_env(db_path: Path, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKTREK_", "PORT", "MONGO_URI", "JWT_SECRET"))}
    env.update(
        TASKTREK_DATABASE_URL=f"sqlite:///{db_path}",
        TASKTREK_JWT_SECRET=SECRET,
        TASKTREK_BCRYPT_ROUNDS="4",
        TASKTREK_REDIS_URL=redis_url,
        TASKTREK_REDIS_PREFIX=prefix,
        TASKTREK_PRESENCE_GRACE_SECONDS="0",
        TASKTREK_NODE_TTL_SECONDS="15",
        TASKTREK_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
