"""Shared fixtures: a real TaskTrek app on a real SQLite file, served over real HTTP."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from tasktrek import Settings, create_app
from tasktrek.http.keys import SERVICES

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
