"""Presence through the official clients: tabs, the grace period, contacts only (users who
share a task whose assignee has acted on it)."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import ClientFactory


async def test_contacts_only(harness, clients):
    owner, assignee, stranger = [await harness.register(n) for n in ("Owner", "Assignee", "Stranger")]
    await harness.make_contacts(owner, assignee)
    await harness.create_task(stranger, assignedTo=owner.id)  # assigning alone makes no contact
    a, s = await clients.online(assignee), await clients.online(stranger)

    o = await clients.online(owner)
    assert await a.event("presence:online") == {"userId": owner.id}
    await s.barrier()
    assert s.received("presence:online") == []

    assert await a.call("presence:get") == {"users": sorted([owner.id, assignee.id])}
    assert await s.call("presence:get") == {"users": [stranger.id]}  # only the caller and contacts
    assert await s.call("presence:get", {"userIds": [owner.id, stranger.id]}) == {"users": [stranger.id]}
    assert await a.call("presence:get", {"userIds": [owner.id, stranger.id]}) == {"users": [owner.id]}
    assert await a.call("presence:get", {"userIds": []}) == {"users": []}
    # The event is emitted as well as acked.
    assert await a.event("presence:list") == {"users": sorted([owner.id, assignee.id])}

    await o.disconnect()
    assert await a.event("presence:offline") == {"userId": owner.id}
    await s.barrier()
    assert s.received("presence:offline") == []
    assert await a.call("presence:get") == {"users": [assignee.id]}


async def test_contacts_form_when_the_assignee_acts(harness, clients):
    owner, newcomer = await harness.register("Owner"), await harness.register("Newcomer")
    o, n = await clients.online(owner), await clients.online(newcomer)
    task = await harness.create_task(owner, assignedTo=newcomer.id)  # not contacts yet
    await n.event("task:created")
    assert await n.call("presence:get") == {"users": [newcomer.id]}
    assert await o.call("presence:get", {"userIds": [newcomer.id]}) == {"users": []}
    await harness.set_status(newcomer, task["_id"], "in-progress")  # the assignee acts: contacts now
    assert await n.event("presence:online") == {"userId": owner.id}
    assert await o.event("presence:online") == {"userId": newcomer.id}
    assert await n.call("presence:get") == {"users": sorted([owner.id, newcomer.id])}
    await o.disconnect()
    assert await n.event("presence:offline") == {"userId": owner.id}
    o = await clients.online(owner)
    assert await n.event("presence:online") == {"userId": owner.id}
    await harness.delete_task(owner, task["_id"])  # no longer contacts
    await n.event("task:deleted")
    assert await n.call("presence:get") == {"users": [newcomer.id]}


async def test_offline_goes_to_current_contacts_only(harness, clients):
    owner, assignee = await harness.register("Owner"), await harness.register("Assignee")
    task = await harness.make_contacts(owner, assignee)
    o, a = await clients.online(owner), await clients.online(assignee)
    assert await o.event("presence:online") == {"userId": assignee.id}
    await harness.delete_task(owner, task["_id"])  # no longer contacts
    await a.event("task:deleted")
    await a.disconnect()
    await harness.settled()
    await o.barrier()
    assert o.received("presence:offline") == []
    assert await o.call("presence:get") == {"users": [owner.id]}


async def test_users_who_become_contacts_are_told_of_each_other(harness, clients):
    owner, first, second = [await harness.register(n) for n in ("Owner", "First", "Second")]
    o, f, s = await clients.online(owner), await clients.online(first), await clients.online(second)
    task = await harness.create_task(owner, assignedTo=first.id)
    await harness.set_status(first, task["_id"], "in-progress")  # owner and first: contacts now
    assert await o.event("presence:online") == {"userId": first.id}
    assert await f.event("presence:online") == {"userId": owner.id}
    await harness.update_task(owner, task["_id"], title="no new contact")
    await harness.assign(owner, task["_id"], second)  # first no longer; second not yet
    await s.event("task:assigned")
    assert await s.call("join:task", {"taskId": task["_id"]}) == {"ok": True}  # second acts: contacts now
    assert await o.event("presence:online") == {"userId": second.id}
    assert await s.event("presence:online") == {"userId": owner.id}
    await harness.delete_task(owner, task["_id"])  # nobody: nothing to say
    await harness.restore_task(owner, task["_id"])  # owner and second again (second acted before)
    assert await o.event("presence:online") == {"userId": second.id}
    assert await s.event("presence:online") == {"userId": owner.id}
    await harness.settled()
    for client in (o, f, s):
        await client.barrier()
    assert o.received("presence:online") == [{"userId": first.id}, {"userId": second.id}, {"userId": second.id}]
    assert f.received("presence:online") == [{"userId": owner.id}]
    assert s.received("presence:online") == [{"userId": owner.id}, {"userId": owner.id}]
    assert [c.received("presence:offline") for c in (o, f, s)] == [[], [], []]
    assert await f.call("presence:get") == {"users": [first.id]}
    assert await s.call("presence:get") == {"users": sorted([owner.id, second.id])}


async def test_several_tabs_without_grace(harness, clients):
    user, contact = await harness.register("Tabs"), await harness.register("Contact")
    await harness.make_contacts(user, contact)
    c = await clients.online(contact)

    tab1 = await clients.online(user)
    assert await c.event("presence:online") == {"userId": user.id}
    tab2 = await clients.online(user)
    await tab1.disconnect()
    await harness.settled()
    await c.barrier()
    assert c.received("presence:online") == [{"userId": user.id}]  # the second tab announced nothing
    assert c.received("presence:offline") == []  # one tab is still open
    assert await c.call("presence:get") == {"users": sorted([user.id, contact.id])}

    await tab2.disconnect()
    assert await c.event("presence:offline") == {"userId": user.id}
    await c.barrier()
    assert len(c.received("presence:offline")) == 1


GRACE = 1.0


@pytest.fixture(params=["python", "js"])
async def graceful(request, make_harness):
    harness = await make_harness(presence_grace_seconds=GRACE)
    factory = ClientFactory(request.param, harness)
    yield factory
    await factory.close()


async def test_reload_within_grace_does_not_flap(graceful):
    harness = graceful.harness
    user, contact = await harness.register("Reloader"), await harness.register("Contact")
    await harness.make_contacts(user, contact)
    c = await graceful.online(contact)
    tab = await graceful.online(user)
    assert await c.event("presence:online") == {"userId": user.id}

    await tab.disconnect()  # a page reload: gone, and back within the grace period
    tab = await graceful.online(user)
    assert await c.call("presence:get") == {"users": sorted([user.id, contact.id])}

    loop = asyncio.get_running_loop()
    await tab.disconnect()  # now really gone
    left = loop.time()
    assert await c.call("presence:get") == {"users": sorted([user.id, contact.id])}  # still within grace
    assert await c.event("presence:offline", timeout=GRACE + 10) == {"userId": user.id}
    assert loop.time() - left >= GRACE * 0.9
    await c.barrier()
    # One online and one offline in all: the reload announced nothing.
    assert c.received("presence:online") == [{"userId": user.id}]
    assert c.received("presence:offline") == [{"userId": user.id}]
    assert await c.call("presence:get") == {"users": [contact.id]}
