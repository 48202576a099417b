"""Edge cases an attacker or an unusual client reaches for."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from tests.conftest import TEST_SECRET


async def test_early_years_round_trip_and_filter(api):
    owner = await api.register()
    old = await api.create_task(owner, title="ancient", dueDate="0001-01-01")
    recent = await api.create_task(owner, title="recent", dueDate="2026-12-01")
    assert old["dueDate"] == "0001-01-01T00:00:00.000Z"
    resp, again = await api.call("GET", f"/api/tasks/{old['_id']}", owner)
    assert resp.status == 200 and again == old
    _, after = await api.call("GET", "/api/tasks", owner, params={"dueAfter": "0500-01-01"})
    assert [t["_id"] for t in after["tasks"]] == [recent["_id"]]
    _, before = await api.call("GET", "/api/tasks", owner, params={"dueBefore": "0999-12-31"})
    assert [t["_id"] for t in before["tasks"]] == [old["_id"]]


@pytest.mark.parametrize("due", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
async def test_dates_overflowing_with_an_offset_are_400(api, due):
    owner = await api.register()
    resp, body = await api.call("POST", "/api/tasks", owner, json={"title": "x", "dueDate": due})
    assert resp.status == 400 and "dueDate" in body["errors"]
    resp, body = await api.call("GET", "/api/tasks", owner, params={"dueBefore": due})
    assert resp.status == 400 and "dueBefore" in body["errors"]


async def test_non_ascii_authorization_header_is_401(api):
    resp, body = await api.call("GET", "/api/users/me", headers={"Authorization": "Bearer é"})
    assert resp.status == 401 and body == {"message": "invalid token"}


async def test_token_whose_id_and_sub_disagree_is_401(api):
    first, second = await api.register(), await api.register()
    now = time.time()
    token = jwt.encode({"id": first.id, "sub": second.id, "iat": now, "exp": int(now) + 60}, TEST_SECRET, algorithm="HS256")
    resp, _ = await api.call("GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401


async def test_concurrent_writers_all_succeed_and_versions_count_them(api):
    owner, assignee = await api.register(), await api.register()
    task = await api.create_task(owner, assignedTo=assignee.id)
    url = f"/api/tasks/{task['_id']}"
    writes = [api.call("PUT", url, owner, json={"description": f"d{i}"}) for i in range(30)]
    writes += [api.call("PATCH", url + "/status", assignee, json={"status": ("todo", "in-progress", "done")[i % 3]}) for i in range(30)]
    results = await asyncio.gather(*writes)
    assert [resp.status for resp, _ in results] == [200] * 60
    _, final = await api.call("GET", url, owner)
    changed = len({body["version"] for _, body in results})
    assert final["version"] == max(body["version"] for _, body in results) and changed == final["version"] - 1


@pytest.mark.parametrize("q", ["a\x00b", "abc\n", "\n", "abc\r\n", "abc\x7f"])
async def test_title_search_refuses_control_characters(api, q):
    owner = await api.register()
    resp, body = await api.call("GET", "/api/tasks", owner, params={"q": q})
    assert resp.status == 400 and "q" in body["errors"]


async def test_assign_checks_visibility_and_permission_before_the_new_user(api):
    owner, assignee, stranger = await api.register(), await api.register(), await api.register()
    task = await api.create_task(owner, assignedTo=assignee.id)
    url = f"/api/tasks/{task['_id']}/assign"
    resp, _ = await api.call("PATCH", url, stranger, json={"assignedTo": "0" * 24})
    assert resp.status == 404
    resp, _ = await api.call("PATCH", url, assignee, json={"assignedTo": "0" * 24})
    assert resp.status == 403


async def test_assignee_may_send_unchanged_fields_back_with_a_status(api):
    owner, assignee = await api.register(), await api.register()
    task = await api.create_task(owner, title="Same", assignedTo=assignee.id)
    resp, done = await api.call("PUT", f"/api/tasks/{task['_id']}", assignee, json={"title": "Same", "priority": "medium", "status": "done"})
    assert resp.status == 200 and done["status"] == "done"
    resp, _ = await api.call("PUT", f"/api/tasks/{task['_id']}", assignee, json={"title": "Changed", "status": "todo"})
    assert resp.status == 403


async def test_oversized_body_is_413_on_routes_that_do_not_read_one(api):
    user = await api.register()
    resp, body = await api.call("POST", "/api/users/logout", user, data=b"x" * (1024 * 1024 + 1))
    assert resp.status == 413 and body == {"message": "request body too large"}
    resp, _ = await api.call("GET", "/api/users/me", user)
    assert resp.status == 200  # the refused logout revoked nothing


@pytest.mark.parametrize("value", ["1_0", " 1", "١", "+1", "1e1"])
async def test_page_numbers_are_plain_digits(api, value):
    user = await api.register()
    resp, body = await api.call("GET", "/api/tasks", user, params={"page": value})
    assert resp.status == 400 and "page" in body["errors"]


@pytest.mark.parametrize("header, status", [('"1"', 200), ("1", 200), ("*", 200), ('"0", "1"', 200), ('W/"1"', 412), ('"2"', 412), ("garbage", 412)])
async def test_if_match_forms(api, header, status):
    owner = await api.register()
    task = await api.create_task(owner)
    resp, _ = await api.call("PUT", f"/api/tasks/{task['_id']}", owner, json={"title": "new"}, headers={"If-Match": header})
    assert resp.status == status
