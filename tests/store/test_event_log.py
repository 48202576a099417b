"""The Store contract, continued: atomic change sets, the event log and recoverable sessions,
run on every backend (see conftest.py)."""

from __future__ import annotations

import inspect
import time
from dataclasses import replace

import pytest

from tasktrek.domain import new_id
from tasktrek.events import LogEntry
from tasktrek.records import Notification, Task, User
from tasktrek.store import ChangeSet, SessionRecord, TaskUpdate

from tests.store.conftest import T0


def entry(n: int, **fields) -> LogEntry:
    return LogEntry("task:updated", {"n": n, "title": "ü ☃"}, users=("u1",), **fields)


def notification_for(user: User, task: Task) -> Notification:
    return Notification(
        id=new_id(), user=user.id, type="task_updated", message="m",
        data={"taskId": task.id}, read=False, created_at=T0,
    )


async def test_a_change_set_writes_the_change_its_notifications_and_its_entries(store, new_user, new_task):
    owner, assignee = await new_user(), await new_user()
    task = await new_task(owner, assigned_to=assignee.id)
    note = notification_for(assignee, task)
    entries = (entry(1, tasks=(task.id,), leaving=("u2",), met=("u3", "u4")), entry(2))

    offsets = await store.apply(ChangeSet(
        task_update=TaskUpdate(task.id, 1, {"title": "Renamed", "version": 2, "updated_at": T0}),
        notifications=(note,),
        events=entries,
    ))

    assert len(offsets) == 2 and int(offsets[0]) < int(offsets[1])
    assert (await store.get_task(task.id)).title == "Renamed"
    assert await store.get_notification(assignee.id, note.id) == note
    logged = await store.events_after("0", 10)
    assert [replace(e, at=0.0) for e in logged] == [replace(e, offset=o) for e, o in zip(entries, offsets)]
    assert all(abs(e.at - time.time()) < 60 for e in logged)
    assert await store.latest_offset() == offsets[-1]


async def test_a_failed_precondition_writes_nothing(store, new_user, new_task):
    owner = await new_user()
    task = await new_task(owner)
    stale = ChangeSet(
        task_update=TaskUpdate(task.id, 7, {"title": "Lost", "version": 8, "updated_at": T0}),
        notifications=(notification_for(owner, task),),
        events=(entry(1),),
    )

    assert await store.apply(stale) is None
    assert await store.get_task(task.id) == task
    assert await store.count_unread(owner.id) == 0
    assert await store.events_after("0", 10) == []


@pytest.mark.parametrize("step", [0, 1])
async def test_a_fault_between_the_writes_of_a_change_leaves_none_of_them(store, new_user, new_task, step):
    """A store that breaks after one of the writes of a change set (for SQLite the first is
    the task write): neither the change, nor its notification, nor its log entry remains."""
    owner, assignee = await new_user(), await new_user()
    task = await new_task(owner, assigned_to=assignee.id)
    note = notification_for(assignee, task)
    name = store.APPLY_STEPS[step]
    real = getattr(store, name)

    class Fault(Exception):
        pass

    # SQLite's steps run in its writer thread (plain functions), MongoDB's are coroutines.
    if inspect.iscoroutinefunction(real):
        async def written_then_broken(*args, **kwargs):
            await real(*args, **kwargs)
            raise Fault(name)
    else:
        def written_then_broken(*args, **kwargs):
            real(*args, **kwargs)
            raise Fault(name)

    setattr(store, name, written_then_broken)
    change = ChangeSet(
        task_update=TaskUpdate(task.id, 1, {"status": "done", "version": 2, "updated_at": T0}),
        notifications=(note,),
        events=(entry(1),),
    )
    with pytest.raises(Fault):
        await store.apply(change)

    assert await store.get_task(task.id) == task
    assert await store.get_notification(assignee.id, note.id) is None
    assert await store.events_after("0", 10) == []
    # The store still works afterwards, and the next change is logged.
    setattr(store, name, real)
    assert await store.apply(change) is not None
    assert len(await store.events_after("0", 10)) == 1


async def test_events_after_pages_in_order_and_ignores_foreign_offsets(store):
    offsets = []
    for n in range(5):
        offsets += await store.apply(ChangeSet(events=(entry(n),)))

    assert [e.payload["n"] for e in await store.events_after(offsets[1], 2)] == [2, 3]
    assert [e.payload["n"] for e in await store.events_after(offsets[4], 10)] == []
    for foreign in ("", "abc", "-1", "9" * 40):
        assert [e.payload["n"] for e in await store.events_after(foreign, 10)] == [0, 1, 2, 3, 4]


async def test_pruning_removes_the_oldest_entries_in_bounded_batches(store):
    for n in range(5):
        await store.apply(ChangeSet(events=(entry(n),)))
    later = time.time() + 1

    assert await store.prune_events(later, 2) == 2
    assert [e.payload["n"] for e in await store.events_after("0", 10)] == [2, 3, 4]
    assert await store.prune_events(time.time() - 3600, 10) == 0  # nothing that old
    assert await store.prune_events(later, 10) == 3
    # Offsets are never reused: the next entry comes after every pruned one.
    (offset,) = await store.apply(ChangeSet(events=(entry(5),)))
    assert int(offset) == 6 and await store.latest_offset() == offset


async def test_latest_offset_of_an_empty_log(store):
    assert await store.latest_offset() == "0"
    assert await store.events_after("0", 10) == []


async def test_sessions_are_saved_replaced_and_pruned(store):
    connected = SessionRecord(pid="p1", sid="s1", user_id="u1", offset="3")
    await store.save_session(connected)
    assert await store.get_session("p1") == connected
    dropped = replace(connected, rooms=("t1", "t2"), disconnected_at=1000.0)
    await store.save_session(dropped)
    assert await store.get_session("p1") == dropped
    assert await store.get_session("unknown") is None

    await store.save_session(SessionRecord(pid="p2", sid="s2", user_id="u2", offset="0", disconnected_at=2000.0))
    await store.save_session(SessionRecord(pid="p3", sid="s3", user_id="u3", offset="0"))  # still connected
    assert await store.prune_sessions(1500.0, 10) == 1
    assert await store.get_session("p1") is None and await store.get_session("p2") is not None
    assert await store.prune_sessions(3000.0, 10) == 1
    assert await store.get_session("p3") is not None  # a connected session is never pruned


async def test_sessions_left_open_by_a_crash_are_ended_and_one_can_be_deleted(store):
    await store.save_session(SessionRecord(pid="p1", sid="s1", user_id="u1", offset="0"))
    await store.save_session(SessionRecord(pid="p2", sid="s2", user_id="u2", offset="0", disconnected_at=5.0))
    assert await store.end_open_sessions(10.0) == 1
    assert (await store.get_session("p1")).disconnected_at == 10.0
    assert (await store.get_session("p2")).disconnected_at == 5.0
    await store.delete_session("p1")
    await store.delete_session("unknown")
    assert await store.get_session("p1") is None and await store.get_session("p2") is not None


def test_an_entry_logged_by_an_earlier_version_still_reads():
    """Entries logged before `met` replaced `gained` (and any field this version lacks)."""
    old = ('{"event":"task:created","payload":{"taskId":"t"},"users":["a","b"],"tasks":[],"leaving":[],'
           '"gained":["b"],"offset":"","at":0.0}')
    assert LogEntry.from_json(old) == LogEntry("task:created", {"taskId": "t"}, users=("a", "b"))
