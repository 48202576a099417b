"""Fixtures for cluster mode: the machine's real Redis, reached at TASKTREK_TEST_REDIS_URL
(the Makefile and .ci/run set it). Every test uses keys under its own prefix and deletes them
afterwards; nothing else in that database is touched. A test fails, never skips, when Redis
does not answer."""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import urlsplit

import pytest

from tasktrek.cluster import connection

from .tcpproxy import TcpProxy

VARIABLE = "TASKTREK_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(VARIABLE)
    if not url:
        pytest.fail(f"{VARIABLE} is not set: cluster tests need a Redis (make test sets redis://127.0.0.1:6379/11)")
    return url


@pytest.fixture
def prefix() -> str:
    return f"tasktrek-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis(redis_url, prefix):
    """A client of the test Redis; deletes every key under the test's prefix afterwards."""
    client = connection.connect(redis_url)
    try:
        await client.ping()
    except connection.UNAVAILABLE as exc:
        await client.aclose()
        pytest.fail(f"Redis at {connection.describe(redis_url)} ({VARIABLE}) does not answer: {exc}")
    yield client
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def make_client(redis, redis_url):
    """make_client(url=None, name=None) → another client (closed afterwards)."""
    made = []

    def make(url: str | None = None, name: str | None = None):
        client = connection.connect(url or redis_url, name=name)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def redis_proxy(redis, redis_url):
    """A cuttable TCP path to the test Redis: proxy.url(db) instead of the real URL."""
    parts = urlsplit(redis_url)
    proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    yield proxy
    await proxy.stop()


def db_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "0"


@pytest.fixture
async def cluster(tmp_path, redis, redis_url, prefix):
    """cluster(n, redis_url=None, **env) → n started nodes on one SQLite file and one Redis
    (`redis_url` to reach Redis another way, e.g. through a proxy; env: TASKTREK_* values).
    Every node still running is stopped afterwards, every client disconnected."""
    import aiohttp

    from tests.realtime.clients import PyClient

    from .nodes import NodeProcess, node_env

    session = aiohttp.ClientSession()
    nodes: list = []
    clients: list[PyClient] = []

    class Cluster:
        db = tmp_path / "cluster.db"

        async def start(self, name: str, url: str | None = None, **env: str) -> NodeProcess:
            env.setdefault("TASKTREK_NODE_NAME", name)
            node = NodeProcess(name, node_env(self.db, url or redis_url, prefix, **env), session)
            nodes.append(node)
            return await node.start()

        async def __call__(self, n: int, url: str | None = None, **env: str) -> list[NodeProcess]:
            return [await self.start(chr(ord("a") + i), url, **env) for i in range(n)]

        async def online(self, user, node) -> PyClient:
            """A python-socketio client of `user` connected to `node`, past its notification:count."""
            client = PyClient(node)
            clients.append(client)
            await client.connect(user.token)
            await client.event("notification:count")
            return client

    yield Cluster()
    for client in clients:
        if client.sio.connected:
            await client.sio.disconnect()
    # Every node is stopped even when one of them does not stop (that one is killed).
    running = [node for node in nodes if node.proc is not None and node.proc.returncode is None]
    stopped = await asyncio.gather(*(node.stop() for node in running), return_exceptions=True)
    await session.close()
    for outcome in stopped:
        if isinstance(outcome, BaseException):
            raise outcome
