"""The recovery service's rules, called directly on a real SQLite store."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from tasktrek.services import Services
from tasktrek.services.recovery import MIN_LOG_SECONDS
from tasktrek.settings import Settings
from tasktrek.store import SqliteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def core(tmp_path):
    store = SqliteStore(tmp_path / "core.db")
    await store.open()
    services = Services.build(store, Settings(jwt_secret="s" * 40, bcrypt_rounds=4, recovery_max_events=4))
    clock = services.recovery.now = Clock()
    owner, _ = await services.users.register("Owner", "owner@example.com", "correct horse")
    assignee, _ = await services.users.register("Assignee", "assignee@example.com", "correct horse")
    yield services, clock, owner, assignee
    await store.close()


async def dropped_session(services, user, rooms=()):
    session = replace(await services.recovery.open(user.id, "sid-1"), rooms=tuple(rooms))
    await services.recovery.dropped(session)
    return session


async def test_only_the_users_own_recent_dropped_session_is_recovered(core):
    services, clock, owner, assignee = core
    recovery = services.recovery
    live = await recovery.open(assignee.id, "sid-0")
    assert await recovery.recover(assignee.id, live.pid, None) is None  # never dropped
    session = await dropped_session(services, assignee)
    assert await recovery.recover(owner.id, session.pid, None) is None  # another user's
    assert await recovery.recover(assignee.id, "unknown", None) is None
    assert await recovery.recover(assignee.id, 42, None) is None
    clock.now += recovery.window - 1
    replay = await recovery.recover(assignee.id, session.pid, None)
    assert replay is not None and replay.session.sid == "sid-1" and replay.missed == ()
    clock.now += 1
    assert await recovery.recover(assignee.id, session.pid, None) is None  # the window passed


async def test_missed_events_follow_the_rooms_and_their_removals(core):
    services, clock, owner, assignee = core
    task = await services.tasks.create(owner, {"title": "Ship", "assigned_to": assignee.id})
    session = await dropped_session(services, assignee, rooms=[task.id])
    await services.tasks.set_status(owner, task.id, "done")  # reaches the assignee, notifies them
    await services.tasks.assign(owner, task.id, None)  # reaches them once more, then removes them
    await services.tasks.set_status(owner, task.id, "todo")  # no longer theirs

    replay = await services.recovery.recover(assignee.id, session.pid, None)
    assert [(e.event, e.payload.get("status", e.payload.get("type"))) for e in replay.missed] == [
        ("task:updated", "done"), ("notification:new", "task_status_changed"),
        ("task:assigned", "done"), ("notification:new", "task_unassigned"),
    ]
    assert replay.rooms == ()  # not joined again: the task is no longer visible to them
    latest = await services.recovery.store.latest_offset()
    assert replay.through == int(latest)
    # From the client's last offset on, and never more than the maximum.
    after_first = await services.recovery.recover(assignee.id, session.pid, replay.missed[0].offset)
    assert [e.offset for e in after_first.missed] == [e.offset for e in replay.missed[1:]]
    await services.tasks.assign(owner, task.id, assignee.id)
    assert await services.recovery.recover(assignee.id, session.pid, None) is None  # 6 > 4


async def test_pruning_is_bounded_by_the_window(core):
    services, clock, owner, assignee = core
    await services.tasks.create(owner, {"title": "Old"})
    old = await dropped_session(services, assignee)
    clock.now += services.recovery.window + 1
    assert await services.recovery.prune() >= 1
    assert await services.recovery.store.get_session(old.pid) is None


async def test_a_dead_nodes_session_is_not_recovered_once_what_it_missed_was_pruned(core):
    services, clock, owner, assignee = core
    recovery = services.recovery
    recovery.shared = True  # cluster mode: a session still marked connected belongs to a dead node
    task = await services.tasks.create(owner, {"title": "Ship", "assigned_to": assignee.id})
    orphan = await recovery.open(assignee.id, "sid-9")
    await services.tasks.set_status(owner, task.id, "done")  # reaches the assignee
    replay = await recovery.recover(assignee.id, orphan.pid, None)
    assert replay is not None and [e.event for e in replay.missed] == ["task:updated", "notification:new"]

    clock.now = time.time() + max(recovery.window, MIN_LOG_SECONDS) + 1  # the log is stamped by the wall clock
    assert await recovery.prune() >= 2  # what the session missed is gone from the log
    await services.tasks.set_status(owner, task.id, "todo")
    assert await recovery.recover(assignee.id, orphan.pid, None) is None  # a reload, not a gap


async def test_a_dropped_session_is_not_recovered_once_what_it_missed_was_pruned(core):
    """The log is pruned by when entries were written; the window counts from when the drop
    was noticed (up to a heartbeat later, or at the restart after a crash). Within the
    window, a session whose missed entries are gone is a reload, never a recovery that
    silently lacks them."""
    services, clock, owner, assignee = core
    recovery = services.recovery
    task = await services.tasks.create(owner, {"title": "Ship", "assigned_to": assignee.id})
    session = await recovery.open(assignee.id, "sid-1")
    await services.tasks.set_status(owner, task.id, "done")  # reaches the assignee
    clock.now = time.time() + max(recovery.window, MIN_LOG_SECONDS) + 1  # the log is stamped by the wall clock
    await recovery.dropped(session)  # noticed late: well within the window from here
    assert await recovery.prune() >= 2
    assert await recovery.recover(assignee.id, session.pid, None) is None
    # Nothing missed, nothing pruned since its position: recovered.
    await recovery.dropped(later := await recovery.open(assignee.id, "sid-2"))
    assert await recovery.recover(assignee.id, later.pid, None) is not None
