"""What an unauthenticated or greedy client may hold: a small frame limit until CONNECT, caps
on sockets not connected to "/" (per address and in total), and on sockets per user."""

from __future__ import annotations

import json

import aiohttp
import pytest

from .rawpolling import Poller
from .rawws import RawSocket

SMALL = 64 * 1024


async def test_a_big_frame_before_connect_closes_the_websocket(harness):
    sock = await RawSocket.open(harness.session, harness.ws_url())
    await sock.send("4" + "x" * (SMALL + 1))
    closed = await sock.closed()
    assert closed.code == 1009  # message too big
    assert harness.gateway.stats()["engine_sockets"] == 0


async def test_a_big_polling_body_before_connect_is_413_and_after_connect_is_read(harness, session):
    big = "42" + json.dumps(["no:such:event", "x" * SMALL])  # an event over 64 KiB
    stranger = await Poller.open(harness, session)
    status, text = await stranger.post_raw(big)
    assert (status, json.loads(text)) == (413, {"code": 3, "message": "Bad request"})
    alice = await harness.register()
    member = await Poller.open(harness, session)
    await member.connect(alice.token)
    status, text = await member.post_raw(big)
    assert (status, text) == (200, "ok")


async def test_unauthenticated_sockets_per_address_are_capped(make_harness):
    harness = await make_harness(max_unauthenticated_per_address=2)
    alice = await harness.register()
    waiting = [await RawSocket.open(harness.session, harness.ws_url()) for _ in range(2)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.session.ws_connect(harness.ws_url())
    assert refused.value.status == 429
    async with harness.session.get(harness.polling_url()) as resp:
        assert resp.status == 429
        assert await resp.json() == {"code": 3, "message": "too many unauthenticated connections from this address"}
    await waiting[0].connect(alice.token)  # one connects: a place is free again
    await RawSocket.open(harness.session, harness.ws_url())


async def test_unauthenticated_sockets_in_total_are_capped(make_harness):
    harness = await make_harness(max_unauthenticated_sockets=1)
    waiting = await RawSocket.open(harness.session, harness.ws_url())
    async with harness.session.get(harness.polling_url()) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "1"
        assert await resp.json() == {"code": 3, "message": "too many unauthenticated connections"}
    await waiting.close()


async def test_sockets_per_user_are_capped(make_harness):
    harness = await make_harness(max_sockets_per_user=2)
    alice, bob = await harness.register(), await harness.register()
    tabs = [await RawSocket.open(harness.session, harness.ws_url()) for _ in range(2)]
    for tab in tabs:
        await tab.connect(alice.token)
    third = await RawSocket.open(harness.session, harness.ws_url())
    await third.send('40{"token":"%s"}' % alice.token)
    assert await third.recv() == '44{"message":"too many sockets for this user"}'
    await third.closed()
    await (await RawSocket.open(harness.session, harness.ws_url())).connect(bob.token)  # others are not affected
