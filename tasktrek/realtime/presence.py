"""Presence: who is online, counted per user across all their sockets (tabs).

A user is online from their first socket until their last one has been gone for the grace
period, so that a page reload (disconnect, then connect within the grace period) does not
flap. A presence backend only counts and keeps timers; it knows nothing of sockets, contacts
or the store. Whoever owns it announces the transitions it reports:

- `connect()` returns True when the user just came online;
- `disconnect()` returns True when the user just went offline (grace period 0), otherwise the
  `on_offline(user_id)` callback fires when the grace period runs out;
- `take_change()` tells whether the user's state differs from the one last announced, and
  marks it announced, so that racing announcements announce each change once.

`Presence` is the interface (async, so that a backend shared by several processes can
implement it); `LocalPresence` is the in-process backend. Its timers run on an injectable
`Clock` (the running event loop by default), so tests advance time instead of sleeping.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterable, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What presence needs of time: run a callback later. `asyncio`'s event loop is one."""

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer: ...


OfflineCallback = Callable[[str], None]


class Presence(Protocol):
    grace_seconds: float

    async def connect(self, user_id: str) -> bool:
        """One more socket for `user_id`. True if the user was offline until now."""

    async def disconnect(self, user_id: str) -> bool:
        """One socket fewer. True if the user went offline right now (no grace period)."""

    async def is_online(self, user_id: str) -> bool: ...

    async def online_among(self, user_ids: Iterable[str]) -> list[str]:
        """The online ones of `user_ids`, sorted, each once."""

    async def take_change(self, user_id: str) -> bool:
        """True when the user is online and was not last announced so, or the other way
        round; from then on the current state counts as announced."""

    def stats(self) -> dict[str, int]:
        """Sizes of what this process holds, for monitoring and leak tests."""

    def is_empty(self) -> bool: ...

    def close(self) -> None:
        """Cancel every timer and forget everything."""


class LocalPresence:
    """Presence in this process's memory: right for one process."""

    __slots__ = ("grace_seconds", "_on_offline", "_clock", "_sockets", "_grace", "_announced")

    def __init__(self, grace_seconds: float, on_offline: OfflineCallback, clock: Clock | None = None) -> None:
        if grace_seconds < 0:
            raise ValueError("grace period must be >= 0")
        self.grace_seconds = grace_seconds
        self._on_offline = on_offline
        self._clock = clock
        self._sockets: dict[str, int] = {}
        self._grace: dict[str, Timer] = {}
        self._announced: set[str] = set()  # users last announced online

    # --- counting ------------------------------------------------------------------------

    async def connect(self, user_id: str) -> bool:
        pending = self._grace.pop(user_id, None)
        if pending is not None:
            pending.cancel()
        count = self._sockets.get(user_id, 0)
        self._sockets[user_id] = count + 1
        return count == 0 and pending is None

    async def disconnect(self, user_id: str) -> bool:
        count = self._sockets.get(user_id, 0)
        if count == 0:
            return False
        if count > 1:
            self._sockets[user_id] = count - 1
            return False
        del self._sockets[user_id]
        if self.grace_seconds == 0:
            return True
        clock = self._clock or asyncio.get_running_loop()
        self._grace[user_id] = clock.call_later(self.grace_seconds, self._grace_over, user_id)
        return False

    def _grace_over(self, user_id: str) -> None:
        self._grace.pop(user_id, None)
        self._on_offline(user_id)

    # --- queries -------------------------------------------------------------------------

    def _online(self, user_id: str) -> bool:
        return user_id in self._sockets or user_id in self._grace

    async def is_online(self, user_id: str) -> bool:
        return self._online(user_id)

    async def online_among(self, user_ids: Iterable[str]) -> list[str]:
        return sorted(u for u in set(user_ids) if self._online(u))

    # --- announcements -------------------------------------------------------------------

    async def take_change(self, user_id: str) -> bool:
        online = self._online(user_id)
        if online == (user_id in self._announced):
            return False
        if online:
            self._announced.add(user_id)
        else:
            self._announced.discard(user_id)
        return True

    # --- housekeeping --------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        return {
            "users": len(self._sockets),
            "sockets": sum(self._sockets.values()),
            "grace_timers": len(self._grace),
            "announced": len(self._announced),
        }

    def is_empty(self) -> bool:
        return not self._sockets and not self._grace and not self._announced

    def close(self) -> None:
        for handle in self._grace.values():
            handle.cancel()
        self._grace.clear()
        self._sockets.clear()
        self._announced.clear()
