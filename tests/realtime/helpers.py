"""Test helpers for the real-time gateway: a served app with HTTP shortcuts, the two official
Socket.IO clients behind one small interface, a raw WebSocket speaking frames by hand, and a
raw long-polling session speaking HTTP requests by hand.

Nothing here imitates a client: `PyClient` is python-socketio's AsyncClient and `JsClient`
is the npm socket.io-client driven through tests/js/driver.mjs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio

from tests.conftest import User

JS_DIR = Path(__file__).resolve().parent.parent / "js"
TIMEOUT = 10.0  # seconds any single expected thing may take before a test fails

_names = itertools.count()


# --- the app over HTTP ------------------------------------------------------------------


class Harness:
    """A served TaskTrek app: its URL, its gateway, and the HTTP calls tests trigger events with."""

    def __init__(self, server, app, gateway, session: aiohttp.ClientSession, prefix: str = ""):
        self.server = server
        self.app = app
        self.gateway = gateway
        self.session = session
        self.prefix = prefix  # where the TaskTrek app is mounted ("" at the root)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def socketio_path(self) -> str:
        return f"{self.prefix}/socket.io"

    def ws_url(self, query: str = "EIO=4&transport=websocket") -> str:
        return f"{self.url}{self.socketio_path}/?{query}"

    def polling_url(self, query: str = "EIO=4&transport=polling") -> str:
        return f"{self.url}{self.socketio_path}/?{query}"

    def engine(self, sid: str):
        """The server's EngineSocket of Engine.IO session `sid` (None once it is gone)."""
        client = self.gateway._clients.get(sid)
        return client.engine if client is not None else None

    async def request(self, method: str, path: str, user: User | None = None, *, expect: int | None = None, **kw):
        headers = {**(user.auth if user else {}), **kw.pop("headers", {})}
        async with self.session.request(method, self.url + self.prefix + path, headers=headers, **kw) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            if expect is not None:
                assert resp.status == expect, (resp.status, body)
            return resp.status, body

    async def register(self, name: str | None = None) -> User:
        n = next(_names)
        name = name or f"user{n}"
        email = f"{name.lower()}.{n}@example.com"
        _, body = await self.request(
            "POST", "/api/users", json={"name": name, "email": email, "password": "correct horse"}, expect=201
        )
        return User(body["_id"], name, email, body["token"])

    async def create_task(self, user: User, **fields) -> dict:
        _, body = await self.request("POST", "/api/tasks", user, json={"title": "a task", **fields}, expect=201)
        return body

    async def update_task(self, user: User, task_id: str, **fields) -> dict:
        _, body = await self.request("PUT", f"/api/tasks/{task_id}", user, json=fields, expect=200)
        return body

    async def set_status(self, user: User, task_id: str, status: str) -> dict:
        _, body = await self.request("PATCH", f"/api/tasks/{task_id}/status", user, json={"status": status}, expect=200)
        return body

    async def assign(self, user: User, task_id: str, assignee: User | None) -> dict:
        _, body = await self.request(
            "PATCH", f"/api/tasks/{task_id}/assign", user, json={"assignedTo": assignee.id if assignee else None}, expect=200
        )
        return body

    async def delete_task(self, user: User, task_id: str) -> dict:
        _, body = await self.request("DELETE", f"/api/tasks/{task_id}", user, expect=200)
        return body

    async def restore_task(self, user: User, task_id: str) -> dict:
        _, body = await self.request("PATCH", f"/api/tasks/{task_id}/restore", user, expect=200)
        return body

    async def get_task(self, user: User, task_id: str) -> dict:
        _, body = await self.request("GET", f"/api/tasks/{task_id}", user, expect=200)
        return body

    async def notifications(self, user: User) -> dict:
        _, body = await self.request("GET", "/api/notifications", user, expect=200)
        return body

    async def mark_read(self, user: User, notification_id: str, read: bool = True) -> dict:
        action = "read" if read else "unread"
        _, body = await self.request("PATCH", f"/api/notifications/{notification_id}/{action}", user, expect=200)
        return body

    async def logout(self, user: User) -> None:
        await self.request("POST", "/api/users/logout", user, expect=204)

    async def settled(self) -> None:
        """Wait until the gateway has no announcement in flight."""
        await asyncio.wait_for(self.gateway.settled(), TIMEOUT)


class Pause:
    """Holds the first call of a real service method, once it has its answer, until
    `release()`: what a test does meanwhile happens while the gateway waits for that answer.
    The method runs unchanged, and every later call passes straight through."""

    def __init__(self, service, name: str):
        self.answered = asyncio.Event()
        self._released = asyncio.Event()
        real = getattr(service, name)

        async def paused(*args, **kw):
            answer = await real(*args, **kw)
            if not self.answered.is_set():
                self.answered.set()
                await self._released.wait()
            return answer

        setattr(service, name, paused)

    async def wait(self) -> None:
        await asyncio.wait_for(self.answered.wait(), TIMEOUT)

    def release(self) -> None:
        self._released.set()


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

        @self.sio.on("*")
        def on_any(event, *args):
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
            if self._connected and not self._connected.done():
                self._connected.set_result(None)
        elif kind == "connect_error":
            if self._connected and not self._connected.done():
                self._connected.set_exception(ConnectRefused(report["message"]))
        elif kind == "event":
            args = report["args"]
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


# --- a bare WebSocket, frame by frame ----------------------------------------------------


class RawSocket:
    """A hand-driven WebSocket: what a plain WebSocket user sees."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.handshake: dict | None = None

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, url: str, **kw) -> "RawSocket":
        sock = cls(await session.ws_connect(url, autoping=True, **kw))
        first = await sock.recv()
        assert first.startswith("0"), first
        sock.handshake = json.loads(first[1:])
        return sock

    async def recv(self, timeout: float = TIMEOUT, *, answer_pings: bool = True) -> str:
        """The next text frame; server pings are answered and skipped unless told otherwise."""
        while True:
            msg = await self.ws.receive(timeout)
            if msg.type is aiohttp.WSMsgType.TEXT:
                if answer_pings and msg.data == "2":
                    await self.ws.send_str("3")
                    continue
                return msg.data
            raise Closed(msg.type, msg.data, msg.extra)

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def connect(self, token: str | None) -> dict:
        """`40{"token":...}` → the `40{"sid":...}` reply (asserted)."""
        await self.send("40" + (json.dumps({"token": token}) if token is not None else ""))
        reply = await self.recv()
        assert reply.startswith("40{"), reply
        return json.loads(reply[2:])

    async def closed(self, timeout: float = TIMEOUT) -> "Closed":
        """Read until the server closes; returns how (fails if a text frame comes first)."""
        try:
            frame = await self.recv(timeout)
        except Closed as closed:
            return closed
        raise AssertionError(f"expected the connection to close, got {frame!r}")

    async def close(self) -> None:
        await self.ws.close()


class Closed(Exception):
    def __init__(self, type, data, extra):
        super().__init__(type, data, extra)
        self.type, self.data, self.extra = type, data, extra

    @property
    def code(self):
        return self.data if self.type is aiohttp.WSMsgType.CLOSE else None


def event_payload(frame: str) -> tuple[str, Any]:
    """`42["name",payload]` → (name, payload)."""
    assert frame.startswith("42["), frame
    data = json.loads(frame[2:])
    return data[0], (data[1] if len(data) > 1 else None)


# --- a minimal WebSocket client on asyncio streams ----------------------------------------


async def open_stream(url: str, *, rcvbuf: int | None = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to `url`'s host, optionally with a tiny receive buffer (set before
    connecting, so that the window stays small): a client that can stop reading."""
    parts = urlsplit(url)
    if rcvbuf is None:
        return await asyncio.open_connection(parts.hostname, parts.port)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, (parts.hostname, parts.port))
    return await asyncio.open_connection(sock=raw)


async def read_until_closed(reader: asyncio.StreamReader) -> int:
    """Read until the server closes or resets the connection; returns how many bytes came."""
    total = 0
    try:
        while chunk := await reader.read(1 << 16):
            total += len(chunk)
    except ConnectionResetError:
        pass
    return total


class MiniWebSocket:
    """The smallest WebSocket client that does the job (RFC 6455 framing by hand): cheap
    enough to open ten thousand connections in a test, and able to stop reading entirely
    (a client that stops reading) because nothing reads behind the test's back."""

    KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # any 16 bytes, base64; the server's accept is not checked
    TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str, *, rcvbuf: int | None = None) -> "MiniWebSocket":
        parts = urlsplit(url)
        reader, writer = await open_stream(url, rcvbuf=rcvbuf)
        writer.write(
            f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {cls.KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, data: str | bytes, opcode: int = TEXT) -> None:
        import struct

        payload = data.encode() if isinstance(data, str) else data
        size = len(payload)
        if size < 126:
            header = bytes([0x80 | opcode, 0x80 | size])
        elif size < 1 << 16:
            header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", size)
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", size)
        self.writer.write(header + b"\x00\x00\x00\x00" + payload)  # mask key 0: payload as is

    async def recv(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame; server frames are never masked."""
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(size)

    async def recv_text(self) -> str:
        """The next text frame, answering server pings on the way."""
        while True:
            opcode, payload = await self.recv()
            if opcode == self.CLOSE:
                raise Closed(aiohttp.WSMsgType.CLOSE, int.from_bytes(payload[:2], "big"), payload[2:])
            text = payload.decode()
            if text == "2":
                self.send("3")
                continue
            return text

    async def close(self) -> None:
        """Close politely: send a close frame, read up to the server's, then hang up."""
        self.send((1000).to_bytes(2, "big"), self.CLOSE)
        while True:
            try:
                opcode, _ = await self.recv()
            except asyncio.IncompleteReadError:
                break
            if opcode == self.CLOSE:
                break
        self.writer.close()
        await self.writer.wait_closed()

    def abort(self) -> None:
        self.writer.transport.abort()


# --- a long-polling session, request by request ----------------------------------------------


class HttpError(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(status, body)
        self.status, self.body = status, body


def split_payload(body: str) -> list[str]:
    return body.split("\x1e")


class Poller:
    """A hand-driven Engine.IO long-polling session over aiohttp's HTTP client: what a plain
    HTTP user sees."""

    def __init__(self, harness: Harness, session: aiohttp.ClientSession, headers: dict | None = None):
        self.harness = harness
        self.session = session
        self.headers = headers or {}
        self.sid: str | None = None
        self.handshake: dict | None = None
        self.pending: list[str] = []  # packets received but not yet read

    @classmethod
    async def open(cls, harness: Harness, session: aiohttp.ClientSession, *, query: str = "",
                   headers: dict | None = None) -> "Poller":
        poller = cls(harness, session, headers)
        url = harness.polling_url("EIO=4&transport=polling" + (f"&{query}" if query else ""))
        async with session.get(url, headers=poller.headers) as resp:
            assert resp.status == 200, (resp.status, await resp.text())
            assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
            packets = split_payload(await resp.text())
        assert packets[0].startswith("0{"), packets
        poller.handshake = json.loads(packets[0][1:])
        poller.sid = poller.handshake["sid"]
        poller.pending.extend(packets[1:])
        return poller

    @property
    def url(self) -> str:
        return self.harness.polling_url(f"EIO=4&transport=polling&sid={self.sid}")

    async def get_raw(self, timeout: float = TIMEOUT) -> tuple[int, str, Any]:
        async with self.session.get(self.url, headers=self.headers, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status, await resp.text(), resp.headers

    async def get(self, timeout: float = TIMEOUT) -> list[str]:
        """One poll: the packets of one GET answer (asserted 200)."""
        status, body, headers = await self.get_raw(timeout)
        if status != 200:
            raise HttpError(status, json.loads(body) if body.startswith("{") else body)
        assert headers["Content-Type"] == "text/plain; charset=UTF-8", headers
        return split_payload(body)

    async def post_raw(self, body: str | bytes, headers: dict | None = None, **kw) -> tuple[int, str]:
        headers = {"Content-Type": "text/plain;charset=UTF-8", **self.headers, **(headers or {})}
        async with self.session.post(self.url, data=body, headers=headers, **kw) as resp:
            return resp.status, await resp.text()

    async def post(self, *packets: str) -> None:
        """POST packets in one body (asserted `200 ok`)."""
        status, text = await self.post_raw("\x1e".join(packets))
        assert (status, text) == (200, "ok"), (status, text)

    async def recv(self, timeout: float = TIMEOUT, *, answer_pings: bool = True) -> str:
        """The next packet, polling as needed; noops are skipped, pings answered unless told otherwise."""
        while True:
            while self.pending:
                packet = self.pending.pop(0)
                if packet == "6":
                    continue
                if packet == "2" and answer_pings:
                    await self.post("3")
                    continue
                return packet
            self.pending.extend(await self.get(timeout))

    async def connect(self, token: str | None) -> dict:
        """POST `40{"token":...}` → the `40{"sid":...}` reply (asserted)."""
        await self.post("40" + (json.dumps({"token": token}) if token is not None else ""))
        reply = await self.recv()
        assert reply.startswith("40{"), reply
        return json.loads(reply[2:])


class PollWatch:
    """Tells a test when the server has taken a request of a polling session in hand, by
    wrapping the gateway's polling entry: `held()` starts a GET and returns its task only
    once the server holds it (or is answering it), `entered()` does the same for any request,
    so that what the test does next reaches the server after it."""

    def __init__(self, gateway):
        self.gateway = gateway
        self._serve = gateway._transports["polling"]
        self._waiting: dict[tuple[str, str], list[asyncio.Future]] = {}
        gateway._transports["polling"] = self._watch

    async def _watch(self, request, cors):
        key = (request.method, request.query.get("sid"))
        for future in self._waiting.pop(key, []):
            if not future.done():
                future.set_result(None)
        return await self._serve(request, cors)

    async def entered(self, poller: Poller, method: str, request) -> asyncio.Task:
        """Start `request` (a coroutine making one `method` request of `poller`'s session)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((method, poller.sid), []).append(future)
        task = asyncio.create_task(request)
        await asyncio.wait_for(future, TIMEOUT)
        return task

    async def held(self, poller: Poller) -> asyncio.Task:
        return await self.entered(poller, "GET", poller.get())
