"""A bare WebSocket speaking Engine.IO/Socket.IO frames by hand: aiohttp's client
(`RawSocket`) and an even smaller one on asyncio streams (`MiniWebSocket`)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .harness import TIMEOUT


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


