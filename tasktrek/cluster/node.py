"""This process as one node of a cluster: its id, its Redis connection, and the shared parts
built on it. Importing this module does not import redis; building a `ClusterNode` does."""

from __future__ import annotations

import logging
import secrets
from typing import AsyncIterator

log = logging.getLogger(__name__)


class ClusterNode:
    def __init__(self, url: str, prefix: str, node_ttl_seconds: float) -> None:
        from . import connection

        self._connection = connection
        self.url = url
        self.prefix = prefix
        self.node_ttl_seconds = node_ttl_seconds
        self.node_id = secrets.token_hex(8)  # new on every start: a restarted node is a new node
        self.redis = None  # the client, from start-up to clean-up

    @property
    def where(self) -> str:
        return self._connection.describe(self.url)

    async def probe(self) -> bool:
        """True if Redis answers now (for /readyz)."""
        return self.redis is not None and await self._connection.probe(self.redis)

    async def lifespan(self, app) -> AsyncIterator[None]:
        """cleanup_ctx: say at start-up whether Redis answers (the parts built on it wait for
        it by themselves), and close the connection last."""
        self.redis = self._connection.connect(self.url, name=f"tasktrek-{self.node_id}")
        try:
            await self.redis.ping()
            log.info("cluster mode: node %s on Redis %s", self.node_id, self.where)
        except self._connection.UNAVAILABLE as exc:
            log.warning(
                "cluster mode: Redis %s unavailable (%s); serving the API meanwhile, real-time "
                "delivery across nodes waits for it and resumes by itself",
                self.where, self._connection.reason(exc),
            )
        yield
        await self.redis.aclose()
        self.redis = None
