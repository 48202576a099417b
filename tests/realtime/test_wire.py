"""The endpoint as a bare WebSocket user sees it, frame by frame (aiohttp's WebSocket client)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import WSMsgType

from .harness import TIMEOUT
from .rawws import MiniWebSocket, RawSocket, event_payload, open_stream, read_until_closed


async def opened(harness, session, token=None) -> RawSocket:
    sock = await RawSocket.open(session, harness.ws_url())
    if token is not None:
        await sock.connect(token)
        name, payload = event_payload(await sock.recv())
        assert name == "notification:count"
    return sock


# --- handshake ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, body",
    [
        ("EIO=3&transport=websocket", {"code": 5, "message": "Unsupported protocol version"}),
        ("transport=websocket", {"code": 5, "message": "Unsupported protocol version"}),
        ("EIO=4&transport=carrier-pigeon", {"code": 0, "message": "Transport unknown"}),
        ("EIO=4&transport=webtransport", {"code": 0, "message": "Transport unknown"}),
        ("EIO=4&transport=polling&sid=abc", {"code": 1, "message": "Session ID unknown"}),
        ("EIO=4", {"code": 0, "message": "Transport unknown"}),
        ("EIO=4&transport=websocket&sid=abc", {"code": 1, "message": "Session ID unknown"}),
    ],
)
async def test_handshake_errors(harness, session, query, body):
    async with session.get(harness.ws_url(query)) as resp:
        assert resp.status == 400
        assert resp.content_type == "application/json"
        assert await resp.text() == json.dumps(body, separators=(",", ":"))  # compact, as in the contract
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(harness.ws_url(query))
    assert refused.value.status == 400


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize(
    "target",
    ["/socket.io/../api/tasks", "/socket.io/%2e%2e/api/tasks", "/socket.io/x/../../api/users/me",
     "/socket.io/anything/else", "/socket.io/api/tasks?EIO=4&transport=polling"],
)
async def test_other_paths_under_the_endpoint_reach_nothing(harness, method, target):
    """The REST API's token check leaves every path under /socket.io/ to the gateway, which
    authenticates at CONNECT: none of them may reach anything else. (Sent as written: HTTP
    clients would resolve the dots first.)"""
    reader, writer = await open_stream(harness.url)
    head = f"{method} {target} HTTP/1.1\r\nHost: tasktrek\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    writer.write(head.encode())
    head, _, body = (await reader.read()).partition(b"\r\n\r\n")
    writer.close()
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 404 Not Found", (head, body)
    assert json.loads(body) == {"message": "not found"}


async def test_plain_get_without_upgrade_is_bad_request(harness, session):
    async with session.get(harness.ws_url()) as resp:
        assert resp.status == 400
        assert await resp.json() == {"code": 3, "message": "Bad request"}


async def test_open_packet(harness, session):
    sock = await RawSocket.open(session, harness.ws_url())
    handshake = sock.handshake
    sid = handshake.pop("sid")
    assert isinstance(sid, str) and len(sid) >= 16
    assert handshake == {"upgrades": [], "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000}
    other = await RawSocket.open(session, harness.ws_url())
    assert other.handshake["sid"] != sid
    await sock.close()
    await other.close()


async def test_open_packet_follows_settings(make_harness, session):
    harness = await make_harness(ping_interval_seconds=1.5, ping_timeout_seconds=0.75)
    sock = await RawSocket.open(session, harness.ws_url())
    assert (sock.handshake["pingInterval"], sock.handshake["pingTimeout"]) == (1500, 750)
    await sock.close()


# --- connecting -------------------------------------------------------------------------------


async def test_connect_frames(harness, session):
    alice = await harness.register()
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.send('40{"token":"%s"}' % alice.token)
    reply = await sock.recv()
    assert reply.startswith('40{"sid":"')
    sid = json.loads(reply[2:])["sid"]
    assert sid and sid != sock.handshake["sid"]
    assert await sock.recv() == '42["notification:count",{"unread":0}]'
    await sock.close()


@pytest.mark.parametrize(
    "frame, reply",
    [
        ("40", '44{"message":"no token provided"}'),
        ("40{}", '44{"message":"no token provided"}'),
        ('40{"token":""}', '44{"message":"no token provided"}'),
        ('40{"token":"abc"}', '44{"message":"invalid token"}'),
        ('40{"token":42}', '44{"message":"invalid token"}'),
    ],
)
async def test_connect_refused_then_closed(harness, session, frame, reply):
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.send(frame)
    assert await sock.recv() == reply
    closed = await sock.closed()
    assert closed.type is WSMsgType.CLOSE and closed.code == 1000


async def test_token_from_header_and_query(harness, session):
    alice = await harness.register()
    by_header = await RawSocket.open(session, harness.ws_url(), headers=alice.auth)
    assert "sid" in await by_header.connect(None)
    by_query = await RawSocket.open(session, harness.ws_url(f"EIO=4&transport=websocket&token={alice.token}"))
    assert "sid" in await by_query.connect(None)
    await by_header.close()
    await by_query.close()


async def test_other_namespaces_are_refused_and_slash_still_works(harness, session):
    alice = await harness.register()
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.send('40/admin,{"token":"%s"}' % alice.token)
    assert await sock.recv() == '44/admin,{"message":"Invalid namespace"}'
    await sock.send("40/chat")
    assert await sock.recv() == '44/chat,{"message":"Invalid namespace"}'
    assert "sid" in await sock.connect(alice.token)  # the connection is still usable
    await sock.close()


async def test_connect_timeout(make_harness, session):
    harness = await make_harness(options={"connect_timeout": 0.2})
    loop = asyncio.get_running_loop()
    sock = await RawSocket.open(session, harness.ws_url())
    started = loop.time()
    closed = await sock.closed()
    assert closed.type is WSMsgType.CLOSE
    assert loop.time() - started >= 0.2
    await asyncio.wait_for(harness.gateway.until_no_sockets(), TIMEOUT)


async def test_default_connect_timeout_is_45_seconds(harness):
    assert harness.gateway.options.connect_timeout == 45


async def test_disconnect_packet_then_reconnect_on_the_same_connection(make_harness, session):
    harness = await make_harness(options={"connect_timeout": 0.3})
    alice = await harness.register()
    sock = await opened(harness, session, alice.token)
    await sock.send("41")
    await sock.send('42["presence:get"]')  # not connected any more: a protocol error
    closed = await sock.closed()
    assert closed.type is WSMsgType.CLOSE
    sock = await opened(harness, session, alice.token)
    await sock.send("41")
    first = await sock.connect(alice.token)  # connect again over the same Engine.IO socket
    assert "sid" in first
    await sock.close()


# --- events and acks --------------------------------------------------------------------------


async def test_events_and_acks_by_hand(harness, session):
    alice = await harness.register()
    task = await harness.create_task(alice, title="by hand")
    sock = await opened(harness, session, alice.token)
    await sock.send('42["presence:get"]')
    assert await sock.recv() == '42["presence:list",{"users":["%s"]}]' % alice.id
    await sock.send('427["join:task",{"taskId":"%s"}]' % task["_id"])
    assert await sock.recv() == '437[{"ok":true}]'
    await sock.send('428["join:task",{"taskId":"nope"}]')
    assert await sock.recv() == '438[{"ok":false,"message":"task not found or not yours"}]'
    await sock.send('429["join:task"]')
    assert await sock.recv() == '439[{"ok":false,"message":"taskId is required"}]'
    await sock.send('4210["leave:task",{"taskId":"%s"}]' % task["_id"])
    assert await sock.recv() == '4310[{"ok":true}]'
    await sock.send('4211["no:such:event",1,2]')
    assert await sock.recv() == '4311[{"ok":false,"message":"unknown event"}]'
    await sock.send('42["no:such:event"]')  # no ack asked: silently ignored
    await sock.send('4212["presence:get",{"userIds":"x"}]')
    assert await sock.recv() == '4312[{"ok":false,"message":"userIds must be a list of user ids"}]'
    await sock.send('4213["presence:get",{"userIds":["%s","someone"]}]' % alice.id)
    assert await sock.recv() == '42["presence:list",{"users":["%s"]}]' % alice.id
    assert await sock.recv() == '4313[{"users":["%s"]}]' % alice.id
    await sock.close()


async def test_client_pings_are_answered(harness, session):
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.send("2probe")
    assert await sock.recv() == "3probe"
    await sock.send("6")  # noop
    await sock.send("2")
    assert await sock.recv() == "3"
    await sock.close()


async def test_caps_on_task_rooms_and_presence_queries(make_harness, session):
    harness = await make_harness(options={"max_task_rooms": 2, "max_presence_query": 3})
    alice = await harness.register()
    tasks = [(await harness.create_task(alice))["_id"] for _ in range(3)]
    sock = await opened(harness, session, alice.token)

    async def call(n: int, event: str, payload) -> list:
        await sock.send(f"42{n}" + json.dumps([event, payload]))
        while not (frame := await sock.recv()).startswith(f"43{n}"):
            assert frame.startswith("42"), frame
        return json.loads(frame[2 + len(str(n)):])

    assert await call(1, "join:task", {"taskId": tasks[0]}) == [{"ok": True}]
    assert await call(2, "join:task", {"taskId": tasks[1]}) == [{"ok": True}]
    assert await call(3, "join:task", {"taskId": tasks[2]}) == [{"ok": False, "message": "too many rooms"}]
    assert await call(4, "join:task", {"taskId": tasks[1]}) == [{"ok": True}]  # one it is in already
    assert await call(5, "leave:task", {"taskId": tasks[0]}) == [{"ok": True}]
    assert await call(6, "join:task", {"taskId": tasks[2]}) == [{"ok": True}]
    assert await call(7, "presence:get", {"userIds": [alice.id, "b", "c"]}) == [{"users": [alice.id]}]
    too_many = [{"ok": False, "message": "too many userIds"}]
    assert await call(8, "presence:get", {"userIds": [alice.id, "b", "c", "d"]}) == too_many
    await sock.close()


async def test_defaults_of_the_caps(harness):
    assert (harness.gateway.options.max_task_rooms, harness.gateway.options.max_presence_query) == (1000, 1000)


# --- heartbeat -------------------------------------------------------------------------------


async def test_server_pings_and_a_ponging_client_stays(make_harness, session):
    harness = await make_harness(ping_interval_seconds=0.05, ping_timeout_seconds=0.5)
    alice = await harness.register()
    sock = await opened(harness, session, alice.token)
    for _ in range(5):
        assert await sock.recv(answer_pings=False) == "2"
        await sock.send("3")
    await sock.send('42["presence:get"]')
    assert event_payload(await sock.recv())[0] == "presence:list"
    assert harness.gateway.stats()["connected"] == 1
    await sock.close()


async def test_silent_client_is_dropped_and_counts_as_disconnect(make_harness, session):
    harness = await make_harness(ping_interval_seconds=0.1, ping_timeout_seconds=0.5)
    alice, bob = await harness.register(), await harness.register()
    await harness.make_contacts(alice, bob)
    watcher = await opened(harness, session, alice.token)
    await harness.settled()  # alice's own arrival is announced before bob is there to hear it
    silent = await opened(harness, session, bob.token)
    assert event_payload(await watcher.recv())[0] == "presence:online"
    next_for_watcher = asyncio.create_task(watcher.recv())  # it answers pings meanwhile
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await silent.recv(answer_pings=False) == "2"  # and never answer
    closed = await silent.closed()
    assert closed.type is WSMsgType.CLOSED  # dropped: no close frame to a client that is gone
    assert loop.time() - started >= 0.5
    name, payload = event_payload(await next_for_watcher)
    assert (name, payload) == ("presence:offline", {"userId": bob.id})
    await harness.settled()
    assert harness.gateway.stats()["connected"] == 1
    await watcher.close()


# --- limits and garbage ----------------------------------------------------------------------


async def test_frame_over_max_payload_closes_the_connection(make_harness, session):
    harness = await make_harness(options={"max_payload": 1000})
    alice = await harness.register()
    sock = await opened(harness, session, alice.token)
    await sock.send('42["presence:get",{"userIds":["' + "x" * 1000 + '"]}]')
    closed = await sock.closed()
    assert (closed.type, closed.code) == (WSMsgType.CLOSE, 1009)
    binary = await opened(harness, session, alice.token)
    await binary.send(b"\x00" * 1001)
    closed = await binary.closed()
    assert (closed.type, closed.code) == (WSMsgType.CLOSE, 1009)


GARBAGE = [
    "",
    "4",
    "9",
    "x",
    "42",
    "42[",
    '42["join:task"',
    "42{}",
    '42"join:task"',
    "42[]",
    "42[1,2]",
    '42["' + "e" * 200 + '"]',
    '42["e",' + "[" * 100 + "]" * 100 + "]",
    '42["e",' + "[" * 50_000 + "]",
    '42["e",NaN]',
    "45",
    "44{}",
    "47",
    "4-1",
    "4" + "9" * 30 + '["e"]',
    '451-["e",{"_placeholder":true,"num":0}]',
    '461-0[{"_placeholder":true,"num":0}]',
    "43",
    "0",
    '0{"sid":"x"}',
    "5",
    "1",
    '42/admin,["e"]',
    "٤٢",
    b"\x00\x01\x02",
    b'42["presence:get"]',
    bytes([0xFF, 0xFE]),
    "4" + "x" * 1_000_001,
    b"\x00" * 1_000_001,
]


async def test_garbage_never_hurts_anyone_else(harness, session):
    alice = await harness.register()
    task = await harness.create_task(alice, title="watched")
    bystander = await opened(harness, session, alice.token)
    await bystander.send('421["join:task",{"taskId":"%s"}]' % task["_id"])
    assert await bystander.recv() == '431[{"ok":true}]'

    outcomes = []
    for frame in GARBAGE + ["invalid utf-8"]:
        sock = await opened(harness, session, alice.token)
        if frame == "invalid utf-8":
            await sock.ws.send_frame(b"4\xff\xfe", WSMsgType.TEXT)
        else:
            await sock.send(frame)
        # Either the socket is closed, or it still answers: never anything else.
        await sock.send('42["presence:get"]')
        try:
            reply = await sock.recv()
            assert event_payload(reply)[0] == "presence:list", (frame, reply)
            outcomes.append("served")
            await sock.close()
        except Exception as exc:
            assert type(exc).__name__ == "Closed", (frame, exc)
            outcomes.append("closed")
        # After each piece of garbage, the bystander is served as before.
        await bystander.send('42["presence:get"]')
        assert event_payload(await bystander.recv())[0] == "presence:list"
    assert "closed" in outcomes

    await harness.update_task(alice, task["_id"], title="still here")
    name, payload = event_payload(await bystander.recv())
    assert name == "task:updated" and payload["title"] == "still here"
    fresh = await opened(harness, session, alice.token)
    await fresh.send('42["presence:get"]')
    assert event_payload(await fresh.recv()) == ("presence:list", {"users": [alice.id]})
    await fresh.close()
    await bystander.close()
    await harness.settled()
    stats = harness.gateway.stats()
    assert stats["engine_sockets"] == 0 and stats["rooms"] == 0, stats


# --- a client that stops reading --------------------------------------------------------------


async def test_client_that_stops_reading_is_dropped_without_delaying_others(make_harness, session):
    harness = await make_harness(options={"max_queue_packets": 32})
    alice = await harness.register()
    gateway = harness.gateway
    room = f"user:{alice.id}"

    # The slow client: a real connection with a tiny receive buffer that, once connected,
    # never reads again.
    slow = await MiniWebSocket.open(harness.ws_url(), rcvbuf=4096)
    slow_sid = json.loads((await slow.recv_text())[1:])["sid"]
    slow.send('40{"token":"%s"}' % alice.token)
    await slow.writer.drain()
    assert (await slow.recv_text()).startswith('40{"sid"')
    slow_engine = next(c.engine for c in gateway.rooms.members(room) if c.engine.sid == slow_sid)

    fast = await opened(harness, session, alice.token)
    loop = asyncio.get_running_loop()
    big = "x" * 64 * 1024
    sent = 0
    started = loop.time()
    while slow_engine.is_open:
        assert gateway.emit("bulk", {"n": sent, "pad": big}, rooms=[room]) >= 1
        name, payload = event_payload(await fast.recv())
        assert (name, payload["n"]) == ("bulk", sent)
        sent += 1
        assert sent < 2000, "the slow client was never dropped"
    assert slow_engine.close_reason == "send queue overflow", sent
    assert loop.time() - started < TIMEOUT
    # The fast client is unaffected and still served; the slow one is gone from every room.
    assert gateway.emit("bulk", {"n": sent, "pad": ""}, rooms=[room]) == 1
    assert event_payload(await fast.recv())[1]["n"] == sent
    assert len(gateway.rooms.members(room)) == 1
    slow.abort()
    await fast.close()


@pytest.mark.parametrize("ending", ["ping timeout", "logout"])
async def test_a_client_that_stops_reading_is_dropped_when_its_session_ends(make_harness, session, ending):
    """A client that stops reading with a backlog well under the queue limits: once the server
    waits on it, its session still ends on time — dropped after pingTimeout when it misses a
    pong (nothing flushed to it), within close_timeout of a polite close (logout) — and the
    gateway keeps it, for shutdown, until its connection is gone."""
    pings = {"ping timeout": 0.5, "logout": 60}[ending]
    harness = await make_harness(ping_interval_seconds=0.5, ping_timeout_seconds=pings, options={"close_timeout": 0.5})
    alice = await harness.register()
    gateway = harness.gateway
    slow = await MiniWebSocket.open(harness.ws_url(), rcvbuf=4096)
    sid = json.loads((await slow.recv_text())[1:])["sid"]
    slow.send('40{"token":"%s"}' % alice.token)
    assert (await slow.recv_text()).startswith('40{"sid"')  # and it never reads again
    engine = harness.engine(sid)
    fast = await opened(harness, session, alice.token)
    # Fill the kernel buffers in between until the server's writer waits for the slow
    # client: its queue then grows by a frame per event (each event a round trip for the
    # fast client, so the writer gets its turn). A few frames: far below the limits.
    pad = "x" * 64 * 1024
    n = 0
    while engine.queued_frames < 3:
        assert gateway.emit("bulk", {"n": n, "pad": pad}, rooms=[f"user:{alice.id}"]) == 2
        assert event_payload(await fast.recv())[1]["n"] == n
        n += 1
    assert engine.is_open  # stuck before its session ended: what this test is about
    if ending == "logout":
        await harness.logout(alice)  # 41, then a polite close for both sockets
        assert not engine.is_open and harness.engine(sid) is engine  # closing, still reachable
    await asyncio.wait_for(engine.wait_finished(), TIMEOUT)
    assert engine.close_reason == {"ping timeout": "ping timeout", "logout": "server close"}[ending]
    assert harness.engine(sid) is None
    # The connection is gone, not left with megabytes to send: what the slow client has
    # not read yet is far less than what was sent to it.
    assert await asyncio.wait_for(read_until_closed(slow.reader), TIMEOUT) < n * len(pad) // 2
    slow.abort()
