"""Fixtures for the real-time tests: a served app (root or mounted under a prefix) and
clients of both official kinds."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from tasktrek import create_app
from tasktrek.realtime import GATEWAY
from tasktrek.settings import Settings

from tests.conftest import User
from .clients import JsDriver, PyClient, RtClient
from .harness import Harness

SECRET = "realtime-test-secret-" + "x" * 40


def make_settings(tmp_path, name: str = "t", **overrides) -> Settings:
    values = dict(
        database_url=f"sqlite:///{tmp_path}/{name}.db",
        jwt_secret=SECRET,
        bcrypt_rounds=4,
        presence_grace_seconds=0,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def make_harness(aiohttp_server, tmp_path):
    """make_harness(prefix="", name="t", options={...}, **settings) → a served Harness.
    `options` replace RealtimeOptions fields on the gateway before the server starts."""
    sessions: list[aiohttp.ClientSession] = []

    async def make(*, prefix: str = "", name: str = "t", options: dict | None = None, **settings) -> Harness:
        app = create_app(make_settings(tmp_path, name, **settings))
        gateway = app[GATEWAY]
        if options:
            from dataclasses import replace

            gateway.options = replace(gateway.options, **options)
        served = app
        if prefix:
            served = web.Application()
            served.add_subapp(prefix + "/", app)
        server = await aiohttp_server(served)
        session = aiohttp.ClientSession()
        sessions.append(session)
        return Harness(server, app, gateway, session, prefix)

    yield make
    for session in sessions:
        await session.close()


@pytest.fixture
async def harness(make_harness) -> Harness:
    return await make_harness()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def js_driver():
    driver = await JsDriver.start()
    yield driver
    await driver.close()


# Client kinds: the library, and the transports it is given.
#   python, js          transports=["websocket"]
#   python-polling      python-socketio with transports=["polling"]: stays on polling
#   js-default          socket.io-client with its default options: polling, then the upgrade
TRANSPORTS = {
    "python": ["websocket"],
    "js": ["websocket"],
    "python-polling": ["polling"],
    "js-default": None,
}


class ClientFactory:
    """Creates clients of one kind (python-socketio or socket.io-client, see TRANSPORTS)."""

    def __init__(self, kind: str, harness: Harness):
        self.kind = kind
        self.library = kind.split("-")[0]  # "python" or "js"
        self.transports = TRANSPORTS[kind]
        self.harness = harness
        self.driver: JsDriver | None = None
        self.created: list[RtClient] = []

    async def new(self, harness: Harness | None = None) -> RtClient:
        harness = harness or self.harness
        if self.library == "python":
            client: RtClient = PyClient(harness, self.transports)
        else:
            if self.driver is None:
                self.driver = await JsDriver.start()
            client = self.driver.client(harness, self.transports)
        self.created.append(client)
        return client

    async def online(self, user: User, harness: Harness | None = None) -> RtClient:
        """A client connected as `user`, past its `notification:count`."""
        client = await self.new(harness)
        await client.connect(user.token)
        await client.event("notification:count")
        return client

    async def close(self) -> None:
        for client in self.created:
            if isinstance(client, PyClient) and client.sio.connected:
                await client.sio.disconnect()
        if self.driver is not None:
            await self.driver.close()


@pytest.fixture(params=["python", "js"])
async def clients(request, harness):
    """Official clients of one kind over WebSocket; every test using it runs once per kind."""
    factory = ClientFactory(request.param, harness)
    yield factory
    await factory.close()


@pytest.fixture(params=["python-polling", "js-default"])
async def polling_clients(request, harness):
    """Official clients that start on long-polling: python-socketio staying on it, and
    socket.io-client with default options (which upgrades to WebSocket)."""
    factory = ClientFactory(request.param, harness)
    yield factory
    await factory.close()
