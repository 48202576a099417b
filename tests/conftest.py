"""Shared fixtures: a real TaskTrek app on a real SQLite file, served over real HTTP."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from tasktrek import Settings, create_app
from tasktrek.http.keys import SERVICES
from tasktrek.http.server import Runner

TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/tasktrek.db",
        jwt_secret=TEST_SECRET,
        bcrypt_rounds=4,
        presence_grace_seconds=0,
    )


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client, app):
    return await aiohttp_client(app)


@pytest.fixture
def events(app) -> list:
    """Every domain event the app publishes, in order."""
    published: list = []

    async def record(event) -> None:
        published.append(event)

    app[SERVICES].events.subscribe(record)
    return published


@dataclass(frozen=True)
class User:
    """A registered user as tests see it: id, name, email and a bearer token."""

    id: str
    name: str
    email: str
    token: str

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """Thin helpers over the HTTP API for tests: register users, create tasks."""

    _counter = itertools.count()

    def __init__(self, client):
        self.client = client

    async def register(self, name: str | None = None, password: str = "correct horse") -> User:
        n = next(self._counter)
        name = name or f"user{n}"
        email = f"{name.lower()}.{n}@example.com"
        resp = await self.client.post("/api/users", json={"name": name, "email": email, "password": password})
        assert resp.status == 201, await resp.text()
        body = await resp.json()
        return User(body["_id"], name, email, body["token"])

    async def create_task(self, user: User, **fields) -> dict:
        resp = await self.client.post("/api/tasks", json={"title": "a task", **fields}, headers=user.auth)
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async def call(self, method: str, path: str, user: User | None = None, **kwargs):
        headers = {**(user.auth if user else {}), **kwargs.pop("headers", {})}
        resp = await self.client.request(method, path, headers=headers, **kwargs)
        body = await resp.json() if resp.content_type == "application/json" else None
        return resp, body


@pytest.fixture
def api(client) -> Api:
    return Api(client)


class LogRecorder(logging.Handler):
    """Every log record of the process while a test runs, at DEBUG and above; `wait_for`
    returns once a record matches (the server's own account that it handled something)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)  # fills record.exc_text for tracebacks
        self.records.append(record)
        self._changed.set()

    async def wait_for(self, predicate, timeout: float = 10.0) -> logging.LogRecord:
        async with asyncio.timeout(timeout):
            while True:
                for record in self.records:
                    if predicate(record):
                        return record
                self._changed.clear()
                await self._changed.wait()

    def at_least(self, level: int) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= level]

    @property
    def tracebacks(self) -> list[str]:
        return [r.exc_text for r in self.records if r.exc_text]


@pytest.fixture
def logs():
    recorder = LogRecorder()
    root = logging.getLogger()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    yield recorder
    root.removeHandler(recorder)
    root.setLevel(level)


@dataclass(frozen=True)
class Served:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@pytest.fixture
async def served(app):
    """The app served the way the command line serves it (tasktrek.http.server.Runner: its
    access log, aiohttp's errors as JSON, handlers not cancelled when a client leaves), unlike
    aiohttp's test server."""
    runner = Runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield Served(host, port)
    await runner.cleanup()


@pytest.fixture
async def api_on_served(served):
    async with aiohttp.ClientSession(base_url=served.url) as session:
        yield Api(session)
