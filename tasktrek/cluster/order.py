"""Per-task order on the receiving side of the bus.

Every change of a task raises its version by one and causes one task event, so a node that
has delivered version n of a task knows that n + 1 comes next. The stream's order is the
order in which nodes sent their messages, which can differ from the order of the changes
when two nodes change one task at nearly the same moment, or both queued messages while
Redis was away. An event that arrives ahead of its predecessor is held until the
predecessor arrives, or for `hold_seconds` at most (its node may have died before sending
it): then it is delivered anyway. Nothing is dropped; late ones are delivered late.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, Awaitable, Callable

HOLD_SECONDS = 1.0
REMEMBERED_TASKS = 10_000


def task_version(item: Any) -> tuple[str, int] | None:
    """(task id, version) of a task event; None for anything else."""
    record = getattr(item, "task", None)
    if record is None:
        record = getattr(item, "payload", None)
    if not isinstance(record, dict) or not isinstance(record.get("version"), int):
        return None
    task_id = record.get("taskId", record.get("_id"))
    return (task_id, record["version"]) if isinstance(task_id, str) else None


class TaskOrder:
    def __init__(self, deliver: Callable[[Any], Awaitable[None]], *, hold_seconds: float = HOLD_SECONDS) -> None:
        self.deliver = deliver
        self.hold_seconds = hold_seconds
        self._last: OrderedDict[str, int] = OrderedDict()  # task → last version delivered
        self._held: dict[str, dict[int, Any]] = {}  # task → version → event waiting for its predecessor
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._flushing: set[asyncio.Task] = set()

    async def push(self, item: Any) -> None:
        key = task_version(item)
        if key is None:
            await self.deliver(item)
            return
        task_id, version = key
        last = self._last.get(task_id)
        if last is not None and version > last + 1:
            self._held.setdefault(task_id, {})[version] = item
            if task_id not in self._timers:
                loop = asyncio.get_running_loop()
                self._timers[task_id] = loop.call_later(self.hold_seconds, self._give_up_waiting, task_id)
            return
        await self._deliver(task_id, version, item)
        await self._release(task_id)

    async def _deliver(self, task_id: str, version: int, item: Any) -> None:
        self._last[task_id] = max(version, self._last.get(task_id, 0))
        self._last.move_to_end(task_id)
        while len(self._last) > REMEMBERED_TASKS:
            self._last.popitem(last=False)
        await self.deliver(item)

    async def _release(self, task_id: str) -> None:
        """Deliver the held events that follow, in order."""
        held = self._held.get(task_id)
        while held and (item := held.pop(self._last[task_id] + 1, None)) is not None:
            await self._deliver(task_id, self._last[task_id] + 1, item)
        if not held:
            self._held.pop(task_id, None)
            timer = self._timers.pop(task_id, None)
            if timer is not None:
                timer.cancel()

    def _give_up_waiting(self, task_id: str) -> None:
        self._timers.pop(task_id, None)
        flush = asyncio.get_running_loop().create_task(self._flush(task_id))
        self._flushing.add(flush)
        flush.add_done_callback(self._flushing.discard)

    async def _flush(self, task_id: str) -> None:
        for version, item in sorted(self._held.pop(task_id, {}).items()):
            await self._deliver(task_id, version, item)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._held.clear()
        for flush in self._flushing:
            flush.cancel()
