"""Logout, shutdown, mounting under a prefix, and the 10,000-connection leak test."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time

from aiohttp import WSMsgType

import pytest

from .clients import ConnectRefused
from .harness import TIMEOUT
from .rawws import MiniWebSocket, RawSocket


async def test_logout_disconnects_every_socket_of_that_user(harness, clients):
    user, contact = await harness.register("Leaving"), await harness.register("Staying")
    await harness.make_contacts(user, contact)
    c = await clients.online(contact)
    tab1, tab2 = await clients.online(user), await clients.online(user)
    await harness.logout(user)
    expected = "io server disconnect" if clients.kind == "js" else "server disconnect"
    assert await tab1.wait_disconnect() == expected
    assert await tab2.wait_disconnect() == expected
    assert await c.event("presence:offline") == {"userId": user.id}
    assert await c.call("presence:get") == {"users": [contact.id]}  # the other user is untouched
    await harness.settled()
    assert harness.gateway.stats()["connected"] == 1


async def test_logout_frames(harness, session):
    user = await harness.register()
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.connect(user.token)
    await sock.recv()  # notification:count
    await harness.logout(user)
    assert await sock.recv() == "41"
    closed = await sock.closed()
    assert (closed.type, closed.code) == (WSMsgType.CLOSE, 1000)


async def test_shutdown_closes_every_socket_with_a_close_frame(harness, session, clients):
    user = await harness.register()
    raw = await RawSocket.open(session, harness.ws_url())
    await raw.connect(user.token)
    idle = await RawSocket.open(session, harness.ws_url())  # not even connected to "/"
    official = await clients.online(user)
    started = time.monotonic()
    await harness.server.close()
    assert time.monotonic() - started < 5
    for sock in (raw, idle):
        frames = []
        while True:
            try:
                frames.append(await sock.recv())
            except Exception as exc:
                closed = exc
                break
        assert (closed.type, closed.code) == (WSMsgType.CLOSE, 1001), frames
    # Each client's own word for "the server closed the WebSocket": no `41`, so they reconnect.
    assert await official.wait_disconnect() == {"js": "transport close", "python": "transport error"}[clients.kind]
    assert harness.gateway.stats()["engine_sockets"] == 0


async def test_new_sessions_are_refused_while_shutting_down(harness, session):
    await harness.gateway.close()  # what the app's shutdown does first
    for url in (harness.ws_url(), harness.polling_url()):
        async with session.get(url) as resp:
            assert resp.status == 503
            assert await resp.text() == '{"code":3,"message":"Server shutting down"}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_sigterm_closes_sockets_and_exits_promptly(tmp_path, session):
    port = free_port()
    env = {
        **os.environ,
        "TASKTREK_PORT": str(port),
        "TASKTREK_DATABASE_URL": f"sqlite:///{tmp_path}/sig.db",
        "TASKTREK_JWT_SECRET": "s" * 40,
        "TASKTREK_BCRYPT_ROUNDS": "4",
        "TASKTREK_LOG_LEVEL": "INFO",
    }
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tasktrek", env=env, stderr=asyncio.subprocess.PIPE)
    log: list[bytes] = []

    async def listening() -> None:  # the CLI logs "serving on ..." once the socket listens
        while line := await proc.stderr.readline():
            log.append(line)
            if b"serving on" in line:
                return
        raise AssertionError(b"".join(log).decode())

    async def drain() -> None:
        while line := await proc.stderr.readline():
            log.append(line)

    try:
        base = f"http://127.0.0.1:{port}"
        await asyncio.wait_for(listening(), 30)
        draining = asyncio.create_task(drain())
        async with session.post(base + "/api/users", json={"name": "S", "email": "s@x.io", "password": "correct horse"}) as resp:
            token = (await resp.json())["token"]
        sock = await RawSocket.open(session, f"{base}/socket.io/?EIO=4&transport=websocket")
        await sock.connect(token)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while True:
            try:
                await sock.recv()
            except Exception as exc:
                closed = exc
                break
        assert (closed.type, closed.code) == (WSMsgType.CLOSE, 1001)
        assert await asyncio.wait_for(proc.wait(), 5) == 0, b"".join(log).decode()
        assert time.monotonic() - started < 5
        await draining
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_mounted_under_a_prefix(make_harness, clients):
    harness = await make_harness(prefix="/tasktrek", name="mounted")
    assert harness.socketio_path == "/tasktrek/socket.io"
    owner, assignee = await harness.register(), await harness.register()
    o = await clients.online(owner, harness)
    a = await clients.online(assignee, harness)
    task = await harness.create_task(owner, assignedTo=assignee.id)
    assert (await a.event("task:created"))["taskId"] == task["_id"]
    assert await o.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    refused = await clients.new(harness)
    with pytest.raises(ConnectRefused, match="^invalid token$"):
        await refused.connect("bad")


async def test_ten_thousand_connections_leave_nothing_behind(harness):
    """10,000 connect/disconnect cycles, each a new WebSocket with the handshake, a CONNECT
    with a token (auth, user room, presence online and offline, notification:count), for
    some a task room joined or a `41` first, leave every registry of the gateway empty."""
    gateway = harness.gateway
    workers = 25
    cycles = 10_000
    users = [await harness.register(f"leak{i}") for i in range(workers)]
    tasks = []
    for i, user in enumerate(users):  # neighbours are contacts: presence is announced too
        tasks.append(await harness.make_contacts(user, users[(i + 1) % workers]))
    url = harness.ws_url()
    started = 0

    async def worker(i: int) -> None:
        nonlocal started
        user, task = users[i], tasks[i]
        while started < cycles:
            started += 1
            n = started
            ws = await MiniWebSocket.open(url)
            assert (await ws.recv_text()).startswith("0{")
            ws.send('40{"token":"%s"}' % user.token)
            assert (await ws.recv_text()).startswith('40{"sid"')
            if n % 4 == 0:
                ws.send('421["join:task",{"taskId":"%s"}]' % task["_id"])
                while (frame := await ws.recv_text()) != '431[{"ok":true}]':
                    assert frame.startswith("42"), frame
            if n % 3 == 0:
                ws.send("41")  # a Socket.IO disconnect first, sometimes
            if n % 50 == 0:
                ws.abort()  # and sometimes no closing handshake at all
            else:
                await ws.close()

    await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(workers))), 300)
    assert started == cycles
    # The server finishes each connection right after the client's close frame (or reset).
    await asyncio.wait_for(gateway.until_no_sockets(), TIMEOUT)
    await harness.settled()
    stats = gateway.stats()
    assert stats == {
        "engine_sockets": 0, "polling_sessions": 0, "connected": 0, "rooms": 0, "room_members": 0, "tasks": 0,
        "presence_users": 0, "presence_sockets": 0, "presence_grace_timers": 0, "presence_announced": 0,
    }, stats
    assert gateway.rooms.is_empty() and gateway.presence.is_empty()
