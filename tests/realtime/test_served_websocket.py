"""A WebSocket served the way the command line serves it (tasktrek.http.server.Runner): once it
is up, the HTTP parser and the upgrade request's headers are let go (docs/performance.md), and
nothing a client or the access log sees changes."""

from __future__ import annotations

import asyncio
import json
import struct
from contextlib import asynccontextmanager
from dataclasses import replace
from ipaddress import ip_network

import aiohttp
from aiohttp import web

from tasktrek import create_app
from tasktrek.http.server import Runner

from .harness import TIMEOUT
from .rawws import MiniWebSocket, RawSocket, event_payload, open_stream


@asynccontextmanager
async def serving(settings):
    runner = Runner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def register(session: aiohttp.ClientSession, url: str, name: str = "ada") -> str:
    body = {"name": name, "email": f"{name}@example.com", "password": "correct horse"}
    async with session.post(url + "/api/users", json=body) as resp:
        assert resp.status == 201
        return (await resp.json())["token"]


def masked_text_frame(text: str) -> bytes:
    """A client's text frame, masked with key 0 (the payload as is)."""
    payload = text.encode()
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack("!H", size)
    return b"\x81" + length + b"\x00\x00\x00\x00" + payload


async def test_a_websocket_keeps_its_session_and_its_access_log_line(settings, logs):
    """The token from the Authorization header, the client's address from X-Forwarded-For (a
    trusted proxy) are the session's; after the headers are let go the socket works as
    before, and the access log line written when it ends still shows the forwarded client,
    the referer (redacted) and the user agent."""
    async with serving(replace(settings, trusted_proxies=(ip_network("127.0.0.0/8"),))) as url, \
            aiohttp.ClientSession() as session:
        token = await register(session, url)
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.7",
                   "User-Agent": "board/1.0", "Referer": f"https://app.example/board?token={token}",
                   "Cookie": "session=" + "c" * 2000, "Accept-Language": "en-GB,en;q=0.9"}
        sock = await RawSocket.open(session, url + "/socket.io/?EIO=4&transport=websocket", headers=headers)
        await sock.send("40")  # no token in the packet: the header's
        assert (await sock.recv()).startswith('40{"sid"')
        assert event_payload(await sock.recv())[0] == "notification:count"
        await sock.send('42["presence:get"]')
        assert event_payload(await sock.recv())[0] == "presence:list"
        await sock.close()
        record = await logs.wait_for(lambda r: r.name == "aiohttp.access" and "/socket.io/" in r.getMessage())
    line = record.getMessage()
    assert line.startswith("203.0.113.7 ") and " 101 " in line
    assert line.endswith('"https://app.example/board?token=[redacted]" "board/1.0"')
    assert token not in line


async def test_frames_sent_with_the_upgrade_request_reach_the_session(settings):
    """A client that sends its first frames in the same write as its upgrade request: they
    reach the WebSocket's own parser, not the HTTP one that is let go."""
    async with serving(settings) as url, aiohttp.ClientSession() as session:
        token = await register(session, url)
        reader, writer = await open_stream(url)
        writer.write(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: tasktrek\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            + masked_text_frame('40{"token":"%s"}' % token) + masked_text_frame('42["presence:get"]')
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        ws = MiniWebSocket(reader, writer)
        assert (await asyncio.wait_for(ws.recv_text(), TIMEOUT)).startswith("0{")
        assert (await asyncio.wait_for(ws.recv_text(), TIMEOUT)).startswith('40{"sid"')
        names = [event_payload(await asyncio.wait_for(ws.recv_text(), TIMEOUT))[0] for _ in range(2)]
        assert sorted(names) == ["notification:count", "presence:list"]
        await ws.close()


async def test_a_declined_upgrade_leaves_the_connection_serving_http(settings):
    """An upgrade request to a route that does not take it is answered like any request, and
    the same connection goes on parsing the next one."""
    async with serving(settings) as url, aiohttp.ClientSession() as session:
        token = await register(session, url)
        reader, writer = await open_stream(url)
        writer.write(
            f"GET /api/users/me HTTP/1.1\r\nHost: tasktrek\r\nAuthorization: Bearer {token}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        for expected in (200, 200):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
            assert head.startswith(b"HTTP/1.1 %d" % expected), head
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            body = json.loads(await reader.readexactly(length))
            assert body.get("email") == "ada@example.com" or body.get("status") == "ok"
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: tasktrek\r\n\r\n")
        writer.close()
