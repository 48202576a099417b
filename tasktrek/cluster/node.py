"""This process as one node of a cluster: its id, its Redis connection, and the shared parts
built on it (the bus and its relay, presence). Importing this module does not import redis;
building a `ClusterNode` does."""

from __future__ import annotations

import logging
import secrets
from typing import AsyncIterator, Callable

log = logging.getLogger(__name__)


class ClusterNode:
    def __init__(self, settings) -> None:
        from . import connection
        from .bus import StreamBus
        from .limiter import RedisLoginLimiter

        self._connection = connection
        self.url = settings.redis_url
        self.prefix = settings.redis_prefix
        self.node_ttl_seconds = settings.node_ttl_seconds
        self.node_id = secrets.token_hex(8)  # new on every start: a restarted node is a new node
        # No connection is made before the first command (in `lifespan`).
        self.redis = connection.connect(self.url, name=f"tasktrek-{self.node_id}")
        self.bus = StreamBus(self.redis, f"{self.prefix}bus", self.node_id, self._on_message)
        self._limiter = RedisLoginLimiter
        self.relay = None  # built for the gateway by `relay_for`
        self.presence = None  # built by the gateway through `make_presence`

    def limiters(self, name: str, max_attempts: int, window_seconds: float):
        """A login or sign-up limit counted for every node (the services' LimiterFactory)."""
        return self._limiter(self.redis, f"{self.prefix}{name}:", max_attempts, window_seconds)

    async def _on_message(self, message) -> None:
        if self.relay is not None:
            await self.relay.on_message(message)

    def relay_for(self, publisher):
        """The gateway's event source and announcement emitter: what `publisher` (the
        services') publishes goes to every node, and every node's comes here."""
        from .relay import Relay

        self.relay = Relay(publisher, self.bus)
        return self.relay

    def make_presence(self, grace_seconds: float, on_offline: Callable[[str], None], clock=None):
        """The gateway's presence backend: shared by every node through Redis."""
        from .presence import RedisPresence

        self.presence = RedisPresence(
            self.redis, self.prefix, self.node_id, grace_seconds, on_offline,
            ttl_seconds=self.node_ttl_seconds, clock=clock,
        )
        return self.presence

    @property
    def where(self) -> str:
        return self._connection.describe(self.url)

    async def probe(self) -> bool:
        """True if Redis answers now (for /readyz)."""
        return await self._connection.probe(self.redis)

    async def lifespan(self, app) -> AsyncIterator[None]:
        """cleanup_ctx, before the gateway's: say whether Redis answers (the parts wait for
        it by themselves) and start them; at the end, leave presence at once (the others do
        not wait for the TTL), send what is still queued, and close the connection."""
        try:
            await self.redis.ping()
            log.info("cluster mode: node %s on Redis %s", self.node_id, self.where)
        except self._connection.UNAVAILABLE as exc:
            log.warning(
                "cluster mode: Redis %s unavailable (%s); serving the API meanwhile, real-time "
                "delivery across nodes waits for it and resumes by itself",
                self.where, self._connection.reason(exc),
            )
        self.bus.start()
        if self.presence is not None:
            self.presence.start()
        yield
        if self.presence is not None:
            await self.presence.leave()
        await self.bus.close()
        await self.redis.aclose()
