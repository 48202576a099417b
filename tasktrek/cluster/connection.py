"""The Redis connection of one node.

Redis that is not up yet, or lost while running, never stops the node: REST keeps serving,
the users of the connection (bus, presence) retry with back-off and log why, and `/readyz`
reports it (`probe`). redis-py reconnects by itself on the next command."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.0
# Above the bus's blocking read (bus.BLOCK_MS), so that a silent network is noticed.
SOCKET_TIMEOUT_SECONDS = 10.0
PROBE_TIMEOUT_SECONDS = 1.0
RETRY_SECONDS = (0.1, 0.5, 1, 2, 5)

# Whatever a lost, refused or broken Redis connection raises through redis-py.
UNAVAILABLE = (RedisError, OSError, TimeoutError)


def describe(url: str) -> str:
    """The URL without its credentials, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def retry_delay(attempt: int) -> float:
    return RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]


def reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def connect(url: str, *, name: str | None = None) -> aioredis.Redis:
    """A client for `url` (nothing is sent until the first command). `name` is what
    `CLIENT LIST` shows for its connections."""
    return aioredis.Redis.from_url(
        url,
        client_name=name,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
    )


async def probe(client: aioredis.Redis) -> bool:
    """True if Redis answers a PING now."""
    try:
        return bool(await asyncio.wait_for(client.ping(), PROBE_TIMEOUT_SECONDS))
    except UNAVAILABLE:
        return False
