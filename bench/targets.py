"""The servers a run measures, and the few TaskTrek API calls the workloads set up with."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from .config import Sizes
from .loadgen import call
from .procs import REPO, Placement, Server, free_port

BENCH_SECRET = "tasktrek-bench-secret-" + "0123456789" * 4
SETUP_BCRYPT_ROUNDS = 4  # registrations are set-up, not measured; the login storm uses the default
BENCH_PASSWORD = "bench-password"
SERVER_LOG_LEVEL = "WARNING"  # no per-request access log, on TaskTrek as on the peers
INHERITED_CONFIG = ("TASKTREK_", "PORT", "MONGO_URI", "JWT_SECRET")  # ignored from our own environment
NODE_PEER = REPO / "bench" / "node" / "server.js"
SETUP_CONCURRENCY = 32
SOCKET_CAP = 1_000_000

TASKTREK, FLOOR, PYTHON_SOCKETIO, NODE_SOCKETIO = "TaskTrek", "aiohttp floor", "python-socketio", "node socket.io"
BASELINE = "TaskTrek before"  # the --baseline source tree, as a peer
FLOOR_BYTES = "aiohttp floor, precomputed bytes"


@dataclass
class Context:
    sizes: Sizes
    placement: Placement
    workdir: Path
    baseline: Path | None = None  # an earlier TaskTrek's source tree (--baseline), run beside ours

    def _server(self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> Server:
        port = free_port()
        return Server(name, argv + ["--port", str(port)], port=port, log_dir=self.workdir,
                      placement=self.placement, env=env, cwd=cwd)

    def tasktrek(self, *, db_path: Path | None = None, bcrypt_rounds: int | None = SETUP_BCRYPT_ROUNDS,
                 cluster: dict[str, str] | None = None, baseline: bool = False) -> Server:
        """TaskTrek on SQLite (a fresh file unless `db_path`); `bcrypt_rounds=None`: the default cost;
        `cluster`: the TASKTREK_ variables of a cluster node (Redis URL, prefix, node name);
        `baseline`: the earlier TaskTrek of --baseline (run from its tree, which Python imports first)."""
        db_path = db_path or self.workdir / f"tasktrek-{uuid.uuid4().hex[:8]}.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_CONFIG)}
        env |= {
            "TASKTREK_DATABASE_URL": f"sqlite:///{db_path.resolve()}",  # absolute: sqlite:////...
            "TASKTREK_JWT_SECRET": BENCH_SECRET,
            "TASKTREK_LOG_LEVEL": SERVER_LOG_LEVEL,
            # Thousands of sockets of one user from one address are the workloads themselves
            # (the peers have no such caps).
            **{f"TASKTREK_{cap}": str(SOCKET_CAP) for cap in
               ("MAX_SOCKETS_PER_USER", "MAX_UNAUTHENTICATED_PER_ADDRESS", "MAX_UNAUTHENTICATED_SOCKETS")},
        }
        if bcrypt_rounds is not None:
            env["TASKTREK_BCRYPT_ROUNDS"] = str(bcrypt_rounds)
        env |= cluster or {}
        if baseline:
            return self._server(BASELINE, [sys.executable, "-m", "tasktrek"], env, cwd=self.baseline)
        return self._server(TASKTREK, [sys.executable, "-m", "tasktrek"], env)

    def floor(self, bodies: Path) -> Server:
        return self._server(FLOOR, [sys.executable, "-m", "bench.peers.floor", "--bodies", str(bodies)])

    def python_socketio(self) -> Server:
        return self._server(PYTHON_SOCKETIO, [sys.executable, "-m", "bench.peers.pysocketio"])

    def node_socketio(self) -> Server:
        return self._server(NODE_SOCKETIO, ["node", str(NODE_PEER)])


@dataclass
class Account:
    id: str
    email: str
    token: str


async def register(session: aiohttp.ClientSession, base_url: str, name: str) -> Account:
    email = f"{name}-{uuid.uuid4().hex[:12]}@bench.example.com"
    body = await call(session, "POST", base_url + "/api/users",
                      body={"name": name, "email": email, "password": BENCH_PASSWORD}, expect=201)
    return Account(body["_id"], email, body["token"])


async def login(session: aiohttp.ClientSession, base_url: str, email: str) -> str:
    body = await call(session, "POST", base_url + "/api/users/login", body={"email": email, "password": BENCH_PASSWORD})
    return body["token"]


def new_task(i: int) -> dict:
    """A typical create body."""
    return {"title": f"Bench task {i}", "description": "Prepare the quarterly report and send it round",
            "priority": ("low", "medium", "high")[i % 3]}


async def create_tasks(session: aiohttp.ClientSession, base_url: str, token: str, count: int) -> list[str]:
    """`count` new tasks of the token's user; returns their ids."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(i: int) -> str:
        async with gate:
            return (await call(session, "POST", base_url + "/api/tasks", token=token, body=new_task(i), expect=201))["_id"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))
