"""Notifications through the real HTTP app."""

from __future__ import annotations

from tasktrek.events import NOTIFICATION_UPDATED, LogEntry, NotificationsReadAll


async def _notified(api, count: int):
    owner, assignee = await api.register("Owner"), await api.register("Assignee")
    for i in range(count):
        await api.create_task(owner, title=f"T{i}", assignedTo=assignee.id)
    return owner, assignee


async def test_list_newest_first_with_unread_count_and_paging(api):
    owner, assignee = await _notified(api, 3)
    resp, body = await api.call("GET", "/api/notifications", assignee, params={"limit": "2"})
    assert resp.status == 200
    assert (body["page"], body["limit"], body["total"], body["unread"], body["results"]) == (1, 2, 3, 3, 2)
    first = body["notifications"][0]
    assert set(first) == {"_id", "user", "type", "message", "data", "read", "createdAt"}
    assert first["data"]["title"] == "T2" and first["type"] == "task_assigned" and first["read"] is False
    assert first["data"]["actor"] == {"_id": owner.id, "name": "Owner"} and "Owner" in first["message"]
    _, page2 = await api.call("GET", "/api/notifications", assignee, params={"limit": "2", "page": "2"})
    assert [n["data"]["title"] for n in page2["notifications"]] == ["T0"]
    _, owners = await api.call("GET", "/api/notifications", owner)
    assert owners["total"] == 0 and owners["unread"] == 0


async def test_read_unread_and_read_all(api, events):
    owner, assignee = await _notified(api, 3)
    _, body = await api.call("GET", "/api/notifications", assignee)
    target = body["notifications"][0]["_id"]
    resp, read = await api.call("PATCH", f"/api/notifications/{target}/read", assignee)
    assert resp.status == 200 and read["read"] is True and read["_id"] == target
    resp, again = await api.call("PATCH", f"/api/notifications/{target}/read", assignee)
    assert resp.status == 200 and again == read
    updates = [e for e in events if isinstance(e, LogEntry) and e.event == NOTIFICATION_UPDATED]
    assert len(updates) == 1  # marking an already read notification read changes nothing
    _, unread_only = await api.call("GET", "/api/notifications", assignee, params={"unread": "true"})
    assert unread_only["total"] == 2 and unread_only["unread"] == 2 and target not in [n["_id"] for n in unread_only["notifications"]]
    resp, unread = await api.call("PATCH", f"/api/notifications/{target}/unread", assignee)
    assert resp.status == 200 and unread["read"] is False
    resp, body = await api.call("PATCH", "/api/notifications/read-all", assignee)
    assert resp.status == 200 and body == {"success": True, "modified": 3}
    assert NotificationsReadAll(assignee.id, 3) in events
    resp, body = await api.call("PATCH", "/api/notifications/read-all", assignee)
    assert body == {"success": True, "modified": 0}
    _, after = await api.call("GET", "/api/notifications", assignee)
    assert after["unread"] == 0


async def test_other_users_notification_is_404_and_unchanged(api):
    owner, assignee = await _notified(api, 1)
    _, body = await api.call("GET", "/api/notifications", assignee)
    target = body["notifications"][0]["_id"]
    for path in (f"/api/notifications/{target}/read", f"/api/notifications/{target}/unread",
                 "/api/notifications/nothex/read", f"/api/notifications/{'f' * 24}/read"):
        resp, answer = await api.call("PATCH", path, owner)
        assert resp.status == 404 and set(answer) == {"message"}
    _, after = await api.call("GET", "/api/notifications", assignee)
    assert after["notifications"][0]["read"] is False


async def test_notification_list_rejects_bad_parameters(api):
    user = await api.register()
    for params in ({"unread": "maybe"}, {"page": "-1"}, {"limit": "1000"}, {"sort": "x"}):
        resp, body = await api.call("GET", "/api/notifications", user, params=params)
        assert resp.status == 400 and set(params) <= set(body["errors"])
