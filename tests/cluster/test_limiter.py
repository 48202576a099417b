"""The failed-login limit shared by every node, against the real Redis."""

from __future__ import annotations

import pytest

from tasktrek.cluster.limiter import RedisLoginLimiter
from tasktrek.errors import TooManyRequests

KEY = ("alice@example.com", "203.0.113.7")


async def test_nodes_share_one_count(make_client, prefix):
    a = RedisLoginLimiter(make_client(), prefix, max_failures=3, window_seconds=60)
    b = RedisLoginLimiter(make_client(), prefix, max_failures=3, window_seconds=60)
    await a.failed(KEY)
    await b.failed(KEY)
    await a.check(KEY)  # two of three used
    await b.failed(KEY)
    for node in (a, b):
        with pytest.raises(TooManyRequests) as refused:
            await node.check(KEY)
        assert 1 <= refused.value.retry_after <= 60
    await b.check(("alice@example.com", "198.51.100.1"))  # another address is its own key


async def test_a_success_clears_the_count_everywhere(make_client, prefix):
    a = RedisLoginLimiter(make_client(), prefix, max_failures=2, window_seconds=60)
    b = RedisLoginLimiter(make_client(), prefix, max_failures=2, window_seconds=60)
    await a.failed(KEY)
    await a.succeeded(KEY)
    await b.failed(KEY)
    await b.check(KEY)


async def test_failures_expire_with_the_window(make_client, prefix, redis):
    limiter = RedisLoginLimiter(make_client(), prefix, max_failures=1, window_seconds=60)
    await limiter.failed(KEY)
    with pytest.raises(TooManyRequests):
        await limiter.check(KEY)
    (key,) = [k async for k in redis.scan_iter(match=prefix + "*")]
    assert "alice" not in key and "203.0.113.7" not in key  # hashed: no email or address in Redis
    assert 0 < await redis.pttl(key) <= 60_000  # the key goes away by itself
    members = await redis.zrange(key, 0, -1, withscores=True)
    await redis.zadd(key, {members[0][0]: members[0][1] - 61_000})  # as if the failure were old
    await limiter.check(KEY)


async def test_without_redis_each_node_counts_on_its_own(make_client, prefix, redis_proxy, redis_url):
    from .conftest import db_of

    limiter = RedisLoginLimiter(make_client(redis_proxy.url(db_of(redis_url))), prefix, max_failures=2, window_seconds=60)
    await redis_proxy.stop()
    await limiter.failed(KEY)
    await limiter.check(KEY)
    await limiter.failed(KEY)
    with pytest.raises(TooManyRequests):
        await limiter.check(KEY)  # logins go on being limited, never fail for Redis
