"""Presence: who is online, counted per user across all their sockets (tabs).

A user is online from their first socket until their last one has been gone for the grace
period, so that a page reload (disconnect, then connect within the grace period) does not
flap. The class only counts and keeps timers; it knows nothing of sockets, contacts or the
store. Whoever owns it announces the transitions it reports:

- `connect()` returns True when the user just came online;
- `disconnect()` returns True when the user just went offline (grace period 0), otherwise the
  `on_offline(user_id)` callback fires when the grace period runs out.

It also remembers who was last announced online, so that its owner announces each change once
(`take_change()`) even when announcements race.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Iterable


class Presence:
    __slots__ = ("grace_seconds", "_on_offline", "_sockets", "_grace", "_announced")

    def __init__(self, grace_seconds: float, on_offline: Callable[[str], None]) -> None:
        if grace_seconds < 0:
            raise ValueError("grace period must be >= 0")
        self.grace_seconds = grace_seconds
        self._on_offline = on_offline
        self._sockets: dict[str, int] = {}
        self._grace: dict[str, asyncio.TimerHandle] = {}
        self._announced: set[str] = set()  # users last announced online

    # --- counting ------------------------------------------------------------------------

    def connect(self, user_id: str) -> bool:
        """One more socket for `user_id`. True if the user was offline until now."""
        pending = self._grace.pop(user_id, None)
        if pending is not None:
            pending.cancel()
        count = self._sockets.get(user_id, 0)
        self._sockets[user_id] = count + 1
        return count == 0 and pending is None

    def disconnect(self, user_id: str) -> bool:
        """One socket fewer. True if the user went offline right now (no grace period)."""
        count = self._sockets.get(user_id, 0)
        if count == 0:
            return False
        if count > 1:
            self._sockets[user_id] = count - 1
            return False
        del self._sockets[user_id]
        if self.grace_seconds == 0:
            return True
        loop = asyncio.get_running_loop()
        self._grace[user_id] = loop.call_later(self.grace_seconds, self._grace_over, user_id)
        return False

    def _grace_over(self, user_id: str) -> None:
        self._grace.pop(user_id, None)
        self._on_offline(user_id)

    # --- queries -------------------------------------------------------------------------

    def is_online(self, user_id: str) -> bool:
        return user_id in self._sockets or user_id in self._grace

    def online_among(self, user_ids: Iterable[str]) -> list[str]:
        return sorted(u for u in set(user_ids) if self.is_online(u))

    # --- announcements -------------------------------------------------------------------

    def take_change(self, user_id: str) -> bool:
        """True when the user is online and was not last announced so, or the other way round;
        from then on the current state counts as announced."""
        online = self.is_online(user_id)
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
