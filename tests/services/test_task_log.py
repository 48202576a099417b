"""The task service on a real SQLite store, called directly: each change is committed with
its notifications and log entries, and what is published is exactly what was logged."""

from __future__ import annotations

import pytest

from tasktrek.services import Services
from tasktrek.settings import Settings
from tasktrek.store import SqliteStore


@pytest.fixture
async def core(tmp_path):
    store = SqliteStore(tmp_path / "core.db")
    await store.open()
    services = Services.build(store, Settings(jwt_secret="s" * 40, bcrypt_rounds=4))
    published: list = []

    async def record(item) -> None:
        published.append(item)

    services.events.subscribe(record)
    yield services, store, published
    await store.close()


async def test_every_change_is_published_as_logged(core):
    services, store, published = core
    owner, _ = await services.users.register("Owner", "owner@example.com", "correct horse")
    assignee, _ = await services.users.register("Assignee", "assignee@example.com", "correct horse")

    task = await services.tasks.create(owner, {"title": "Ship", "assigned_to": assignee.id})
    await services.tasks.set_status(assignee, task.id, "done")
    await services.tasks.assign(owner, task.id, None)

    logged = await store.events_after("0", 100)
    assert [(e.event, e.offset) for e in published] == [(e.event, e.offset) for e in logged]
    assert [e.event for e in logged] == [
        "task:created", "notification:new",  # to the assignee
        "task:updated", "notification:new",  # to the owner
        "task:assigned", "notification:new",  # the assignee is unassigned
    ]
    created, _, updated, _, unassigned, _ = logged
    o, a = owner.id, assignee.id
    # Assigning makes no contacts; the assignee's first status change does.
    assert (created.users, created.tasks, created.met) == ((o, a), (), ())
    assert (updated.users, updated.tasks, updated.payload["status"], updated.met) == ((o, a), (task.id,), "done", (o, a))
    assert unassigned.met == ()
    assert (unassigned.users, unassigned.leaving, unassigned.payload["previousAssignee"]) == ((o, a), (a,), a)

    stored = {n.id: n for n in (await store.find_notifications(o, unread_only=False, skip=0, limit=10))[0]}
    stored |= {n.id: n for n in (await store.find_notifications(a, unread_only=False, skip=0, limit=10))[0]}
    announced = [e.payload for e in logged if e.event == "notification:new"]
    assert sorted(n["_id"] for n in announced) == sorted(stored)
    assert [(n["user"], n["type"]) for n in announced] == [(a, "task_assigned"), (o, "task_status_changed"), (a, "task_unassigned")]


async def test_a_change_that_changes_nothing_logs_nothing(core):
    services, store, published = core
    owner, _ = await services.users.register("Owner", "owner@example.com", "correct horse")
    task = await services.tasks.create(owner, {"title": "Ship"})
    await services.tasks.update(owner, task.id, {"title": "Ship"})
    await services.tasks.assign(owner, task.id, None)
    assert [e.event for e in await store.events_after("0", 100)] == ["task:created"]
    assert len(published) == 1


async def test_log_entries_are_written_as_dataclasses_asdict_would_write_them(core):
    """LogEntry.to_json spells its fields out (asdict deep-copies): the slow twin's text."""
    import json
    from dataclasses import asdict, fields

    from tasktrek.events import LogEntry

    services, store, published = core
    owner, _ = await services.users.register("Owner", "owner@example.com", "correct horse")
    other, _ = await services.users.register("Other", "other@example.com", "correct horse")
    task = await services.tasks.create(owner, {"title": "Tâche </script> \u2028", "assigned_to": other.id})
    await services.tasks.assign(owner, task.id, None)
    entries = [item for item in published if isinstance(item, LogEntry)]
    assert len(entries) >= 4
    for entry in entries + [LogEntry("task:created", {"nested": {"list": [1, None, "é"]}}, at=1.5)]:
        assert entry.to_json() == json.dumps(asdict(entry), separators=(",", ":"))
        assert list(json.loads(entry.to_json())) == [f.name for f in fields(LogEntry)]
        assert LogEntry.from_json(entry.to_json()) == entry
