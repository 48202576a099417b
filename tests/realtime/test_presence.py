"""Presence counting on its own: tabs, the grace period, and its timers."""

from __future__ import annotations

import asyncio

import pytest

from tasktrek.realtime.presence import Presence


class OfflineLog:
    def __init__(self):
        self.users: list[str] = []
        self.arrived = asyncio.Event()

    def __call__(self, user_id: str) -> None:
        self.users.append(user_id)
        self.arrived.set()


async def test_tabs_are_counted_without_grace():
    offline = OfflineLog()
    presence = Presence(0, offline)
    assert presence.connect("u") is True  # first tab: online
    assert presence.connect("u") is False  # second tab: nothing new
    assert presence.stats()["sockets"] == 2
    assert presence.disconnect("u") is False  # one tab left
    assert presence.is_online("u")
    assert presence.disconnect("u") is True  # last tab: offline at once
    assert not presence.is_online("u")
    assert presence.disconnect("u") is False  # nothing to disconnect
    assert offline.users == [] and presence.is_empty()


async def test_grace_period_delays_offline():
    offline = OfflineLog()
    presence = Presence(0.05, offline)
    presence.connect("u")
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert presence.disconnect("u") is False
    assert presence.is_online("u")  # still online during the grace period
    assert presence.stats()["grace_timers"] == 1
    await asyncio.wait_for(offline.arrived.wait(), 5)
    assert loop.time() - started >= 0.05
    assert offline.users == ["u"]
    assert not presence.is_online("u") and presence.is_empty()


async def test_reconnect_within_grace_does_not_flap():
    offline = OfflineLog()
    presence = Presence(0.05, offline)
    presence.connect("u")
    presence.disconnect("u")
    assert presence.connect("u") is False  # a reload: not "came online"
    assert presence.stats()["grace_timers"] == 0
    # The cancelled timer never fires: a later real disconnect is the only offline.
    presence.disconnect("u")
    await asyncio.wait_for(offline.arrived.wait(), 5)
    assert offline.users == ["u"]


async def test_online_among_and_announcements():
    presence = Presence(0, OfflineLog())
    presence.connect("a")
    presence.connect("b")
    assert presence.online_among(["c", "b", "a", "a"]) == ["a", "b"]
    # Each change is taken once, however often it is asked for.
    assert presence.take_change("a") is True
    assert presence.take_change("a") is False
    assert presence.take_change("c") is False  # offline, never announced online
    presence.connect("a")  # a second tab: no change
    assert presence.take_change("a") is False
    presence.disconnect("a")
    presence.disconnect("a")
    assert presence.take_change("a") is True  # now offline
    assert presence.take_change("a") is False
    assert presence.stats()["announced"] == 0


async def test_close_cancels_timers():
    offline = OfflineLog()
    presence = Presence(0.01, offline)
    for user in ("a", "b"):
        presence.connect(user)
        presence.disconnect(user)
    presence.take_change("a")
    presence.close()
    assert presence.is_empty()
    # Proof the timers are gone: a fresh one on the same loop fires alone.
    presence.connect("c")
    presence.disconnect("c")
    await asyncio.wait_for(offline.arrived.wait(), 5)
    assert offline.users == ["c"]


def test_negative_grace_is_refused():
    with pytest.raises(ValueError):
        Presence(-1, lambda user: None)
