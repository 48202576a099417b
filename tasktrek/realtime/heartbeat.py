"""One loop timer for the heartbeat of every Engine.IO socket of a gateway.

Engine.IO's heartbeat (REALTIME.md): the server pings `pingInterval` after the handshake and
after each pong, and drops a socket whose pong has not come `pingTimeout` after its ping. A
socket has one heartbeat deadline at a time: its next ping, or the latest its pong may come.

Each socket used to keep a loop timer for that deadline (a `TimerHandle`, its arguments, a
bound method and a place in the loop's heap). Here a socket keeps a `Deadline` (two slots) and
the gateway one loop timer, armed for the earliest deadline. Every deadline is "now + a fixed
delay", and the loop's clock never goes back, so the deadlines made with one delay fall due in
the order they were made: one FIFO per delay (there are two, pingInterval and pingTimeout) is
already sorted, and the earliest deadline is at the head of one of them. The timer is always
armed for the earliest deadline, and a deadline fires once the loop's clock reaches it, as
asyncio decides for its own timers: never earlier than its own `call_later(delay)` would
have, not rounded to a tick, not held back for a batch.

A cancelled deadline stays in its FIFO until it falls due, but lets go of its socket at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)

# What asyncio adds to "now" when it decides which timers are due (BaseEventLoop._run_once).
CLOCK_RESOLUTION = time.get_clock_info("monotonic").resolution


class Beating(Protocol):
    def on_heartbeat(self) -> None:
        """The socket's heartbeat deadline came (called once per deadline, unless cancelled)."""


class Deadline:
    """One socket's heartbeat deadline, in the heartbeat's FIFO for its delay."""

    __slots__ = ("due", "sock")

    def __init__(self, due: float, sock: Beating) -> None:
        self.due = due
        self.sock: Beating | None = sock

    def cancel(self) -> None:
        self.sock = None


class Heartbeat:
    """The heartbeat deadlines of every socket of one gateway, on one loop timer."""

    __slots__ = ("_lanes", "_timer", "_armed_for")

    def __init__(self) -> None:
        self._lanes: dict[float, deque[Deadline]] = {}  # delay → its deadlines, earliest first
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = math.inf  # when the timer fires

    def after(self, delay: float, sock: Beating) -> Deadline:
        """Call `sock.on_heartbeat()` `delay` seconds from now, unless the returned deadline
        is cancelled first."""
        loop = asyncio.get_running_loop()
        deadline = Deadline(loop.time() + delay, sock)
        lane = self._lanes.get(delay)
        if lane is None:
            lane = self._lanes[delay] = deque()
        lane.append(deadline)
        if deadline.due < self._armed_for:
            self._arm(loop, deadline.due)
        return deadline

    @property
    def pending(self) -> int:
        """Deadlines not yet fired or cancelled (for tests and monitoring)."""
        return sum(1 for lane in self._lanes.values() for deadline in lane if deadline.sock is not None)

    def close(self) -> None:
        """Forget every deadline and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._armed_for = math.inf
        for lane in self._lanes.values():
            for deadline in lane:
                deadline.cancel()
        self._lanes.clear()

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._fire)
        self._armed_for = when

    def _fire(self) -> None:
        self._timer = None
        self._armed_for = math.inf
        loop = asyncio.get_running_loop()
        limit = loop.time() + CLOCK_RESOLUTION  # what asyncio itself treats as due
        for delay, lane in list(self._lanes.items()):
            # Only what was due on entry: a deadline a callback adds waits for the next round,
            # as a timer added by a timer's callback does in asyncio.
            for _ in range(len(lane)):
                if lane[0].due >= limit:
                    break
                deadline = lane.popleft()
                sock = deadline.sock
                if sock is None:
                    continue
                deadline.sock = None
                try:
                    sock.on_heartbeat()  # may add a deadline (a ping's pong, the next ping)
                except Exception:
                    log.exception("heartbeat of %r failed", sock)
            if not lane and self._lanes.get(delay) is lane:
                del self._lanes[delay]
        earliest = min((lane[0].due for lane in self._lanes.values() if lane), default=math.inf)
        if earliest < self._armed_for:  # a callback may have armed it already
            self._arm(loop, earliest)
