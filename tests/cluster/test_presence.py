"""Presence across nodes against the real Redis: counting on every node, announcing each
change once, grace periods, a dead node counted out within its TTL, and counts written back
after Redis was away."""

from __future__ import annotations

import asyncio
import time

import pytest

from tasktrek.cluster.presence import RedisPresence

from .conftest import db_of

TIMEOUT = 10.0


class Changes:
    """The users whose state a presence backend reported as possibly changed, with waiting."""

    def __init__(self) -> None:
        self.users: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, user_id: str) -> None:
        self.users.append(user_id)
        self._changed.set()

    async def next(self, timeout: float = TIMEOUT) -> str:
        async def wait() -> str:
            while not self.users:
                self._changed.clear()
                await self._changed.wait()
            return self.users.pop(0)

        return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def make_node(prefix):
    """make_node(client, name, grace=0, ttl=15, beating=False) → (RedisPresence, Changes)."""
    made: list[RedisPresence] = []

    async def make(client, name: str, *, grace: float = 0, ttl: float = 15, beating: bool = False):
        changes = Changes()
        presence = RedisPresence(client, prefix, name, grace, changes, ttl_seconds=ttl)
        await presence.beat()
        if beating:
            presence.start()
        made.append(presence)
        return presence, changes

    yield make
    for presence in made:
        await presence.leave()  # nothing of it stays in Redis after the test's clean-up
        presence.close()


async def test_a_user_is_counted_across_nodes(make_node, make_client):
    a, _ = await make_node(make_client(), "a")
    b, _ = await make_node(make_client(), "b")
    assert await a.connect("u1") is True  # first socket anywhere
    assert await b.connect("u1") is False
    assert await b.connect("u1") is False
    assert await b.is_online("u1") and await a.is_online("u1")
    assert await a.online_among(["u2", "u1", "u1"]) == ["u1"]
    assert await a.disconnect("u1") is False
    assert await b.disconnect("u1") is False
    assert await b.disconnect("u1") is True  # the last one anywhere, no grace period
    assert await a.online_among(["u1"]) == []
    assert await a.disconnect("u1") is False  # nothing left to count out


async def test_each_change_is_announced_once_by_one_node(make_node, make_client):
    a, _ = await make_node(make_client(), "a")
    b, _ = await make_node(make_client(), "b")
    await a.connect("u1")
    assert [await a.take_change("u1"), await b.take_change("u1")] == [True, False]
    await a.disconnect("u1")
    assert [await b.take_change("u1"), await a.take_change("u1")] == [True, False]


async def test_a_reconnect_on_another_node_within_the_grace_period_does_not_flap(prefix, make_client, redis):
    changes = Changes()  # both nodes report here
    a = RedisPresence(make_client(), prefix, "a", 0.3, changes, ttl_seconds=15)
    b = RedisPresence(make_client(), prefix, "b", 0.3, changes, ttl_seconds=15)
    await a.connect("u1")
    assert await a.take_change("u1")
    assert await a.disconnect("u1") is False  # grace period starts
    assert await b.is_online("u1")
    assert await b.connect("u1") is False  # back, on another node: no news
    assert not await b.take_change("u1")
    await b.disconnect("u1")  # a second grace period, b's
    assert await changes.next() == "u1"  # a's timer or b's claims it; the other finds nothing
    assert not await a.is_online("u1")
    assert await a.take_change("u1")
    assert await redis.zcard(prefix + "presence:grace") == 0  # nothing left for anyone to claim
    a.close()
    b.close()


async def test_the_grace_period_ends_with_one_report(make_node, make_client):
    a, a_changes = await make_node(make_client(), "a", grace=0.3)
    b, b_changes = await make_node(make_client(), "b", grace=0.3)
    await a.connect("u1")
    await a.take_change("u1")
    started = time.monotonic()
    await a.disconnect("u1")
    assert await a_changes.next() == "u1"
    assert time.monotonic() - started >= 0.3
    assert not await b.is_online("u1")
    assert await b.take_change("u1")  # offline, to be announced once
    await b.beat()  # nothing left for another node to claim
    assert b_changes.users == []


async def test_a_dead_node_is_counted_out_within_its_ttl_plus_the_grace_period(make_node, make_client):
    dead, _ = await make_node(make_client(), "dead", ttl=1.5)
    await dead.connect("u1")
    await dead.connect("u2")
    await dead.take_change("u1")
    started = time.monotonic()
    dead.close()  # stops beating, as a node killed with SIGKILL does
    live, changes = await make_node(make_client(), "live", ttl=1.5, grace=0.2, beating=True)
    await live.connect("u2")  # u2 also has a socket on a live node
    assert await changes.next() == "u1"
    assert time.monotonic() - started <= 1.5 + 0.2 + 0.5
    assert await live.online_among(["u1", "u2"]) == ["u2"]
    assert await live.take_change("u1")


async def test_counts_missed_while_redis_was_away_are_written_back(make_node, make_client, redis_proxy, redis_url):
    observer, observer_changes = await make_node(make_client(), "observer")
    cut_off, cut_off_changes = await make_node(make_client(redis_proxy.url(db_of(redis_url))), "cut-off")
    await cut_off.connect("u1")
    await redis_proxy.stop()
    assert await cut_off.connect("u2") is False  # counted here; Redis hears of it later
    assert await cut_off.disconnect("u1") is False
    assert await cut_off.online_among(["u1", "u2"]) == ["u2"]  # what this node knows meanwhile
    assert await observer.online_among(["u1", "u2"]) == ["u1"]
    await redis_proxy.start()
    await cut_off.beat()
    assert sorted([await cut_off_changes.next(), await cut_off_changes.next()]) == ["u1", "u2"]
    assert await observer.online_among(["u1", "u2"]) == ["u2"]


async def test_a_node_counted_out_while_alive_counts_itself_back_in(make_node, make_client):
    slow, slow_changes = await make_node(make_client(), "slow", ttl=0.3)
    await slow.connect("u1")
    other, other_changes = await make_node(make_client(), "other", ttl=0.3)
    await asyncio.sleep(0.3)  # the slow node misses its heartbeats (a long pause)
    await other.beat()
    assert await other_changes.next() == "u1"
    assert not await other.is_online("u1")
    await slow.beat()
    assert await slow_changes.next() == "u1"
    assert await other.is_online("u1")


async def test_leaving_takes_the_nodes_sockets_out_at_once_and_the_others_announce(make_node, make_client):
    leaving, leaving_changes = await make_node(make_client(), "leaving")
    staying, changes = await make_node(make_client(), "staying")
    await leaving.connect("u1")
    await staying.connect("u2")
    await leaving.leave()
    assert await staying.online_among(["u1", "u2"]) == ["u2"]
    await staying.beat()
    assert changes.users == ["u1"]  # claimed by a node that stays
    assert leaving_changes.users == []
