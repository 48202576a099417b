"""Live events through the official clients: every server event of the contract's table
reaches exactly its recipients, once per socket, with the REST shape plus the extra keys."""

from __future__ import annotations

import asyncio

import pytest

from tasktrek.http.keys import SERVICES

from .clients import ConnectRefused
from .harness import Pause


def task_payload(task: dict, actor) -> dict:
    return {**task, "taskId": task["_id"], "actor": actor.id}


@pytest.fixture
async def people(harness):
    owner, assignee, other, stranger = [await harness.register(n) for n in ("Owner", "Assignee", "Other", "Stranger")]
    return owner, assignee, other, stranger


async def test_task_created(harness, clients, people):
    owner, assignee, other, stranger = people
    o, a, x, s = [await clients.online(u) for u in people]
    task = await harness.create_task(owner, title="assigned at birth", assignedTo=assignee.id)
    assert await o.event("task:created") == task_payload(task, owner)
    assert await a.event("task:created") == task_payload(task, owner)
    alone = await harness.create_task(owner, title="mine only")
    assert await o.event("task:created") == task_payload(alone, owner)
    for client in (x, s):
        await client.barrier()
        assert client.received("task:created") == []
    await a.barrier()
    assert len(a.received("task:created")) == 1
    await o.barrier()
    assert len(o.received("task:created")) == 2


async def test_task_updated_by_owner_and_by_assignee(harness, clients, people):
    owner, assignee, other, stranger = people
    task = await harness.create_task(owner, assignedTo=assignee.id)
    o, a, x, s = [await clients.online(u) for u in people]
    updated = await harness.update_task(owner, task["_id"], title="renamed", priority="high")
    for client in (o, a):
        payload = await client.event("task:updated")
        assert payload == task_payload(updated, owner)
        assert payload["title"] == "renamed" and payload["version"] == 2
    moved = await harness.set_status(assignee, task["_id"], "in-progress")
    for client in (o, a):
        assert await client.event("task:updated") == task_payload(moved, assignee)
    for client in (x, s):
        await client.barrier()
        assert client.received("task:updated") == []


async def test_each_socket_gets_an_event_once_across_overlapping_rooms(harness, clients, people):
    owner, assignee, *_ = people
    task = await harness.create_task(owner, assignedTo=assignee.id)
    tab1, tab2 = await clients.online(owner), await clients.online(owner)
    a = await clients.online(assignee)
    for client in (tab1, a):  # in task:<id> as well as in their user:<id>
        assert await client.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    await harness.update_task(owner, task["_id"], title="once")
    for client in (tab1, tab2, a):
        await client.event("task:updated")
        await client.barrier()
        assert len(client.received("task:updated")) == 1


async def test_task_assigned_reassigned_and_unassigned(harness, clients, people):
    owner, assignee, other, stranger = people
    task = await harness.create_task(owner)
    o, a, x, s = [await clients.online(u) for u in people]

    first = await harness.assign(owner, task["_id"], assignee)
    expected = {**task_payload(first, owner), "assignedBy": owner.id, "previousAssignee": None}
    assert await o.event("task:assigned") == expected
    assert await a.event("task:assigned") == expected
    assert first["assignedTo"] == assignee.id

    assert await a.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    second = await harness.assign(owner, task["_id"], other)
    expected = {**task_payload(second, owner), "assignedBy": owner.id, "previousAssignee": assignee.id}
    for client in (o, a, x):  # owner, previous and new assignee
        assert await client.event("task:assigned") == expected

    # The previous assignee lost access: its socket left task:<id>, so a later update of
    # the task no longer reaches it.
    await harness.update_task(owner, task["_id"], title="after reassignment")
    await o.event("task:updated")
    await x.event("task:updated")
    await a.barrier()
    assert a.received("task:updated") == []

    third = await harness.assign(owner, task["_id"], None)
    expected = {**task_payload(third, owner), "assignedBy": owner.id, "previousAssignee": other.id}
    assert third["assignedTo"] is None
    for client in (o, x):
        assert await client.event("task:assigned") == expected
    for client in (a, s):
        await client.barrier()
    assert len(a.received("task:assigned")) == 2
    assert s.received("task:assigned") == [] and s.received("task:updated") == []


async def test_task_deleted_and_restored(harness, clients, people):
    owner, assignee, other, stranger = people
    task = await harness.create_task(owner, assignedTo=assignee.id)
    o, a, x, s = [await clients.online(u) for u in people]
    assert await a.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    assert await o.call("join:task", {"taskId": task["_id"]}) == {"ok": True}

    await harness.delete_task(owner, task["_id"])
    deleted = await harness.get_task(owner, task["_id"])
    for client in (o, a):
        payload = await client.event("task:deleted")
        assert payload == task_payload(deleted, owner)
        assert payload["isDeleted"] is True and payload["deletedAt"]
    rooms = harness.gateway.rooms.members(f"task:{task['_id']}")
    assert {c.user_id for c in rooms} == {owner.id}  # the assignee's socket left the room
    assert await a.call("join:task", {"taskId": task["_id"]}) == {"ok": False, "message": "task not found or not yours"}

    restored = await harness.restore_task(owner, task["_id"])
    for client in (o, a):
        assert await client.event("task:restored") == task_payload(restored, owner)
    assert await a.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    for client in (x, s):
        await client.barrier()
        assert client.received("task:deleted") == [] and client.received("task:restored") == []
    for client in (o, a):
        await client.barrier()
        assert len(client.received("task:deleted")) == 1 and len(client.received("task:restored")) == 1


async def test_notifications_new_updated_and_count(harness, clients, people):
    owner, assignee, other, stranger = people
    o = await clients.online(owner)
    tab1, tab2 = await clients.online(assignee), await clients.online(assignee)
    x = await clients.online(other)

    task = await harness.create_task(owner, assignedTo=assignee.id)  # notifies the assignee
    stored = (await harness.notifications(assignee))["notifications"][0]
    for tab in (tab1, tab2):
        assert await tab.event("notification:new") == stored
    assert stored["type"] == "task_assigned" and stored["data"]["taskId"] == task["_id"]

    read = await harness.mark_read(assignee, stored["_id"])
    for tab in (tab1, tab2):  # keeps the other tab in sync
        payload = await tab.event("notification:updated")
        assert payload == read and payload["read"] is True
    unread = await harness.mark_read(assignee, stored["_id"], read=False)
    assert await tab2.event("notification:updated") == unread

    for client in (o, x):  # nobody is notified of their own action, strangers of nothing
        await client.barrier()
        assert client.received("notification:new") == [] and client.received("notification:updated") == []

    late = await clients.new()
    await late.connect(assignee.token)
    assert await late.event("notification:count") == {"unread": 1}


async def test_join_task_is_for_owner_and_assignee_only(harness, clients, people):
    owner, assignee, other, stranger = people
    task = await harness.create_task(owner, assignedTo=assignee.id)
    o, a, s = await clients.online(owner), await clients.online(assignee), await clients.online(stranger)
    refused = {"ok": False, "message": "task not found or not yours"}
    assert await o.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    assert await a.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    assert await s.call("join:task", {"taskId": task["_id"]}) == refused
    assert await s.call("join:task", {"taskId": "0" * 24}) == refused
    assert await s.call("join:task", {"taskId": "../etc"}) == refused
    assert await s.call("join:task", {}) == {"ok": False, "message": "taskId is required"}
    assert await s.call("join:task", {"taskId": 12}) == {"ok": False, "message": "taskId is required"}
    members = harness.gateway.rooms.members(f"task:{task['_id']}")
    assert {c.user_id for c in members} == {owner.id, assignee.id}

    assert await a.call("leave:task", {"taskId": task["_id"]}) == {"ok": True}
    assert await a.call("leave:task", {"taskId": task["_id"]}) == {"ok": True}  # idempotent
    for payload in ({}, {"taskId": 12}, "nope"):  # leaving nothing: still nothing to refuse
        assert await a.call("leave:task", payload) == {"ok": True}
    members = harness.gateway.rooms.members(f"task:{task['_id']}")
    assert {c.user_id for c in members} == {owner.id}

    await harness.delete_task(owner, task["_id"])
    await o.event("task:deleted")
    assert await o.call("join:task", {"taskId": task["_id"]}) == {"ok": True}  # the owner still sees it
    assert await a.call("join:task", {"taskId": task["_id"]}) == refused


async def test_a_join_answered_before_a_lost_access_is_asked_again(harness, clients, people):
    """The assignee asks to join; while the server waits for the answer (yes), the owner
    unassigns them, and the clean-up of that finds them in no room yet. The join must not
    then land on that stale yes."""
    owner, assignee, _, _ = people
    task = await harness.create_task(owner, assignedTo=assignee.id)
    a = await clients.online(assignee)
    pause = Pause(harness.app[SERVICES].tasks, "join_room")
    joining = asyncio.create_task(a.call("join:task", {"taskId": task["_id"]}))
    await pause.wait()
    await harness.assign(owner, task["_id"], None)
    pause.release()
    assert await joining == {"ok": False, "message": "task not found or not yours"}
    await harness.update_task(owner, task["_id"], title="not for the former assignee")
    await a.barrier()
    assert a.received("task:updated") == []
    assert harness.gateway.rooms.members(f"task:{task['_id']}") == set()


async def test_events_go_only_to_the_app_that_produced_them(make_harness, clients):
    first = clients.harness
    second = await make_harness(name="second")
    alice1, alice2 = await first.register("Alice"), await second.register("Alice")
    c1 = await clients.online(alice1, first)
    c2 = await clients.online(alice2, second)
    await first.create_task(alice1, title="only in the first app")
    assert (await c1.event("task:created"))["title"] == "only in the first app"
    await c2.barrier()
    assert c2.received("task:created") == []
    assert first.gateway is not second.gateway
    assert second.gateway.stats()["connected"] == 1
    # A token of the first app names no user of the second.
    stray = await clients.new(second)
    with pytest.raises(ConnectRefused, match="^invalid token$"):
        await stray.connect(alice1.token)


async def test_acks_for_refusals_and_unknown_events(harness, clients, people):
    """Every client event with an ack gets exactly one reply, unknown ones included."""
    owner = people[0]
    o = await clients.online(owner)
    assert await o.call("no:such:event", {"x": 1}) == {"ok": False, "message": "unknown event"}
    assert await o.call("presence:get", {"userIds": "nope"}) == {"ok": False, "message": "userIds must be a list of user ids"}


async def test_read_all_resyncs_the_unread_count_of_every_tab(harness, clients, people):
    """Not in the contract's table: marking everything read at once names no single
    notification, so every tab of that user gets a fresh `notification:count` instead."""
    owner, assignee, other, _ = people
    tab1, tab2 = await clients.online(assignee), await clients.online(assignee)
    x = await clients.online(other)
    await harness.create_task(owner, assignedTo=assignee.id)
    await harness.create_task(owner, assignedTo=assignee.id)
    for tab in (tab1, tab2):
        await tab.event("notification:new")
        await tab.event("notification:new")
    _, body = await harness.request("PATCH", "/api/notifications/read-all", assignee, expect=200)
    assert body == {"success": True, "modified": 2}
    for tab in (tab1, tab2):
        assert await tab.event("notification:count") == {"unread": 0}
    await x.barrier()
    assert x.received("notification:count") == [{"unread": 0}]  # only its own, from connecting


async def test_requests_do_not_wait_for_delivery(harness, clients, people):
    """Delivery runs beside the requests: while it is held (here by the unread count a
    read-all announces), changes are still answered at once, and their events follow in
    order once it goes on."""
    owner, assignee, _, _ = people
    task = await harness.create_task(owner, assignedTo=assignee.id)
    a = await clients.online(assignee)
    counting = Pause(harness.app[SERVICES].notifications, "unread_count")
    await harness.request("PATCH", "/api/notifications/read-all", assignee, expect=200)
    await counting.wait()  # delivery is now held in the count query
    await harness.set_status(owner, task["_id"], "in-progress")
    await harness.set_status(owner, task["_id"], "done")
    assert a.received("task:updated") == []
    counting.release()
    assert await a.event("notification:count") == {"unread": 0}
    assert [t["status"] for t in [await a.event("task:updated"), await a.event("task:updated")]] == ["in-progress", "done"]
