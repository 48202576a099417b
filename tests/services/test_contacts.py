"""Presence contacts and the assignment cap, through the task service on a real SQLite store:
assigning alone makes no contact; the assignee acting (a status change, joining the task's
room, assigning something back) does, and the change that makes it says so (`met`); an owner
keeps at most N live tasks assigned to users who never acted toward them."""

from __future__ import annotations

import pytest

from tasktrek.errors import Forbidden
from tasktrek.events import LogEntry
from tasktrek.services import Services
from tasktrek.settings import Settings
from tasktrek.store import SqliteStore

CAP = 3


@pytest.fixture
async def core(tmp_path):
    store = SqliteStore(tmp_path / "contacts.db")
    await store.open()
    services = Services.build(store, Settings(jwt_secret="s" * 40, bcrypt_rounds=4, max_unanswered_assignments=CAP))
    logged: list[LogEntry] = []

    async def record(item) -> None:
        if isinstance(item, LogEntry) and item.event.startswith("task:"):
            logged.append(item)

    services.events.subscribe(record)
    names = iter(range(100))

    async def user():
        n = next(names)
        account, _ = await services.users.register(f"User {n}", f"user{n}@example.com", "correct horse")
        return account

    yield services, user, logged
    await store.close()


async def test_assigning_a_stranger_makes_no_contact(core):
    services, user, logged = core
    stranger, victim = await user(), await user()
    task = await services.tasks.create(stranger, {"title": "Hello", "assigned_to": victim.id})
    await services.tasks.assign(stranger, task.id, victim.id)
    await services.tasks.update(stranger, task.id, {"title": "Still hello"})

    assert await services.tasks.contacts(stranger.id) == set()
    assert await services.tasks.contacts(victim.id) == set()
    assert [entry.met for entry in logged] == [(), ()]


@pytest.mark.parametrize("act", ["status", "room", "assign back"])
async def test_the_assignee_acting_makes_them_contacts_once(core, act):
    services, user, logged = core
    owner, assignee = await user(), await user()
    task = await services.tasks.create(owner, {"title": "Ship", "assigned_to": assignee.id})

    if act == "status":
        await services.tasks.set_status(assignee, task.id, "in-progress")
        assert logged[-1].met == (owner.id, assignee.id)
    elif act == "room":
        joined = await services.tasks.join_room(assignee.id, task.id)
        assert joined.met == (owner.id, assignee.id)
    else:
        await services.tasks.create(assignee, {"title": "Review", "assigned_to": owner.id})
        assert logged[-1].met == (assignee.id, owner.id)
    assert await services.tasks.contacts(owner.id) == {assignee.id}
    assert await services.tasks.contacts(assignee.id) == {owner.id}

    # Acting again meets nobody new.
    await services.tasks.set_status(assignee, task.id, "done")
    assert logged[-1].met == ()
    assert (await services.tasks.join_room(assignee.id, task.id)).met == ()


async def test_the_owner_acting_on_their_own_task_makes_no_contact(core):
    services, user, logged = core
    owner, assignee = await user(), await user()
    task = await services.tasks.create(owner, {"title": "Ship", "assigned_to": assignee.id})
    await services.tasks.set_status(owner, task.id, "done")
    assert (await services.tasks.join_room(owner.id, task.id)).met == ()
    assert await services.tasks.contacts(assignee.id) == set()
    assert await services.tasks.join_room((await user()).id, task.id) is None  # a stranger may not join


async def test_contacts_need_a_live_shared_task(core):
    services, user, logged = core
    owner, assignee = await user(), await user()
    task = await services.tasks.create(owner, {"title": "Ship", "assigned_to": assignee.id})
    await services.tasks.set_status(assignee, task.id, "done")

    await services.tasks.delete(owner, task.id)
    assert await services.tasks.contacts(owner.id) == set()
    await services.tasks.restore(owner, task.id)  # the assignee has acted toward the owner before
    assert logged[-1].met == (owner.id, assignee.id)
    assert await services.tasks.contacts(owner.id) == {assignee.id}

    await services.tasks.assign(owner, task.id, None)
    assert await services.tasks.contacts(owner.id) == set()
    await services.tasks.create(owner, {"title": "Again", "assigned_to": assignee.id})  # answered already: contacts at once
    assert logged[-1].met == (owner.id, assignee.id)


async def test_assignments_to_users_who_never_acted_are_capped(core):
    services, user, logged = core
    owner, answering = await user(), await user()
    strangers = [await user() for _ in range(CAP + 1)]
    tasks = [await services.tasks.create(owner, {"title": f"T{n}", "assigned_to": s.id}) for n, s in enumerate(strangers[:CAP])]

    with pytest.raises(Forbidden, match=f"at most {CAP}"):
        await services.tasks.create(owner, {"title": "One more", "assigned_to": strangers[CAP].id})
    spare = await services.tasks.create(owner, {"title": "Unassigned"})
    with pytest.raises(Forbidden):
        await services.tasks.assign(owner, spare.id, strangers[CAP].id)

    # Still allowed: the owner themself, moving a capped task to another stranger, and users who acted.
    await services.tasks.assign(owner, spare.id, owner.id)
    await services.tasks.assign(owner, tasks[0].id, strangers[CAP].id)
    other = await services.tasks.create(answering, {"title": "For you", "assigned_to": owner.id})
    await services.tasks.create(owner, {"title": "Back", "assigned_to": answering.id})
    assert other.assigned_to == owner.id

    # A stranger who acts frees a place; so does a deleted task.
    await services.tasks.set_status(strangers[1], tasks[1].id, "in-progress")
    await services.tasks.create(owner, {"title": "Freed", "assigned_to": strangers[0].id})
    with pytest.raises(Forbidden):
        await services.tasks.assign(owner, spare.id, (await user()).id)
    await services.tasks.delete(owner, tasks[2].id)
    await services.tasks.assign(owner, spare.id, (await user()).id)
