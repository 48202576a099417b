"""Coroutines that run beside the work that started them (presence announcements, deliveries),
kept so that they can be waited for (tests, shutdown) or cancelled as a group."""

from __future__ import annotations

import asyncio
from typing import Coroutine


class Background:
    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine) -> asyncio.Task:
        """Run `coro` soon; tasks start in the order they were spawned."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settled(self) -> None:
        """Return once nothing runs, including what the running tasks spawned meanwhile."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def cancel(self, timeout: float = 1.0) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def __len__(self) -> int:
        return len(self._tasks)
