"""The long-polling transport as a plain HTTP client sees it, request by request, and the
upgrade to WebSocket frame by frame (aiohttp's HTTP and WebSocket clients)."""

from __future__ import annotations

import asyncio
import gzip
import json

import aiohttp
import pytest
from aiohttp import WSMsgType

from .harness import TIMEOUT
from .rawpolling import HttpError, Poller, PollWatch
from .rawws import RawSocket, event_payload, open_stream, read_until_closed

BAD_REQUEST = {"code": 3, "message": "Bad request"}
UNKNOWN_SID = {"code": 1, "message": "Session ID unknown"}
FORBIDDEN = {"code": 4, "message": "Forbidden"}


async def connected(harness, session, user, **kw) -> Poller:
    """A polling session connected to "/" as `user`, past its notification:count."""
    poller = await Poller.open(harness, session, **kw)
    await poller.connect(user.token)
    assert event_payload(await poller.recv())[0] == "notification:count"
    return poller


async def assert_gone(poller: Poller) -> None:
    with pytest.raises(HttpError) as gone:
        await poller.get()
    assert (gone.value.status, gone.value.body) == (400, UNKNOWN_SID)


async def assert_closed(poller: Poller) -> None:
    """The session's next poll carries the close packet (after anything still queued), then it is gone."""
    packets = []
    while "1" not in packets:
        packets += await poller.get()
    assert packets[-1] == "1", packets
    await assert_gone(poller)


async def assert_served(poller: Poller, user) -> None:
    await poller.post('42["presence:get"]')
    name, payload = event_payload(await poller.recv())
    assert name == "presence:list" and user.id in payload["users"]


# --- handshake and a session, request by request ------------------------------------------------


async def test_handshake(harness, session):
    async with session.get(harness.polling_url()) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
        assert resp.headers["Cache-Control"] == "no-store"
        body = await resp.text()
    assert body.startswith("0{") and "\x1e" not in body
    handshake = json.loads(body[1:])
    sid = handshake.pop("sid")
    assert isinstance(sid, str) and len(sid) >= 16
    assert handshake == {"upgrades": ["websocket"], "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000}
    assert harness.gateway.stats()["polling_sessions"] == 1
    other = await Poller.open(harness, session)
    assert other.sid != sid


@pytest.mark.parametrize(
    "method, query, status, body",
    [
        ("POST", "EIO=4&transport=polling", 400, {"code": 2, "message": "Bad handshake method"}),
        ("PUT", "EIO=4&transport=polling", 400, {"code": 2, "message": "Bad handshake method"}),
        ("GET", "EIO=3&transport=polling", 400, {"code": 5, "message": "Unsupported protocol version"}),
        ("GET", "EIO=4&transport=xhr-polling", 400, {"code": 0, "message": "Transport unknown"}),
        ("GET", "EIO=4&transport=polling&sid=nope", 400, UNKNOWN_SID),
        ("POST", "EIO=4&transport=polling&sid=nope", 400, UNKNOWN_SID),
    ],
)
async def test_request_errors(harness, session, method, query, status, body):
    async with session.request(method, harness.polling_url(query), data="40") as resp:
        assert resp.status == status
        assert resp.content_type == "application/json"
        assert await resp.json() == body
    assert harness.gateway.stats()["polling_sessions"] == 0


async def test_a_session_request_by_request(harness, session):
    alice = await harness.register()
    task = await harness.create_task(alice, title="polled")
    watch = PollWatch(harness.gateway)
    poller = await Poller.open(harness, session)
    await poller.post('40{"token":"%s"}' % alice.token)
    reply = await poller.recv()
    assert reply.startswith('40{"sid":"') and json.loads(reply[2:])["sid"] != poller.sid
    assert await poller.recv() == '42["notification:count",{"unread":0}]'

    # Several packets in one body, separated by \x1e; the answers come in order.
    await poller.post('421["join:task",{"taskId":"%s"}]' % task["_id"], '42["presence:get"]', '422["no:such:event"]')
    assert [await poller.recv() for _ in range(3)] == [
        '431[{"ok":true}]',
        '42["presence:list",{"users":["%s"]}]' % alice.id,
        '432[{"ok":false,"message":"unknown event"}]',
    ]
    # A held GET is answered as soon as there is something to send.
    held = await watch.held(poller)
    assert not held.done()
    updated = await harness.update_task(alice, task["_id"], title="renamed")
    packets = await held
    assert len(packets) == 1
    name, payload = event_payload(packets[0])
    assert (name, payload["title"], payload["taskId"]) == ("task:updated", "renamed", task["_id"])
    assert payload == {**updated, "taskId": task["_id"], "actor": alice.id}
    # A client ping is answered.
    await poller.post("2")
    assert await poller.get() == ["3"]
    # 41 leaves "/" (rooms go); 1 closes the session and ends the pending poll with a noop.
    await poller.post("41")
    held = await watch.held(poller)
    await poller.post("1")
    assert await held == ["6"]
    await assert_gone(poller)
    await harness.settled()
    stats = harness.gateway.stats()
    assert (stats["polling_sessions"], stats["engine_sockets"], stats["rooms"]) == (0, 0, 0), stats


async def test_token_from_handshake_header_or_query(harness, session):
    alice = await harness.register()
    by_header = await Poller.open(harness, session, headers=alice.auth)
    assert "sid" in await by_header.connect(None)
    by_query = await Poller.open(harness, session, query=f"token={alice.token}")
    assert "sid" in await by_query.connect(None)
    refused = await Poller.open(harness, session)
    await refused.post("40")
    assert await refused.recv() == '44{"message":"no token provided"}'
    await assert_closed(refused)


async def test_a_poll_is_held_until_a_ping_is_due_and_pongs_keep_the_session(make_harness, session):
    harness = await make_harness(ping_interval_seconds=0.3, ping_timeout_seconds=5)
    alice = await harness.register()
    poller = await connected(harness, session, alice)
    loop = asyncio.get_running_loop()
    assert await poller.get() == ["2"]  # held until the first ping
    for _ in range(3):
        started = loop.time()
        await poller.post("3")  # the next ping is due pingInterval after this pong
        assert await poller.get() == ["2"]
        assert loop.time() - started >= 0.3
    await poller.post("3")
    await assert_served(poller, alice)


async def test_a_client_that_stops_polling_is_reaped_and_goes_offline(make_harness, session):
    harness = await make_harness(ping_interval_seconds=0.2, ping_timeout_seconds=0.3)
    alice, bob = await harness.register(), await harness.register()
    await harness.make_contacts(alice, bob)
    watcher = await RawSocket.open(session, harness.ws_url())  # answers pings while it reads
    await watcher.connect(alice.token)
    assert event_payload(await watcher.recv())[0] == "notification:count"
    await harness.settled()  # alice's own arrival is announced before bob is there to hear it
    quitter = await connected(harness, session, bob)
    loop = asyncio.get_running_loop()
    stopped = loop.time()  # bob's last poll just ended; he never polls again
    assert event_payload(await watcher.recv()) == ("presence:online", {"userId": bob.id})
    assert event_payload(await watcher.recv()) == ("presence:offline", {"userId": bob.id})
    assert loop.time() - stopped <= 0.2 + 0.3 + 0.3  # within pingInterval + pingTimeout (and a margin)
    await harness.settled()
    assert harness.gateway.stats()["connected"] == 1
    await assert_gone(quitter)  # dropped, nothing flushed: a late poll finds no session
    assert harness.gateway.stats()["polling_sessions"] == 0
    await watcher.close()


async def test_a_poll_answer_the_client_does_not_read_goes_with_its_session(make_harness, session):
    """A client that stops reading in the middle of a poll answer (a backlog well under the
    queue limits) misses its next pong: the session is dropped, and the answer still being
    written with it — its connection is reset, not left with megabytes to send."""
    harness = await make_harness(ping_interval_seconds=0.3, ping_timeout_seconds=0.3)
    alice = await harness.register()
    poller = await connected(harness, session, alice)
    engine = harness.engine(poller.sid)
    pad = "x" * 64 * 1024
    for n in range(48):  # 3 MiB waiting for the next poll
        assert harness.gateway.emit("bulk", {"n": n, "pad": pad}, rooms=[f"user:{alice.id}"]) == 1
    reader, writer = await open_stream(poller.url, rcvbuf=4096)
    target = poller.url.removeprefix(harness.url)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: tasktrek\r\n\r\n".encode())  # and never read
    await asyncio.wait_for(engine.wait_finished(), TIMEOUT)
    assert engine.close_reason == "ping timeout"
    assert await asyncio.wait_for(read_until_closed(reader), TIMEOUT) < 48 * len(pad) // 2
    writer.close()
    await assert_gone(poller)


# --- errors, limits and garbage ----------------------------------------------------------------

MALFORMED_BODIES = [
    "",
    "\x1e",
    "4a\x1e",
    "\x1e42[]",
    "9",
    "x",
    "42\x1e\x1e42",
    "bnot base64!",
    "٤٢",
    b"\xff\xfe",
    b"4\xc3",
]


async def test_malformed_bodies_close_that_session_only(harness, session):
    alice = await harness.register()
    bystander = await connected(harness, session, alice)
    for body in MALFORMED_BODIES:
        poller = await connected(harness, session, alice)
        status, text = await poller.post_raw(body)
        assert (status, json.loads(text)) == (400, BAD_REQUEST), body
        await assert_closed(poller)
        await assert_served(bystander, alice)
    # Engine.IO v3's binary bodies are not v4's.
    poller = await connected(harness, session, alice)
    status, text = await poller.post_raw(b"\x04abc", headers={"Content-Type": "application/octet-stream"})
    assert (status, json.loads(text)) == (400, BAD_REQUEST)
    await assert_closed(poller)
    # Socket.IO garbage inside a good payload closes the session too, as over WebSocket.
    poller = await connected(harness, session, alice)
    await poller.post('42["presence:get"', '42["presence:get"]')
    await assert_closed(poller)
    await assert_served(bystander, alice)
    await harness.settled()
    assert harness.gateway.stats()["polling_sessions"] == 1


async def test_oversize_bodies_are_refused_with_413(make_harness, session):
    harness = await make_harness(options={"max_payload": 1000})
    alice = await harness.register()
    bystander = await connected(harness, session, alice)
    poller = await connected(harness, session, alice)
    assert poller.handshake["maxPayload"] == 1000
    await poller.post('42["presence:get",{"userIds":["' + "x" * 900 + '"]}]')  # 922 bytes: fine
    assert event_payload(await poller.recv())[0] == "presence:list"
    status, text = await poller.post_raw("4" + "x" * 1000)  # 1001 bytes, Content-Length given
    assert (status, json.loads(text)) == (413, BAD_REQUEST)
    await assert_closed(poller)

    async def chunks():  # no Content-Length: chunked, cut off while reading
        for _ in range(20):
            yield b"4" + b"x" * 99

    poller = await connected(harness, session, alice)
    status, text = await poller.post_raw(chunks())
    assert status == 413
    await assert_closed(poller)
    poller = await connected(harness, session, alice)  # bytes, not characters, count
    status, _ = await poller.post_raw("4" + "é" * 500)
    assert status == 413
    await assert_closed(poller)
    await assert_served(bystander, alice)


async def test_a_second_concurrent_get_closes_the_session(harness, session):
    alice = await harness.register()
    watch = PollWatch(harness.gateway)
    bystander = await connected(harness, session, alice)
    poller = await connected(harness, session, alice)
    first = await watch.held(poller)
    with pytest.raises(HttpError) as second:
        await poller.get()
    assert (second.value.status, second.value.body) == (400, BAD_REQUEST)
    assert await first == ["1"]  # the held poll ends with the close packet
    await assert_gone(poller)
    await assert_served(bystander, alice)
    await harness.settled()
    assert harness.gateway.stats()["connected"] == 1


async def test_a_second_concurrent_post_closes_the_session(harness, session):
    alice = await harness.register()
    watch = PollWatch(harness.gateway)
    bystander = await connected(harness, session, alice)
    poller = await connected(harness, session, alice)
    finish = asyncio.Event()

    async def slow_body():  # a POST whose body is still arriving
        yield b'42["presence:get"]'
        await finish.wait()

    first = await watch.entered(poller, "POST", poller.post_raw(slow_body()))
    held = await watch.held(poller)
    status, text = await poller.post_raw('42["presence:get"]')
    assert (status, json.loads(text)) == (400, BAD_REQUEST)
    assert await held == ["1"]
    with pytest.raises(aiohttp.ClientError):  # the session is gone: its body is read no further
        await first
    finish.set()
    await assert_gone(poller)
    await assert_served(bystander, alice)


async def test_a_post_still_arriving_when_its_session_expires_is_cut_off(make_harness, session):
    harness = await make_harness(options={"ping_interval": 0.2, "ping_timeout": 0.2})
    watch = PollWatch(harness.gateway)
    poller = await Poller.open(harness, session)
    engine = harness.engine(poller.sid)
    never = asyncio.Event()

    async def trickle():
        yield b"4"
        await never.wait()

    post = await watch.entered(poller, "POST", poller.post_raw(trickle()))
    await engine.wait_finished()  # no GET for pingInterval + pingTimeout
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(post, TIMEOUT)


async def test_a_post_body_must_arrive_within_the_body_deadline(make_harness, session):
    harness = await make_harness(options={"body_timeout": 0.2})
    poller = await Poller.open(harness, session)
    never = asyncio.Event()

    async def trickle():
        yield b"4"
        await never.wait()

    status, text = await asyncio.wait_for(poller.post_raw(trickle()), TIMEOUT)
    assert (status, json.loads(text)) == (400, BAD_REQUEST)
    await assert_closed(poller)


@pytest.mark.parametrize("encoding, body", [("deflate", b"x"), ("gzip", b"\x1f\x8b garbage"), ("br", b"\x0b\x01\x80")])
async def test_a_badly_encoded_post_is_an_engineio_400(harness, session, encoding, body):
    poller = await Poller.open(harness, session)
    status, text = await poller.post_raw(body, headers={"Content-Encoding": encoding})
    assert (status, json.loads(text)) == (400, BAD_REQUEST)
    await assert_closed(poller)


async def test_a_gzipped_post_is_read(harness, session):
    poller = await Poller.open(harness, session)
    status, text = await poller.post_raw(gzip.compress(b"3"), headers={"Content-Encoding": "gzip"})
    assert (status, text) == (200, "ok")


async def test_shutdown_ends_held_polls_with_the_close_packet(harness, session):
    alice = await harness.register()
    watch = PollWatch(harness.gateway)
    poller = await connected(harness, session, alice)
    idle = await Poller.open(harness, session)  # not even connected to "/"
    polls = [await watch.held(poller), await watch.held(idle)]
    await harness.server.close()
    assert [await poll for poll in polls] == [["1"], ["1"]]
    assert harness.gateway.stats()["polling_sessions"] == 0


async def test_logout_sends_41_before_the_close_packet(harness, session):
    """socket.io-client acts on a close packet at once and on messages a tick later, so the
    `41` comes in one answer and the `1` in the next."""
    alice = await harness.register()
    watch = PollWatch(harness.gateway)
    poller = await connected(harness, session, alice)
    held = await watch.held(poller)
    await harness.logout(alice)
    assert await held == ["41"]
    assert await poller.get() == ["1"]
    await assert_gone(poller)


# --- the upgrade to WebSocket ---------------------------------------------------------------------


def bulk(gateway, user, start: int, count: int) -> int:
    for n in range(start, start + count):
        assert gateway.emit("bulk", {"n": n}, rooms=[f"user:{user.id}"]) == 1
    return start + count


def bulk_numbers(frames: list[str]) -> list[int]:
    return [event_payload(f)[1]["n"] for f in frames if f not in ("6",)]


async def test_upgrade_frame_by_frame_delivers_every_packet_once(harness, session):
    alice = await harness.register()
    gateway = harness.gateway
    watch = PollWatch(gateway)
    poller = await connected(harness, session, alice)
    engine = harness.engine(poller.sid)
    delivered: list[str] = []

    n = bulk(gateway, alice, 0, 10)  # before the upgrade: over polling
    delivered += await poller.get()
    held = await watch.held(poller)  # the client's pending poll during the probe
    ws = await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={poller.sid}"))
    await ws.send_str("2probe")
    assert await ws.receive_str(timeout=TIMEOUT) == "3probe"
    assert await held == ["6"]  # flushed with a noop so that the client can pause polling
    n = bulk(gateway, alice, n, 10)  # while the client pauses: queued
    delivered += await poller.get()  # a poll during the upgrade is answered at once
    assert await poller.get() == ["6"]
    n = bulk(gateway, alice, n, 10)  # queued, then flushed over the WebSocket after 5
    assert engine.transport_name == "polling"
    await ws.send_str("5")
    n = bulk(gateway, alice, n, 10)
    while len(bulk_numbers(delivered)) < n:
        delivered.append(await ws.receive_str(timeout=TIMEOUT))
    assert bulk_numbers(delivered) == list(range(40))
    assert (engine.transport_name, harness.engine(poller.sid)) == ("websocket", engine)

    # From now on, the WebSocket only: polls and posts are refused, and so is another upgrade.
    with pytest.raises(HttpError) as refused:
        await poller.get()
    assert (refused.value.status, refused.value.body) == (400, BAD_REQUEST)
    status, text = await poller.post_raw('42["presence:get"]')
    assert (status, json.loads(text)) == (400, BAD_REQUEST)
    with pytest.raises(aiohttp.WSServerHandshakeError) as again:
        await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={poller.sid}"))
    assert again.value.status == 400
    await ws.send_str('42["presence:get"]')
    assert event_payload(await ws.receive_str(timeout=TIMEOUT)) == ("presence:list", {"users": [alice.id]})
    await harness.logout(alice)  # and it closes like a WebSocket session
    assert await ws.receive_str(timeout=TIMEOUT) == "41"
    closed = await ws.receive(timeout=TIMEOUT)
    assert (closed.type, closed.data) == (WSMsgType.CLOSE, 1000)
    await asyncio.wait_for(gateway.until_no_sockets(), TIMEOUT)
    assert gateway.stats()["polling_sessions"] == 0


async def test_pings_continue_across_the_upgrade(make_harness, session):
    harness = await make_harness(ping_interval_seconds=0.1, ping_timeout_seconds=0.5)
    alice = await harness.register()
    poller = await connected(harness, session, alice)
    while (await poller.recv(answer_pings=False)) != "2":
        pass
    ws = await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={poller.sid}"))
    await ws.send_str("2probe")
    assert await ws.receive_str(timeout=TIMEOUT) == "3probe"
    await ws.send_str("5")
    await ws.send_str("3")  # the pong of the ping received over polling
    for _ in range(3):
        assert await ws.receive_str(timeout=TIMEOUT) == "2"
        await ws.send_str("3")
    await ws.send_str('42["presence:get"]')
    assert event_payload(await ws.receive_str(timeout=TIMEOUT))[0] == "presence:list"
    await ws.close()
    await asyncio.wait_for(harness.gateway.until_no_sockets(), TIMEOUT)


@pytest.mark.parametrize("first", ["2", "5", "2probe\x1e5", '42["presence:get"]', b"2probe"])
async def test_a_failed_upgrade_leaves_the_session_on_polling(harness, session, first):
    alice = await harness.register()
    poller = await connected(harness, session, alice)
    ws = await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={poller.sid}"))
    if isinstance(first, bytes):
        await ws.send_bytes(first)
    else:
        await ws.send_str(first)
    closed = await ws.receive(timeout=TIMEOUT)
    assert closed.type is WSMsgType.CLOSE
    await assert_served(poller, alice)
    assert harness.engine(poller.sid).transport_name == "polling"


async def test_an_upgrade_that_stalls_times_out(make_harness, session):
    harness = await make_harness(options={"upgrade_timeout": 0.2})
    alice = await harness.register()
    poller = await connected(harness, session, alice)
    ws = await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={poller.sid}"))
    await ws.send_str("2probe")
    assert await ws.receive_str(timeout=TIMEOUT) == "3probe"
    closed = await ws.receive(timeout=TIMEOUT)  # no 5 within upgrade_timeout
    assert closed.type is WSMsgType.CLOSE
    await assert_served(poller, alice)
    # and the session may try again
    ws = await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={poller.sid}"))
    await ws.send_str("2probe")
    assert await ws.receive_str(timeout=TIMEOUT) == "3probe"
    await ws.send_str("5")
    await ws.send_str('42["presence:get"]')
    assert event_payload(await ws.receive_str(timeout=TIMEOUT))[0] == "presence:list"
    await ws.close()


async def test_upgrade_of_an_unknown_or_websocket_session(harness, session):
    websocket_only = await RawSocket.open(session, harness.ws_url())
    for query in ("sid=nope", f"sid={websocket_only.handshake['sid']}"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&{query}"))
        assert refused.value.status == 400
        async with session.get(harness.ws_url(f"EIO=4&transport=websocket&{query}")) as resp:
            assert (resp.status, await resp.json()) == (400, UNKNOWN_SID)
    await websocket_only.close()


# --- browsers: CORS on polling, Origin on the WebSocket -------------------------------------------

APP = "https://app.example"
EVIL = "https://evil.example"


async def test_cors_with_a_listed_origin(make_harness, session):
    harness = await make_harness(cors_origins=(APP,))
    alice = await harness.register()
    origin = {"Origin": APP}
    async with session.get(harness.polling_url(), headers=origin) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == APP
        assert resp.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in resp.headers["Vary"]
        sid = json.loads((await resp.text())[1:])["sid"]
    poller = Poller(harness, session, headers=origin)
    poller.sid = sid
    async with session.post(poller.url, data='40{"token":"%s"}' % alice.token, headers=origin) as resp:
        assert (resp.status, await resp.text()) == (200, "ok")
        assert resp.headers["Access-Control-Allow-Origin"] == APP
    async with session.get(harness.polling_url("EIO=4&transport=polling&sid=nope"), headers=origin) as resp:
        assert resp.status == 400  # errors are readable by the page too
        assert resp.headers["Access-Control-Allow-Origin"] == APP
    preflight = {**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    async with session.options(harness.polling_url(), headers=preflight) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == APP
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
        assert "content-type" in resp.headers["Access-Control-Allow-Headers"].lower()
    # The WebSocket, fresh or upgrading, with the listed Origin or none (not a browser).
    for headers in (origin, {}):
        ws = await session.ws_connect(harness.ws_url(), headers=headers)
        assert (await ws.receive_str(timeout=TIMEOUT)).startswith("0{")
        await ws.close()
    ws = await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={sid}"), headers=origin)
    await ws.send_str("2probe")
    assert await ws.receive_str(timeout=TIMEOUT) == "3probe"
    await ws.close()


async def test_an_unlisted_origin_is_refused(make_harness, session):
    harness = await make_harness(cors_origins=(APP,))
    evil = {"Origin": EVIL}
    poller = await Poller.open(harness, session)  # no Origin: fine
    for url in (harness.polling_url(), poller.url):
        async with session.get(url, headers=evil) as resp:
            assert (resp.status, await resp.json()) == (403, FORBIDDEN)
            assert "Access-Control-Allow-Origin" not in resp.headers
    async with session.post(poller.url, data="40", headers=evil) as resp:
        assert (resp.status, await resp.json()) == (403, FORBIDDEN)
    preflight = {**evil, "Access-Control-Request-Method": "POST"}
    async with session.options(harness.polling_url(), headers=preflight) as resp:
        assert resp.status == 403
        assert "Access-Control-Allow-Origin" not in resp.headers
    for query in ("EIO=4&transport=websocket", f"EIO=4&transport=websocket&sid={poller.sid}"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(harness.ws_url(query), headers=evil)
        assert refused.value.status == 403
        async with session.get(harness.ws_url(query), headers=evil) as resp:
            assert (resp.status, await resp.json()) == (403, FORBIDDEN)
    assert harness.engine(poller.sid).transport_name == "polling"  # untouched


async def test_cors_with_any_origin(make_harness, session):
    harness = await make_harness(cors_origins=("*",))
    async with session.get(harness.polling_url(), headers={"Origin": EVIL}) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in resp.headers  # never * with credentials
    ws = await session.ws_connect(harness.ws_url(), headers={"Origin": EVIL})
    await ws.close()


async def test_no_cors_by_default(harness, session):
    async with session.get(harness.polling_url(), headers={"Origin": EVIL}) as resp:
        assert resp.status == 200
        assert "Access-Control-Allow-Origin" not in resp.headers
    ws = await session.ws_connect(harness.ws_url(), headers={"Origin": EVIL})  # tokens, no cookies
    await ws.close()
