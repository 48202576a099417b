"""Tasks through the real HTTP app: fields, the permission table, versions, trash."""

from __future__ import annotations

import pytest

from tasktrek.events import NOTIFICATION_NEW, LogEntry

TASK_FIELDS = {"_id", "user", "title", "description", "status", "priority", "dueDate", "assignedTo",
               "isDeleted", "deletedAt", "createdAt", "updatedAt", "version"}


def task_events(events: list) -> list[LogEntry]:
    return [e for e in events if isinstance(e, LogEntry) and e.event.startswith("task:")]


def notification_kinds(events: list) -> list[tuple[str, str]]:
    return [(e.payload["user"], e.payload["type"]) for e in events if isinstance(e, LogEntry) and e.event == NOTIFICATION_NEW]


async def test_create_with_defaults(api):
    owner = await api.register()
    resp, task = await api.call("POST", "/api/tasks", owner, json={"title": "  Write docs  "})
    assert resp.status == 201
    assert set(task) == TASK_FIELDS
    assert task["title"] == "Write docs" and task["description"] == ""
    assert (task["status"], task["priority"], task["dueDate"], task["assignedTo"]) == ("todo", "medium", None, None)
    assert (task["isDeleted"], task["deletedAt"], task["version"]) == (False, None, 1)
    assert task["user"] == owner.id and task["createdAt"] == task["updatedAt"]
    assert resp.headers["ETag"] == '"1"'


@pytest.mark.parametrize("due, stored", [("2026-12-01", "2026-12-01T00:00:00.000Z"), ("2026-12-01T10:20:30.5+02:00", "2026-12-01T08:20:30.500Z"), ("2026-12-01T10:20:30Z", "2026-12-01T10:20:30.000Z"), (None, None)])
async def test_due_date_forms(api, due, stored):
    owner = await api.register()
    task = await api.create_task(owner, dueDate=due)
    assert task["dueDate"] == stored


async def test_create_assigned_notifies_assignee_and_validates_user(api, events):
    owner, other = await api.register("Owner"), await api.register("Other")
    task = await api.create_task(owner, title="Ship", assignedTo=other.id)
    assert task["assignedTo"] == other.id
    created = task_events(events)
    assert [(e.event, e.payload["actor"], e.users, e.met) for e in created] == [
        ("task:created", owner.id, (owner.id, other.id), ())
    ]
    notes = [e.payload for e in events if isinstance(e, LogEntry) and e.event == NOTIFICATION_NEW]
    assert [(n["user"], n["type"], n["data"]["taskId"], n["data"]["actor"]) for n in notes] == [
        (other.id, "task_assigned", task["_id"], {"_id": owner.id, "name": "Owner"})
    ]
    resp, body = await api.call("POST", "/api/tasks", owner, json={"title": "x", "assignedTo": "0" * 24})
    assert resp.status == 400 and "assignedTo" in body["errors"]


async def _scene(api):
    """An owner, an assignee, a stranger and a task shared by the first two."""
    owner, assignee, stranger = await api.register("Owner"), await api.register("Assignee"), await api.register("Stranger")
    task = await api.create_task(owner, title="Shared", assignedTo=assignee.id)
    return owner, assignee, stranger, task


ACTIONS = {
    "read": ("GET", "", None),
    "edit": ("PUT", "", {"title": "Renamed"}),
    "status-put": ("PUT", "", {"status": "done"}),
    "status": ("PATCH", "/status", {"status": "in-progress"}),
    "assign": ("PATCH", "/assign", {"assignedTo": None}),
    "delete": ("DELETE", "", None),
    "restore": ("PATCH", "/restore", None),
}
# The contract's permission table: action -> (owner, assignee, anyone else).
PERMISSIONS = {
    "read": (200, 200, 404),
    "edit": (200, 403, 404),
    "status-put": (200, 200, 404),
    "status": (200, 200, 404),
    "assign": (200, 403, 404),
    "delete": (200, 403, 404),
    "restore": (200, 403, 404),
}


@pytest.mark.parametrize("who", ["owner", "assignee", "stranger"])
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_permission_table(api, action, who):
    owner, assignee, stranger, task = await _scene(api)
    actor = {"owner": owner, "assignee": assignee, "stranger": stranger}[who]
    method, suffix, body = ACTIONS[action]
    resp, answer = await api.call(method, f"/api/tasks/{task['_id']}{suffix}", actor, json=body)
    expected = PERMISSIONS[action][("owner", "assignee", "stranger").index(who)]
    assert resp.status == expected, answer
    if expected != 200:
        assert set(answer) == {"message"}
        _, after = await api.call("GET", f"/api/tasks/{task['_id']}", owner)
        assert after == task  # refused requests change nothing


async def test_update_bumps_version_and_if_match(api):
    owner, assignee, _, task = await _scene(api)
    url = f"/api/tasks/{task['_id']}"
    resp, updated = await api.call("PUT", url, owner, json={"title": "New", "priority": "high"}, headers={"If-Match": '"1"'})
    assert resp.status == 200 and updated["version"] == 2 and resp.headers["ETag"] == '"2"'
    assert updated["updatedAt"] >= task["updatedAt"] and updated["createdAt"] == task["createdAt"]
    resp, body = await api.call("PUT", url, owner, json={"title": "Stale"}, headers={"If-Match": '"1"'})
    assert resp.status == 412 and body["message"]
    resp, body = await api.call("PATCH", url + "/status", assignee, json={"status": "done"}, headers={"If-Match": '"1"'})
    assert resp.status == 412
    resp, done = await api.call("PATCH", url + "/status", assignee, json={"status": "done"}, headers={"If-Match": '"2"'})
    assert resp.status == 200 and done["version"] == 3 and done["title"] == "New"


async def test_change_that_changes_nothing_bumps_nothing(api, events):
    owner, assignee, _, task = await _scene(api)
    url = f"/api/tasks/{task['_id']}"
    before = len(events)
    for method, suffix, body in [("PUT", "", {"title": "Shared", "status": "todo"}), ("PUT", "", {}),
                                 ("PATCH", "/status", {"status": "todo"}), ("PATCH", "/assign", {"assignedTo": assignee.id}),
                                 ("PATCH", "/restore", None)]:
        resp, same = await api.call(method, url + suffix, owner, json=body)
        assert resp.status == 200 and same == task
    assert len(events) == before


async def test_delete_and_restore_are_idempotent_and_trash_lists_them(api, events):
    owner, assignee, _, task = await _scene(api)
    url = f"/api/tasks/{task['_id']}"
    resp, body = await api.call("DELETE", url, owner)
    assert resp.status == 200 and body == {"id": task["_id"]}
    _, deleted = await api.call("GET", url, owner)
    assert deleted["isDeleted"] is True and deleted["deletedAt"] and deleted["version"] == 2
    resp, again = await api.call("DELETE", url, owner)
    assert resp.status == 200 and again == {"id": task["_id"]}
    _, still = await api.call("GET", url, owner)
    assert still == deleted
    resp, _ = await api.call("GET", url, assignee)
    assert resp.status == 404  # a deleted task is visible to its owner only
    _, live = await api.call("GET", "/api/tasks", owner)
    assert live["total"] == 0
    _, trash = await api.call("GET", "/api/tasks", owner, params={"deleted": "true"})
    assert [t["_id"] for t in trash["tasks"]] == [task["_id"]]
    _, assignee_trash = await api.call("GET", "/api/tasks", assignee, params={"deleted": "true"})
    assert assignee_trash["total"] == 0
    resp, body = await api.call("PUT", url, owner, json={"title": "edit while deleted"})
    assert resp.status == 403
    resp, restored = await api.call("PATCH", url + "/restore", owner)
    assert resp.status == 200 and restored["isDeleted"] is False and restored["deletedAt"] is None and restored["version"] == 3
    changes = [e.event for e in task_events(events)]
    assert changes == ["task:created", "task:deleted", "task:restored"]
    deleted_event, restored_event = task_events(events)[1:]
    assert (deleted_event.tasks, deleted_event.leaving) == ((task["_id"],), (assignee.id,))
    assert restored_event.tasks == ()  # nobody is in its room


async def test_assign_reassign_unassign(api, events):
    owner, first, _, task = await _scene(api)
    second = await api.register("Second")
    url = f"/api/tasks/{task['_id']}/assign"
    resp, moved = await api.call("PATCH", url, owner, json={"assignedTo": second.id})
    assert resp.status == 200 and moved["assignedTo"] == second.id and moved["version"] == 2
    event = task_events(events)[-1]
    assert (event.event, event.payload["previousAssignee"], event.leaving) == ("task:assigned", first.id, (first.id,))
    assert (event.users, event.payload["assignedBy"]) == ((owner.id, second.id, first.id), owner.id)
    resp, _ = await api.call("GET", f"/api/tasks/{task['_id']}", first)
    assert resp.status == 404
    resp, cleared = await api.call("PATCH", url, owner, json={"assignedTo": None})
    assert resp.status == 200 and cleared["assignedTo"] is None
    event = task_events(events)[-1]
    assert (event.event, event.payload["previousAssignee"], event.payload["assignedTo"]) == ("task:assigned", second.id, None)
    kinds = notification_kinds(events)
    assert kinds == [(first.id, "task_assigned"), (second.id, "task_assigned"), (first.id, "task_unassigned"), (second.id, "task_unassigned")]
    for body in ({"assignedTo": "0" * 24}, {"assignedTo": "nope"}, {}, {"assignedTo": {"$ne": None}}):
        resp, _ = await api.call("PATCH", url, owner, json=body)
        assert resp.status == 400


async def test_notifications_go_to_the_other_party_only(api, events):
    owner, assignee, _, task = await _scene(api)
    url = f"/api/tasks/{task['_id']}"
    await api.call("PUT", url, owner, json={"description": "more"})
    await api.call("PATCH", url + "/status", owner, json={"status": "in-progress"})
    await api.call("PATCH", url + "/status", assignee, json={"status": "done"})
    await api.call("DELETE", url, owner)
    await api.call("PATCH", url + "/restore", owner)
    kinds = notification_kinds(events)
    assert kinds == [
        (assignee.id, "task_assigned"),
        (assignee.id, "task_updated"),
        (assignee.id, "task_status_changed"),
        (owner.id, "task_status_changed"),
        (assignee.id, "task_deleted"),
        (assignee.id, "task_restored"),
    ]
    own = await api.create_task(owner, assignedTo=owner.id)  # assigning yourself notifies nobody
    await api.call("PUT", f"/api/tasks/{own['_id']}", owner, json={"title": "mine"})
    assert len(notification_kinds(events)) == len(kinds)


async def test_list_scopes_filters_sort_and_paging(api):
    me, other = await api.register(), await api.register()
    mine = [await api.create_task(me, title=f"Mine {i}", priority=p, status=s, dueDate=d)
            for i, (p, s, d) in enumerate([("low", "done", "2026-01-01"), ("high", "todo", "2026-01-02"), ("medium", "in-progress", None)])]
    theirs = await api.create_task(other, title="Theirs [x]", assignedTo=me.id, priority="high")
    await api.create_task(other, title="Invisible")

    async def ids(**params):
        resp, body = await api.call("GET", "/api/tasks", me, params=params)
        assert resp.status == 200, body
        assert body["results"] == len(body["tasks"])
        return [t["_id"] for t in body["tasks"]], body["total"]

    everything = {t["_id"] for t in mine} | {theirs["_id"]}
    found, total = await ids(limit="100")
    assert set(found) == everything and total == 4
    # Default: newest update first, ties (same millisecond) broken by _id ascending.
    newest_first = sorted(sorted(mine + [theirs], key=lambda t: t["_id"]), key=lambda t: t["updatedAt"], reverse=True)
    assert found == [t["_id"] for t in newest_first]
    assert set((await ids(scope="owned"))[0]) == {t["_id"] for t in mine}
    assert (await ids(scope="assigned"))[0] == [theirs["_id"]]
    assert (await ids(scope="assigned", assignedTo=other.id)) == ([], 0)
    assert set((await ids(status="todo,in-progress"))[0]) == {mine[1]["_id"], mine[2]["_id"], theirs["_id"]}
    assert (await ids(priority="low"))[0] == [mine[0]["_id"]]
    assert (await ids(assignedTo=me.id))[0] == [theirs["_id"]]
    assert (await ids(q="[X]"))[0] == [theirs["_id"]]  # literal, case-insensitive
    assert (await ids(q="mine 1"))[0] == [mine[1]["_id"]]
    assert (await ids(q=".*"))[0] == []
    assert (await ids(dueAfter="2026-01-02", dueBefore="2026-01-02"))[0] == [mine[1]["_id"]]
    assert (await ids(dueBefore="2026-01-01T00:00:00Z"))[0] == [mine[0]["_id"]]
    assert (await ids(sort="status,title"))[0] == [mine[1]["_id"], theirs["_id"], mine[2]["_id"], mine[0]["_id"]]
    assert (await ids(sort="-priority,title"))[0] == [mine[1]["_id"], theirs["_id"], mine[2]["_id"], mine[0]["_id"]]
    pages = [await ids(sort="createdAt", limit="3", page=str(p)) for p in (1, 2, 3)]
    assert [p[0] for p in pages] == [[t["_id"] for t in mine], [theirs["_id"]], []]
    assert all(p[1] == 4 for p in pages)


@pytest.mark.parametrize(
    "params, name",
    [({"page": "0"}, "page"), ({"page": "x"}, "page"), ({"limit": "101"}, "limit"), ({"limit": "0"}, "limit"),
     ({"limit": "1.5"}, "limit"), ({"scope": "everyone"}, "scope"), ({"status": "todo,later"}, "status"),
     ({"priority": ""}, "priority"), ({"assignedTo": "abc"}, "assignedTo"), ({"dueBefore": "tomorrow"}, "dueBefore"),
     ({"dueAfter": "2026-13-01"}, "dueAfter"), ({"deleted": "yes"}, "deleted"), ({"sort": "owner"}, "sort"),
     ({"sort": "title,-title"}, "sort"), ({"user": "x"}, "user"), ({"q": ""}, "q"), ({"$where": "1"}, "$where")],
)
async def test_list_rejects_bad_parameters_naming_them(api, params, name):
    me = await api.register()
    resp, body = await api.call("GET", "/api/tasks", me, params=params)
    assert resp.status == 400 and name in body["errors"] and name in body["message"]


async def test_list_rejects_repeated_parameters(api):
    me = await api.register()
    resp, body = await api.call("GET", "/api/tasks?status=todo&status=done", me)
    assert resp.status == 400 and "status" in body["errors"]


async def test_assignments_to_users_who_never_acted_are_capped(api):
    owner = await api.register("Owner")
    strangers = [await api.register() for _ in range(21)]
    for stranger in strangers[:20]:
        await api.create_task(owner, assignedTo=stranger.id)
    resp, body = await api.call("POST", "/api/tasks", owner, json={"title": "one more", "assignedTo": strangers[20].id})
    assert (resp.status, body) == (403, {"message": "too many tasks assigned to users who have not acted on any of yours yet (at most 20)"})
    _, page = await api.call("GET", "/api/tasks", owner, params={"limit": 50})
    _, notes = await api.call("GET", "/api/notifications", strangers[20])
    assert (page["total"], notes["total"]) == (20, 0)  # nothing was created, nobody notified
