"""The bus: one Redis stream that every node publishes to and reads from.

A message is published once, by the node that has it to tell, and every node (the publisher
too) reads every message in the stream's order and hands it to `deliver`. That one order is
what keeps the events of one task in the order of its changes on every node.

Redis Streams rather than pub/sub (as socket.io's redis-streams adapter does): a node whose
connection drops resumes reading after the last entry it saw, so its sockets miss nothing;
messages published while Redis is unreachable wait in order in the publisher's queue and are
sent when it is back. A retried send may reach the stream twice (the connection broke after
Redis took it); each message carries its publisher's id and a sequence number, and readers
skip what they have delivered already. The stream is trimmed to about `maxlen` entries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict, deque
from typing import Any, Awaitable, Callable

from .connection import UNAVAILABLE, reason, retry_delay

log = logging.getLogger(__name__)

BLOCK_MS = 2000  # one blocking read waits this long for new entries
READ_COUNT = 500  # entries fetched per read
SEND_BATCH = 200  # messages sent per round trip
DEFAULT_MAXLEN = 100_000
DEFAULT_MAX_PENDING = 100_000
MAX_PUBLISHERS_REMEMBERED = 1000
STOP_SECONDS = 1.0
FIELD = "m"

Deliver = Callable[[Any], Awaitable[None]]


class Pulse:
    """Wakes everyone waiting at the moment of each `pulse()`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def pulse(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class StreamBus:
    def __init__(
        self,
        redis,
        key: str,
        node_id: str,
        deliver: Deliver,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self.redis = redis
        self.key = key
        self.node_id = node_id
        self.deliver = deliver
        self.maxlen = maxlen
        self.max_pending = max_pending
        self.last_id: str | None = None  # the last stream entry read; None until reading starts
        self.dropped = 0  # messages dropped because the queue overflowed while Redis was away
        self._seq = 0
        self._pending: deque[tuple[int, str]] = deque()
        self._has_pending = asyncio.Event()
        self._reading = asyncio.Event()  # set once the starting point is known
        self._delivered: OrderedDict[str, int] = OrderedDict()  # publisher → last sequence delivered
        self._idle = asyncio.Event()  # nothing left to send
        self._idle.set()
        self._sent_seq = 0  # every message up to this one is in the stream
        self._failing = False  # the last send failed: Redis is unreachable
        self._progress = Pulse()
        self._tasks: list[asyncio.Task] = []
        self._closing = False

    # --- publishing ----------------------------------------------------------------------

    def publish(self, message: Any) -> int:
        """Queue `message` (anything JSON can encode) for every node; returns at once, with
        the message's sequence number (see `sent`)."""
        self._seq += 1
        data = json.dumps({"o": self.node_id, "s": self._seq, "m": message}, separators=(",", ":"))
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()
            self.dropped += 1
            log.error("bus queue full while Redis is unreachable: dropped the oldest message (%d so far)", self.dropped)
        self._pending.append((self._seq, data))
        self._idle.clear()
        self._has_pending.set()
        return self._seq

    async def sent(self, seq: int, timeout: float) -> bool:
        """Wait until message `seq` is in the stream, at most `timeout` seconds, and not at
        all while Redis is unreachable. True if it is."""
        if self._failing or not self._reading.is_set():
            return False
        try:
            async with asyncio.timeout(timeout):
                while self._sent_seq < seq and not self._failing:
                    await self._progress.wait()
        except TimeoutError:
            return False
        return self._sent_seq >= seq

    async def _send_loop(self) -> None:
        await self._reading.wait()  # never publish before this node knows where its reading starts
        failures = 0
        while True:
            await self._has_pending.wait()
            batch = [data for _, data in list(self._pending)[:SEND_BATCH]]
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for data in batch:
                        pipe.xadd(self.key, {FIELD: data}, maxlen=self.maxlen, approximate=True)
                    await pipe.execute()
            except UNAVAILABLE as exc:
                if self._closing:
                    return
                if failures == 0:
                    log.warning("Redis unreachable (%s): %d message(s) wait to be published", reason(exc), len(self._pending))
                    self._failing = True
                    self._progress.pulse()
                await asyncio.sleep(retry_delay(failures))
                failures += 1
                continue
            if failures:
                log.info("Redis reachable again: publishing resumed")
                failures = 0
                self._failing = False
            for _ in batch:
                self._sent_seq = self._pending.popleft()[0]
            self._progress.pulse()
            if not self._pending:
                self._has_pending.clear()
                self._idle.set()

    # --- reading -------------------------------------------------------------------------

    async def _starting_point(self) -> str:
        """Where reading starts: after the newest entry already in the stream."""
        newest = await self.redis.xrevrange(self.key, count=1)
        return newest[0][0] if newest else "0-0"

    async def _read_loop(self) -> None:
        failures = 0
        while True:
            try:
                if self.last_id is None:
                    self.last_id = await self._starting_point()
                    self._reading.set()
                    log.info("reading the bus %s after entry %s", self.key, self.last_id)
                answer = await self.redis.xread({self.key: self.last_id}, count=READ_COUNT, block=BLOCK_MS)
            except UNAVAILABLE as exc:
                if self._closing:
                    return
                if failures == 0:
                    log.warning("Redis unreachable (%s): delivery across nodes paused, retrying", reason(exc))
                await asyncio.sleep(retry_delay(failures))
                failures += 1
                continue
            if failures:
                log.info("Redis reachable again: delivery resumed after entry %s", self.last_id)
                failures = 0
            for _, entries in answer or ():
                for entry_id, fields in entries:
                    self.last_id = entry_id
                    await self._deliver(fields.get(FIELD))

    async def _deliver(self, data: str | None) -> None:
        try:
            envelope = json.loads(data)
            origin, seq, message = envelope["o"], envelope["s"], envelope["m"]
        except (TypeError, ValueError, KeyError):
            log.warning("skipping a malformed bus entry")
            return
        if seq <= self._delivered.get(origin, 0):
            return  # a retried send that had reached the stream already
        self._delivered[origin] = seq
        self._delivered.move_to_end(origin)
        while len(self._delivered) > MAX_PUBLISHERS_REMEMBERED:
            self._delivered.popitem(last=False)
        try:
            await self.deliver(message)
        except Exception:
            log.exception("delivering a bus message failed")

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._closing = False
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read_loop()), loop.create_task(self._send_loop())]

    async def started(self) -> None:
        """Return once this node reads the stream (Redis answered at least once)."""
        await self._reading.wait()

    async def flushed(self) -> None:
        """Return once every message published so far is in the stream."""
        await self._idle.wait()

    async def close(self, flush_timeout: float = 2.0) -> None:
        """Stop, after trying for a moment to send what is still queued."""
        if self._pending and self._reading.is_set():
            try:
                await asyncio.wait_for(self._idle.wait(), flush_timeout)
            except TimeoutError:
                log.warning("closing with %d unpublished message(s): Redis unreachable", len(self._pending))
        self._closing = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            if stuck:
                # A blocking read does not always give way to cancellation inside redis-py:
                # breaking its connection ends it.
                await self.redis.connection_pool.disconnect()
                await asyncio.wait(stuck, timeout=STOP_SECONDS)
        self._tasks = []

    def stats(self) -> dict[str, int]:
        return {"bus_pending": len(self._pending), "bus_dropped": self.dropped}
