"""The two official Socket.IO clients behind one small interface.

Nothing here imitates a client: `PyClient` is python-socketio's AsyncClient and `JsClient`
is the npm socket.io-client driven through tests/js/driver.mjs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import socketio

from .harness import TIMEOUT, Harness

JS_DIR = Path(__file__).resolve().parent.parent / "js"


# --- one interface over both official clients --------------------------------------------


class ConnectRefused(Exception):
    """The server answered CONNECT with a connect_error; args[0] is its message."""


class EventLog:
    """Events a client received, in order, with waiting by name."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._consumed: dict[str, int] = {}
        self._changed = asyncio.Event()

    def add(self, name: str, payload: Any) -> None:
        self.events.append((name, payload))
        self._changed.set()

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def payloads(self, name: str) -> list[Any]:
        return [payload for n, payload in self.events if n == name]

    async def next(self, name: str, timeout: float = TIMEOUT) -> Any:
        """The next not yet consumed payload of event `name`, waiting for it."""

        async def wait() -> Any:
            while True:
                seen = self.payloads(name)
                index = self._consumed.get(name, 0)
                if index < len(seen):
                    self._consumed[name] = index + 1
                    return seen[index]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)


class RtClient:
    """What a test does with a Socket.IO client, whichever implementation."""

    kind = "abstract"

    def __init__(self, harness: Harness):
        self.harness = harness
        self.log = EventLog()
        self.disconnected = asyncio.get_running_loop().create_future()

    async def transport(self) -> str | None:
        """The name of the transport the client uses now ("polling" or "websocket")."""

    async def event(self, name: str, timeout: float = TIMEOUT) -> Any:
        return await self.log.next(name, timeout)

    def received(self, name: str) -> list[Any]:
        return self.log.payloads(name)

    async def barrier(self) -> None:
        """Round trip through the server: every event queued for this socket before the call
        has arrived when it returns (one socket's frames are delivered in order)."""
        before = len(self.received("presence:list"))
        await self.call("presence:get")
        while len(self.received("presence:list")) <= before:
            await self.log.next("presence:list")

    async def wait_disconnect(self, timeout: float = TIMEOUT) -> str:
        return await asyncio.wait_for(asyncio.shield(self.disconnected), timeout)

    # implemented per client
    async def connect(self, token: str | None = None, *, headers: dict | None = None, query: dict | None = None,
                      auth: dict | None = None) -> None: ...

    async def call(self, event: str, *args: Any) -> Any: ...

    async def emit(self, event: str, *args: Any) -> None: ...

    async def disconnect(self) -> None: ...


class PyClient(RtClient):
    kind = "python"

    def __init__(self, harness: Harness, transports: list[str] | None = ("websocket",)):
        super().__init__(harness)
        self.transports = list(transports) if transports is not None else None  # None: python-socketio's default
        self.sio = socketio.AsyncClient(reconnection=False)
        self.refusal: str | None = None

        self.frames: list[tuple[str, list]] = []  # every event with all its arguments, in order

        @self.sio.on("*")
        def on_any(event, *args):
            self.frames.append((event, list(args)))
            self.log.add(event, args[0] if args else None)

        @self.sio.event
        def connect_error(data):
            self.refusal = data.get("message") if isinstance(data, dict) else str(data)

        @self.sio.event
        def disconnect(reason=None):
            if not self.disconnected.done():
                self.disconnected.set_result(str(reason))

    async def connect(self, token=None, *, headers=None, query=None, auth=None):
        if auth is None and token is not None:
            auth = {"token": token}
        url = self.harness.url
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        try:
            await self.sio.connect(
                url,
                auth=auth,
                headers=headers or {},
                transports=self.transports,
                socketio_path=self.harness.socketio_path.lstrip("/"),
                wait_timeout=TIMEOUT,
            )
        except socketio.exceptions.ConnectionError as exc:
            raise ConnectRefused(self.refusal or str(exc)) from None

    @property
    def sid(self) -> str | None:
        return self.sio.get_sid()

    @property
    def engine_sid(self) -> str | None:
        return self.sio.eio.sid

    async def transport(self) -> str | None:
        return self.sio.transport()

    async def call(self, event, *args):
        if args:
            return await self.sio.call(event, args[0], timeout=TIMEOUT)
        return await self.sio.call(event, timeout=TIMEOUT)  # no payload at all, like emit("x")

    async def emit(self, event, *args):
        if args:
            await self.sio.emit(event, args[0])
        else:
            await self.sio.emit(event)

    async def disconnect(self):
        await self.sio.disconnect()
        await self.wait_disconnect()


class JsDriver:
    """One node process running tests/js/driver.mjs; each JsClient is one socket in it."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.clients: dict[str, JsClient] = {}
        self._ids = itertools.count()
        self._seq = itertools.count()
        self._acks: dict[int, asyncio.Future] = {}
        self._ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls) -> "JsDriver":
        node = shutil.which("node")
        assert node, "node is not installed: the socket.io-client tests need Node.js 18+"
        assert (JS_DIR / "node_modules" / "socket.io-client").is_dir(), (
            "tests/js/node_modules is missing: run `npm ci --prefix tests/js` (make test does)"
        )
        proc = await asyncio.create_subprocess_exec(
            node, str(JS_DIR / "driver.mjs"), cwd=JS_DIR,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        driver = cls(proc)
        await asyncio.wait_for(asyncio.shield(driver._ready), TIMEOUT)
        return driver

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            report = json.loads(line)
            kind = report["type"]
            if kind == "ready":
                self._ready.set_result(None)
                continue
            if kind == "ack":
                future = self._acks.pop(report["seq"])
                if "error" in report:
                    future.set_exception(TimeoutError(report["error"]))
                else:
                    future.set_result(report["args"][0] if report["args"] else None)
                continue
            client = self.clients.get(report.get("id"))
            if client is not None:
                client._report(report)
            else:
                raise AssertionError(f"driver says: {report}")

    def send(self, command: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())

    def client(self, harness: Harness, transports: list[str] | None = ("websocket",)) -> "JsClient":
        client = JsClient(harness, self, f"s{next(self._ids)}", transports)
        self.clients[client.id] = client
        return client

    async def request(self, command: dict) -> Any:
        """Send a command that is answered with an ack report; return its first argument."""
        seq = next(self._seq)
        future = asyncio.get_running_loop().create_future()
        self._acks[seq] = future
        self.send({**command, "seq": seq})
        return await asyncio.wait_for(future, TIMEOUT + 1)

    async def call(self, client_id: str, event: str, args: list) -> Any:
        return await self.request({"cmd": "emit", "id": client_id, "event": event, "args": args})

    async def close(self) -> None:
        if self.proc.returncode is None:
            try:
                self.send({"cmd": "exit"})
                await asyncio.wait_for(self.proc.wait(), TIMEOUT)
            except (TimeoutError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


class JsClient(RtClient):
    kind = "js"

    def __init__(self, harness: Harness, driver: JsDriver, id: str, transports: list[str] | None = ("websocket",)):
        super().__init__(harness)
        self.driver = driver
        self.id = id
        self.transports = list(transports) if transports is not None else None  # None: socket.io-client's default
        self.sid: str | None = None
        self.recovered: bool | None = None
        self.frames: list[tuple[str, list]] = []  # every event with all its arguments, in order
        self._connected: asyncio.Future | None = None
        loop = asyncio.get_running_loop()
        self.opened = loop.create_future()  # the first transport's name, once Engine.IO is open
        self.upgraded = loop.create_future()  # the new transport's name, after an upgrade

    def _report(self, report: dict) -> None:
        kind = report["type"]
        if kind == "open":
            if not self.opened.done():
                self.opened.set_result(report["transport"])
        elif kind == "upgrade":
            if not self.upgraded.done():
                self.upgraded.set_result(report["transport"])
        elif kind == "connect":
            self.sid = report["sid"]
            self.recovered = report["recovered"]
            if self._connected and not self._connected.done():
                self._connected.set_result(None)
        elif kind == "connect_error":
            if self._connected and not self._connected.done():
                self._connected.set_exception(ConnectRefused(report["message"]))
        elif kind == "event":
            args = report["args"]
            self.frames.append((report["event"], args))
            self.log.add(report["event"], args[0] if args else None)
        elif kind == "disconnect":
            if not self.disconnected.done():
                self.disconnected.set_result(report["reason"])
        else:
            raise AssertionError(f"driver says: {report}")

    async def connect(self, token=None, *, headers=None, query=None, auth=None):
        if auth is None and token is not None:
            auth = {"token": token}
        self._connected = asyncio.get_running_loop().create_future()
        command = {"cmd": "connect", "id": self.id, "url": self.harness.url, "path": self.harness.socketio_path}
        if auth is not None:
            command["auth"] = auth
        if query:
            command["query"] = query
        if headers:
            command["extraHeaders"] = headers
        command["transports"] = self.transports
        self.driver.send(command)
        await asyncio.wait_for(self._connected, TIMEOUT)

    async def transport(self) -> str | None:
        return await self.driver.request({"cmd": "transport", "id": self.id})

    async def call(self, event, *args):
        return await self.driver.call(self.id, event, list(args))

    async def emit(self, event, *args):
        self.driver.send({"cmd": "emit", "id": self.id, "event": event, "args": list(args)})

    async def disconnect(self):
        self.driver.send({"cmd": "disconnect", "id": self.id})
        await self.wait_disconnect()

    async def drop(self) -> str:
        """Drop the connection under the socket (`socket.io.engine.close()`); returns the
        disconnect reason."""
        self.driver.send({"cmd": "drop", "id": self.id})
        return await self.wait_disconnect()

    async def reconnect(self, auth: dict | None = None) -> None:
        """Connect again (`socket.connect()`), recovering if the server agrees."""
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()
        self.disconnected = loop.create_future()
        self.driver.send({"cmd": "reconnect", "id": self.id, **({"auth": auth} if auth else {})})
        await asyncio.wait_for(self._connected, TIMEOUT)


