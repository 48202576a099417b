"""The Redis Streams bus against the real Redis: once, in order, on every node, across a cut
connection and an outage, within a bounded stream."""

from __future__ import annotations

import asyncio
import json

import pytest

from tasktrek.cluster.bus import FIELD, StreamBus

from .conftest import db_of

TIMEOUT = 10.0


class Inbox:
    """What one node's bus delivered, in order, with waiting for a count."""

    def __init__(self) -> None:
        self.messages: list = []
        self._changed = asyncio.Event()

    async def __call__(self, message) -> None:
        self.messages.append(message)
        self._changed.set()

    async def wait_for(self, count: int) -> list:
        async def wait() -> None:
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), TIMEOUT)
        return self.messages


@pytest.fixture
async def make_bus(prefix):
    buses: list[StreamBus] = []

    async def make(client, node_id: str, inbox: Inbox, **options) -> StreamBus:
        bus = StreamBus(client, prefix + "bus", node_id, inbox, **options)
        bus.start()
        buses.append(bus)
        await asyncio.wait_for(bus.started(), TIMEOUT)
        return bus

    yield make
    for bus in buses:
        await bus.close()


async def test_every_node_delivers_each_message_once_in_order(make_bus, make_client):
    a_inbox, b_inbox, c_inbox = Inbox(), Inbox(), Inbox()
    a = await make_bus(make_client(), "a", a_inbox)
    b = await make_bus(make_client(), "b", b_inbox)
    await make_bus(make_client(), "c", c_inbox)
    for n in range(50):
        (a if n % 2 else b).publish({"n": n, "task": "t1"})
    await a.flushed()
    await b.flushed()
    # a's and b's messages interleave in the stream as they were sent; every node sees that one order
    expected = await a_inbox.wait_for(50)
    assert sorted(m["n"] for m in expected) == list(range(50))
    assert [m["n"] for m in expected if m["n"] % 2] == list(range(1, 50, 2))  # each publisher's order kept
    assert await b_inbox.wait_for(50) == expected
    assert await c_inbox.wait_for(50) == expected
    a.publish({"n": "last"})
    assert (await c_inbox.wait_for(51))[50] == {"n": "last"}
    assert len(c_inbox.messages) == 51  # nothing twice


async def test_a_node_starts_reading_after_what_was_already_there(make_bus, make_client):
    early = Inbox()
    a = await make_bus(make_client(), "a", early)
    a.publish("before")
    await early.wait_for(1)
    late = Inbox()
    await make_bus(make_client(), "b", late)
    a.publish("after")
    assert await late.wait_for(1) == ["after"]
    assert await early.wait_for(2) == ["before", "after"]


async def test_reading_resumes_after_a_cut_connection_and_misses_nothing(make_bus, make_client, redis, redis_proxy, redis_url):
    reader_inbox = Inbox()
    await make_bus(make_client(redis_proxy.url(db_of(redis_url))), "reader", reader_inbox)
    writer = await make_bus(make_client(), "writer", Inbox())
    for n in range(300):
        writer.publish(n)
        if n % 60 == 30:
            await writer.flushed()
            redis_proxy.cut()  # the reader's blocking read breaks mid-stream
    assert await reader_inbox.wait_for(300) == list(range(300))


async def test_messages_published_while_redis_is_unreachable_are_sent_when_it_is_back(
    make_bus, make_client, redis_proxy, redis_url
):
    listener = Inbox()
    await make_bus(make_client(), "listener", listener)
    publisher_inbox = Inbox()
    publisher = await make_bus(make_client(redis_proxy.url(db_of(redis_url))), "publisher", publisher_inbox)
    publisher.publish("first")
    assert await listener.wait_for(1) == ["first"]
    await redis_proxy.stop()
    for n in range(20):
        publisher.publish(n)
    assert publisher.stats()["bus_pending"] > 0
    await redis_proxy.start()
    assert await listener.wait_for(21) == ["first", *range(20)]
    assert await publisher_inbox.wait_for(21) == ["first", *range(20)]
    assert publisher.stats() == {"bus_pending": 0, "bus_dropped": 0}


async def test_a_message_that_reached_the_stream_twice_is_delivered_once(make_bus, make_client, redis, prefix):
    """A send retried after the connection broke with Redis having taken it already."""
    inbox = Inbox()
    await make_bus(make_client(), "reader", inbox)
    envelope = json.dumps({"o": "elsewhere", "s": 1, "m": "once"})
    await redis.xadd(prefix + "bus", {FIELD: envelope})
    await redis.xadd(prefix + "bus", {FIELD: envelope})
    await redis.xadd(prefix + "bus", {FIELD: json.dumps({"o": "elsewhere", "s": 2, "m": "next"})})
    assert await inbox.wait_for(2) == ["once", "next"]
    await redis.xadd(prefix + "bus", {FIELD: "not json"})
    await redis.xadd(prefix + "bus", {FIELD: json.dumps({"o": "elsewhere", "s": 3, "m": "after junk"})})
    assert await inbox.wait_for(3) == ["once", "next", "after junk"]


async def test_the_stream_is_bounded(make_bus, make_client, redis, prefix):
    inbox = Inbox()
    bus = await make_bus(make_client(), "a", inbox, maxlen=500)
    for n in range(3000):
        bus.publish(n)
    await bus.flushed()
    assert await inbox.wait_for(3000) == list(range(3000))
    length = await redis.xlen(prefix + "bus")
    assert 500 <= length < 700  # trimmed approximately (whole macro nodes), as MAXLEN ~ does


async def test_a_full_queue_drops_the_oldest_while_redis_is_away(make_bus, make_client, redis_proxy, redis_url):
    listener = Inbox()
    await make_bus(make_client(), "listener", listener)
    publisher = await make_bus(make_client(redis_proxy.url(db_of(redis_url))), "p", Inbox(), max_pending=5)
    await redis_proxy.stop()
    for n in range(8):
        publisher.publish(n)
    assert publisher.stats() == {"bus_pending": 5, "bus_dropped": 3}
    await redis_proxy.start()
    assert await listener.wait_for(5) == [3, 4, 5, 6, 7]
