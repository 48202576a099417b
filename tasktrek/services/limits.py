"""Attempt limits: at most N counted attempts per key in a sliding window.

`AttemptLimiter` is the interface the services use; `MemoryLimiter` keeps the counts in this
process. A cluster passes a `LimiterFactory` that makes limiters sharing one count between
nodes (`tasktrek.cluster.limiter.RedisLoginLimiter` has this interface).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Callable, Protocol

from ..errors import TooManyRequests

Key = tuple[str, ...]


class AttemptLimiter(Protocol):
    async def check(self, key: Key) -> None:
        """Raise TooManyRequests (with retry_after) when `key` has used up its attempts."""

    async def failed(self, key: Key) -> None:
        """Count one attempt against `key`."""

    async def succeeded(self, key: Key) -> None:
        """Forget `key`'s attempts."""


# (name of the limit, attempts allowed, window in seconds) → a limiter
LimiterFactory = Callable[[str, int, float], AttemptLimiter]


class MemoryLimiter:
    """Attempts per key in a sliding window, in this process.

    Bounded: at most `max_keys` keys are tracked, the least recently counted dropped first,
    so a flood of distinct keys cannot grow memory without limit.
    """

    def __init__(self, max_attempts: int, window_seconds: float, *, max_keys: int = 100_000, clock=time.monotonic):
        self.max_attempts = max_attempts
        self.window = window_seconds
        self.max_keys = max_keys
        self.clock = clock
        self._attempts: OrderedDict[Key, deque[float]] = OrderedDict()

    def _recent(self, key: Key) -> deque[float]:
        attempts = self._attempts.get(key, deque())
        horizon = self.clock() - self.window
        while attempts and attempts[0] <= horizon:
            attempts.popleft()
        return attempts

    async def check(self, key: Key) -> None:
        attempts = self._recent(key)
        if len(attempts) >= self.max_attempts:
            raise TooManyRequests(retry_after=max(1, int(attempts[0] + self.window - self.clock()) + 1))

    async def failed(self, key: Key) -> None:
        attempts = self._recent(key)
        attempts.append(self.clock())
        self._attempts[key] = attempts
        self._attempts.move_to_end(key)
        while len(self._attempts) > self.max_keys:
            self._attempts.popitem(last=False)

    async def succeeded(self, key: Key) -> None:
        self._attempts.pop(key, None)


def memory_limiters(name: str, max_attempts: int, window_seconds: float) -> AttemptLimiter:
    return MemoryLimiter(max_attempts, window_seconds)
