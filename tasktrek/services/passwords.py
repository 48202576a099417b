"""bcrypt off the event loop, in a bounded, fair work queue.

One bcrypt check at the default cost is ~0.3 s of CPU. Run without a bound, a storm of
failed logins shares the CPU with every real user's login, and all of them take as long
as the whole storm. `PasswordWork` runs at most `workers` jobs at once (≈ the cores), keeps
at most `max_waiting` waiting, lets no client address hold more than `per_client` of the
places (waiting or running), and hands a freed worker to the addresses in turn, those
without a recent failed login first; when the queue is full, such an address takes the place
of the suspect's job that queued last (refused then). A job that finds no place is refused at once with 429
and a Retry-After estimated from the queue: a storm costs its sender fast refusals, not the
other users their logins. A storm from many addresses fails at each of them, so the real
users' logins still go first.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import Counter, OrderedDict, deque
from typing import Callable, TypeVar

from ..errors import TooManyRequests

T = TypeVar("T")
SERVER_BUSY = "too many logins in progress, try again later"
INITIAL_JOB_SECONDS = 0.3  # bcrypt at cost 12, until measured


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class PasswordWork:
    def __init__(self, workers: int, max_waiting: int, per_client: int, *, suspect_seconds: float = 15 * 60,
                 max_suspects: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.workers = workers
        self.max_waiting = max_waiting
        self.per_client = per_client
        self.suspect_seconds = suspect_seconds
        self.max_suspects = max_suspects
        self.clock = clock
        self._running = 0
        # Waiting jobs by client, in turn: clients in good standing, then suspects.
        self._lanes: tuple[OrderedDict[str, deque[asyncio.Future[None]]], ...] = (OrderedDict(), OrderedDict())
        self._suspects: OrderedDict[str, float] = OrderedDict()  # client → when its last failure counts no more
        self._waiting_count = 0
        self._held: Counter[str] = Counter()  # places (waiting or running) per client
        self._job_seconds = INITIAL_JOB_SECONDS  # a moving average, for Retry-After

    async def run(self, client: str, job: Callable[..., T], *args) -> T:
        """`job(*args)` in a worker thread once a worker is free for `client`; raises
        TooManyRequests at once when there is no place for it."""
        if self._held[client] >= self.per_client:
            raise TooManyRequests(self.retry_after(), message=SERVER_BUSY)
        if self._running >= self.workers and self._waiting_count >= self.max_waiting:
            # Full: a client in good standing takes the place of the suspect who queued last
            # (else a storm from many addresses keeps the queue full and real users out).
            if self._lane(client) is not self._lanes[0] or not self._refuse_last_suspect():
                raise TooManyRequests(self.retry_after(), message=SERVER_BUSY)
        self._held[client] += 1
        try:
            if self._running < self.workers and not self._waiting_count:
                self._running += 1
            else:
                await self._wait_turn(client)
            try:
                started = self.clock()
                result = await asyncio.to_thread(job, *args)
                self._job_seconds += (self.clock() - started - self._job_seconds) / 8
                return result
            finally:
                self._running -= 1
                self._next()
        finally:
            self._held[client] -= 1
            if not self._held[client]:
                del self._held[client]

    def failed(self, client: str) -> None:
        """`client` just failed a login: its next jobs wait behind those of other clients."""
        self._suspects[client] = self.clock() + self.suspect_seconds
        self._suspects.move_to_end(client)
        while len(self._suspects) > self.max_suspects:
            self._suspects.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._suspects.pop(client, None)

    def _lane(self, client: str) -> OrderedDict[str, deque[asyncio.Future[None]]]:
        until = self._suspects.get(client)
        if until is not None and until <= self.clock():
            del self._suspects[client]
            until = None
        return self._lanes[until is not None]

    def retry_after(self) -> int:
        """Seconds until a place is likely to be free."""
        rounds = (self._waiting_count + 1) / self.workers
        return max(1, math.ceil(rounds * self._job_seconds))

    def stats(self) -> dict[str, int]:
        return {"running": self._running, "waiting": self._waiting_count, "clients": len(self._held)}

    async def _wait_turn(self, client: str) -> None:
        turn = asyncio.get_running_loop().create_future()
        lane = self._lane(client)
        lane.setdefault(client, deque()).append(turn)
        self._waiting_count += 1
        try:
            await turn  # _next() counted this job as running when it gave the turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # given the turn, then cancelled: pass it on
                self._running -= 1
                self._next()
            else:
                self._forget(lane, client, turn)
            raise

    def _forget(self, lane: OrderedDict, client: str, turn: asyncio.Future) -> None:
        queue = lane.get(client)
        if queue is not None and turn in queue:
            queue.remove(turn)
            self._waiting_count -= 1
            if not queue:
                del lane[client]

    def _refuse_last_suspect(self) -> bool:
        """Answer the suspect's job that queued last with 429 now; False when none waits."""
        suspects = self._lanes[1]
        if not suspects:
            return False
        client, queue = next(reversed(suspects.items()))
        turn = queue.pop()
        self._waiting_count -= 1
        if not queue:
            del suspects[client]
        if not turn.done():
            turn.set_exception(TooManyRequests(self.retry_after(), message=SERVER_BUSY))
        return True

    def _next(self) -> None:
        """Give free workers to waiting jobs, one client after another, the lane of clients
        in good standing first."""
        while self._running < self.workers and (lane := next((q for q in self._lanes if q), None)) is not None:
            client, queue = next(iter(lane.items()))
            turn = queue.popleft()
            self._waiting_count -= 1
            if queue:
                lane.move_to_end(client)
            else:
                del lane[client]
            if turn.cancelled():  # its task is being cancelled and no longer wants the turn
                continue
            self._running += 1
            turn.set_result(None)
