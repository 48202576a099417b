"""The server heartbeat on the gateway's one timer (tasktrek.realtime.heartbeat): each socket
keeps Engine.IO's own deadlines — a ping pingInterval after the handshake and after each pong,
a drop pingTimeout after an unanswered ping."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from aiohttp import WSMsgType

from .rawws import RawSocket, event_payload

INTERVAL, TIMEOUT_S = 0.2, 0.3


async def online(harness, session, token) -> RawSocket:
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.connect(token)
    assert event_payload(await sock.recv())[0] == "notification:count"
    return sock


async def pong_rounds(sock: RawSocket, rounds: int) -> list[float]:
    """Answer `rounds` pings; the loop time at which each ping arrived."""
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(rounds):
        assert await sock.recv(answer_pings=False) == "2"
        times.append(loop.time())
        await sock.send("3")
    return times


async def test_a_silent_socket_is_dropped_at_its_own_deadline_while_answering_ones_stay(make_harness, session):
    harness = await make_harness(ping_interval_seconds=INTERVAL, ping_timeout_seconds=TIMEOUT_S)
    alice = await harness.register()
    heartbeat = harness.gateway.heartbeat
    loop = asyncio.get_running_loop()
    answering = [await online(harness, session, alice.token)]
    silent = await online(harness, session, alice.token)
    answering.append(await online(harness, session, alice.token))  # deadlines on either side of the silent one's
    assert heartbeat.pending == 3  # one deadline per socket: its next ping

    rounds = asyncio.gather(*(pong_rounds(sock, 4) for sock in answering))
    assert await silent.recv(answer_pings=False) == "2"  # and it never answers
    pinged = loop.time()
    closed = await silent.closed()
    dropped = loop.time()
    assert closed.type is WSMsgType.CLOSED  # dropped: nothing flushed to a client that is gone
    # Engine.IO's deadline, as with a timer of its own: pingTimeout after the ping, never
    # earlier, and not a heartbeat round later either.
    assert TIMEOUT_S <= dropped - pinged < TIMEOUT_S + INTERVAL

    for times in await rounds:  # each pinged every pingInterval after its pong, never sooner
        assert all(later - earlier >= INTERVAL for earlier, later in zip(times, times[1:]))
    for sock in answering:
        await sock.send('42["presence:get"]')
        assert event_payload(await sock.recv())[0] == "presence:list"
    await harness.settled()
    assert harness.gateway.stats()["connected"] == 2
    assert heartbeat.pending == 2
    for sock in answering:
        await sock.close()
    await harness.gateway.until_no_sockets()
    assert heartbeat.pending == 0  # a finished socket leaves no deadline behind


async def test_sockets_opened_under_other_heartbeat_options_keep_theirs(make_harness, session):
    """Options replaced while sockets are open (the gateway's `options` setter) apply to the
    sockets opened afterwards; each keeps the deadlines it was opened with, on the same timer."""
    harness = await make_harness(ping_interval_seconds=5, ping_timeout_seconds=5)
    alice = await harness.register()
    slow = await online(harness, session, alice.token)
    harness.gateway.options = replace(harness.gateway.options, ping_interval=INTERVAL, ping_timeout=TIMEOUT_S)
    fast = await online(harness, session, alice.token)
    assert fast.handshake["pingInterval"] == INTERVAL * 1000 and slow.handshake["pingInterval"] == 5000
    await pong_rounds(fast, 3)
    assert await fast.recv(answer_pings=False) == "2"
    closed = await fast.closed()
    assert closed.type is WSMsgType.CLOSED
    await slow.send('42["presence:get"]')
    assert event_payload(await slow.recv(answer_pings=False))[0] == "presence:list"  # no ping in between
    await slow.close()
