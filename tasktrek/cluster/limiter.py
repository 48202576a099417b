"""The failed-login limit shared by every node: N nodes must not allow N times the attempts.

A sliding window per key in a Redis sorted set (one member per failure, scored by Redis's
clock), expiring by itself after the window. Keys are hashed, so Redis never holds an email
or a client address in clear.
"""

from __future__ import annotations

import hashlib
import secrets

from ..errors import TooManyRequests
from ..services.limits import MemoryLimiter
from .connection import UNAVAILABLE

# KEYS: the key. ARGV: window ms, max failures. → 0 if allowed, else ms until a failure expires.
CHECK = """
local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then return 0 end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
return math.max(1, oldest + tonumber(ARGV[1]) - now)
"""

# KEYS: the key. ARGV: window ms, a unique member.
FAILED = """
local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
"""


class RedisLoginLimiter:
    """While Redis does not answer, failures are counted in this process instead (each node
    then allows the limit on its own), so that logins never fail because of Redis."""

    def __init__(self, redis, prefix: str, max_failures: int, window_seconds: float) -> None:
        self.fallback = MemoryLimiter(max_failures, window_seconds)
        self.redis = redis
        self.prefix = f"{prefix}login:"
        self.max_failures = max_failures
        self.window_ms = int(window_seconds * 1000)
        self._check = redis.register_script(CHECK)
        self._failed = redis.register_script(FAILED)

    def _key(self, key: tuple[str, ...]) -> str:
        return self.prefix + hashlib.sha256("\0".join(key).encode()).hexdigest()

    async def check(self, key: tuple[str, str]) -> None:
        """Raise TooManyRequests when this key has used up its failures in the window."""
        try:
            wait_ms = await self._check(keys=[self._key(key)], args=[self.window_ms, self.max_failures])
        except UNAVAILABLE:
            await self.fallback.check(key)
            return
        if wait_ms:
            raise TooManyRequests(retry_after=-(-int(wait_ms) // 1000))

    async def failed(self, key: tuple[str, str]) -> None:
        try:
            await self._failed(keys=[self._key(key)], args=[self.window_ms, secrets.token_hex(8)])
        except UNAVAILABLE:
            await self.fallback.failed(key)

    async def succeeded(self, key: tuple[str, str]) -> None:
        await self.fallback.succeeded(key)
        try:
            await self.redis.delete(self._key(key))
        except UNAVAILABLE:
            pass
