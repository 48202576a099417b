"""Presence counting on its own (the in-process backend): tabs, the grace period, its timers.

Time is a `ManualClock` that the test advances: the presence interface takes a clock so that
grace periods are tested without waiting for them."""

from __future__ import annotations

import heapq
import itertools

import pytest

from tasktrek.realtime.presence import LocalPresence


class ManualTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock whose time moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: list = []
        self._order = itertools.count()

    def call_later(self, delay, callback, *args):
        timer = ManualTimer()
        heapq.heappush(self._due, (self.now + delay, next(self._order), timer, callback, args))
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while self._due and self._due[0][0] <= self.now:
            _, _, timer, callback, args = heapq.heappop(self._due)
            if not timer.cancelled:
                callback(*args)


class OfflineLog:
    def __init__(self):
        self.users: list[str] = []

    def __call__(self, user_id: str) -> None:
        self.users.append(user_id)


async def test_tabs_are_counted_without_grace():
    offline = OfflineLog()
    presence = LocalPresence(0, offline)
    assert await presence.connect("u") is True  # first tab: online
    assert await presence.connect("u") is False  # second tab: nothing new
    assert presence.stats()["sockets"] == 2
    assert await presence.disconnect("u") is False  # one tab left
    assert await presence.is_online("u")
    assert await presence.disconnect("u") is True  # last tab: offline at once
    assert not await presence.is_online("u")
    assert await presence.disconnect("u") is False  # nothing to disconnect
    assert offline.users == [] and presence.is_empty()


async def test_grace_period_delays_offline():
    offline, clock = OfflineLog(), ManualClock()
    presence = LocalPresence(5, offline, clock)
    await presence.connect("u")
    assert await presence.disconnect("u") is False
    assert await presence.is_online("u")  # still online during the grace period
    assert presence.stats()["grace_timers"] == 1
    clock.advance(4.9)
    assert offline.users == [] and await presence.is_online("u")
    clock.advance(0.1)
    assert offline.users == ["u"]
    assert not await presence.is_online("u") and presence.is_empty()


async def test_reconnect_within_grace_does_not_flap():
    offline, clock = OfflineLog(), ManualClock()
    presence = LocalPresence(5, offline, clock)
    await presence.connect("u")
    await presence.disconnect("u")
    clock.advance(3)
    assert await presence.connect("u") is False  # a reload: not "came online"
    assert presence.stats()["grace_timers"] == 0
    clock.advance(10)
    assert offline.users == []  # the cancelled timer never fires
    await presence.disconnect("u")
    clock.advance(5)
    assert offline.users == ["u"]


async def test_online_among_and_announcements():
    presence = LocalPresence(0, OfflineLog())
    await presence.connect("a")
    await presence.connect("b")
    assert await presence.online_among(["c", "b", "a", "a"]) == ["a", "b"]
    # Each change is taken once, however often it is asked for.
    assert await presence.take_change("a") is True
    assert await presence.take_change("a") is False
    assert await presence.take_change("c") is False  # offline, never announced online
    await presence.connect("a")  # a second tab: no change
    assert await presence.take_change("a") is False
    await presence.disconnect("a")
    await presence.disconnect("a")
    assert await presence.take_change("a") is True  # now offline
    assert await presence.take_change("a") is False
    assert presence.stats()["announced"] == 0


async def test_close_cancels_timers():
    offline, clock = OfflineLog(), ManualClock()
    presence = LocalPresence(1, offline, clock)
    for user in ("a", "b"):
        await presence.connect(user)
        await presence.disconnect(user)
    await presence.take_change("a")
    presence.close()
    assert presence.is_empty()
    await presence.connect("c")
    await presence.disconnect("c")
    clock.advance(1)
    assert offline.users == ["c"]  # a and b's timers were cancelled


async def test_the_default_clock_is_the_running_loop():
    offline = OfflineLog()
    presence = LocalPresence(0.01, offline)
    await presence.connect("u")
    await presence.disconnect("u")
    assert presence.stats()["grace_timers"] == 1
    presence.close()


def test_negative_grace_is_refused():
    with pytest.raises(ValueError):
        LocalPresence(-1, lambda user: None)
