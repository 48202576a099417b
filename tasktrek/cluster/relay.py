"""The relay: one node's real-time gateway connected to every other node through the bus.

- As the gateway's event source (`subscribe`), it sends what this node's services publish
  (once, by this node) to the bus, and hands whatever the bus delivers, from any node and in
  the bus's one order (each task's events in the order of its versions: `order.py`), to this
  node's delivery, which sends it to its own sockets.
- As the presence announcer's `everywhere` (`emit`), it sends an announcement to rooms on every
  node: presence is decided once for the cluster, by one node, and heard on all.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from . import codec
from .order import TaskOrder

log = logging.getLogger(__name__)

ANNOUNCE_WAIT_SECONDS = 1.0
ITEM = "item"
EMIT = "emit"


class Relay:
    def __init__(self, publisher, bus) -> None:
        self.publisher = publisher  # the services' EventPublisher
        self.bus = bus
        self.broadcaster = None  # this node's, set by `attach`
        self._deliver: Callable[[Any], Awaitable[None]] | None = None
        self.order = TaskOrder(self._delivered)

    async def _delivered(self, item: Any) -> None:
        if self._deliver is not None:
            await self._deliver(item)

    def attach(self, broadcaster) -> None:
        self.broadcaster = broadcaster

    # --- the gateway's event source ------------------------------------------------------

    def subscribe(self, deliver: Callable[[Any], Awaitable[None]]) -> Callable[[], None]:
        self._deliver = deliver
        stop_forwarding = self.publisher.subscribe(self._forward)

        def unsubscribe() -> None:
            stop_forwarding()
            self._deliver = None
            self.order.close()

        return unsubscribe

    async def _forward(self, item: Any) -> None:
        seq = self.bus.publish({ITEM: codec.encode(item)})
        # The request that made the change answers once its event is in the stream (a
        # fraction of a millisecond), so that a client's next change, through any node,
        # is announced after it. Not while Redis is unreachable: REST does not wait for it.
        await self.bus.sent(seq, ANNOUNCE_WAIT_SECONDS)

    # --- the announcer's `everywhere` ----------------------------------------------------

    def emit(self, name: str, *args: Any, rooms) -> int:
        """Send an event to `rooms` on every node. Returns 0: the sockets are counted by
        the node that has them."""
        self.bus.publish({EMIT: [name, list(args), list(rooms)]})
        return 0

    # --- what the bus delivers -----------------------------------------------------------

    async def on_message(self, message: dict) -> None:
        if ITEM in message:
            await self.order.push(codec.decode(message[ITEM]))
        elif EMIT in message:
            name, args, rooms = message[EMIT]
            if self.broadcaster is not None:
                self.broadcaster.emit(name, *args, rooms=rooms)
        else:
            log.warning("skipping an unknown bus message")
