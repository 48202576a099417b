"""Per-task order on the receiving side, and the codec that carries the core's events."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from tasktrek.cluster import codec
from tasktrek.cluster.order import TaskOrder, task_version
from tasktrek.events import LogEntry, NotificationsReadAll, UserLoggedOut


class Item:
    def __init__(self, task_id: str, version: int) -> None:
        self.task = {"_id": task_id, "version": version}

    def __repr__(self) -> str:
        return f"{self.task['_id']}v{self.task['version']}"


async def test_an_event_ahead_of_its_predecessor_waits_for_it():
    delivered: list = []

    async def deliver(item) -> None:
        delivered.append(repr(item))

    order = TaskOrder(deliver, hold_seconds=60)
    for item in (Item("t", 1), Item("t", 3), Item("u", 7), Item("t", 4), "not a task event", Item("t", 2)):
        await order.push(item)
    assert delivered == ["tv1", "uv7", "'not a task event'", "tv2", "tv3", "tv4"]
    await order.push(Item("t", 2))  # a late duplicate-looking one is still delivered
    assert delivered[-1] == "tv2"
    order.close()


async def test_an_event_whose_predecessor_never_comes_is_delivered_after_the_hold():
    delivered: list = []
    all_three = asyncio.Event()

    async def deliver(item) -> None:
        delivered.append(repr(item))
        if len(delivered) == 3:
            all_three.set()

    order = TaskOrder(deliver, hold_seconds=0.05)
    await order.push(Item("t", 1))
    await order.push(Item("t", 4))
    await order.push(Item("t", 3))
    assert delivered == ["tv1"]
    await asyncio.wait_for(all_three.wait(), 5)
    assert delivered == ["tv1", "tv3", "tv4"]
    order.close()


def test_task_version_of_records_and_of_payloads():
    assert task_version(Item("t", 2)) == ("t", 2)
    assert task_version(NotificationsReadAll("u", 3)) is None


def test_the_codec_carries_every_published_kind():
    logged = LogEntry("task:updated", {"taskId": "t", "version": 2}, users=("u1",), tasks=("t",), leaving=("u2",),
                      met=("u3", "u4"), offset="7", at=1.5)
    assert task_version(logged) == ("t", 2)
    for item in (NotificationsReadAll("u1", 3), UserLoggedOut("u1"), logged):
        assert codec.decode(codec.encode(item)) == item
    assert codec._revived(codec._plain({"at": datetime(2026, 1, 2, tzinfo=timezone.utc), "ids": ("a",)})) == {
        "at": datetime(2026, 1, 2, tzinfo=timezone.utc), "ids": ["a"],
    }
