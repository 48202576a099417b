"""Bad input gets a clear 4xx JSON error and changes nothing."""

from __future__ import annotations

import json

import pytest


async def _state(api, user):
    _, tasks = await api.call("GET", "/api/tasks", user, params={"limit": "100"})
    _, trash = await api.call("GET", "/api/tasks", user, params={"limit": "100", "deleted": "true"})
    return tasks, trash


@pytest.mark.parametrize(
    "method, suffix, payload",
    [
        ("POST", "", {"title": 5}),
        ("POST", "", {"title": ""}),
        ("POST", "", {"title": "x" * 201}),
        ("POST", "", {"title": "ok", "description": "x" * 10_001}),
        ("POST", "", {"title": "ok", "status": "later"}),
        ("POST", "", {"title": "ok", "priority": "urgent"}),
        ("POST", "", {"title": "ok", "dueDate": "next week"}),
        ("POST", "", {"title": "ok", "dueDate": 1700000000}),
        ("POST", "", {"title": {"$ne": None}}),
        ("POST", "", {"title": "ok", "user": "0" * 24}),
        ("POST", "", {"title": "ok", "isDeleted": True}),
        ("POST", "", {"title": "ok", "version": 9}),
        ("POST", "", {"title": "ok", "_id": "0" * 24}),
        ("PUT", "/{id}", {"user": "0" * 24}),
        ("PUT", "/{id}", {"isDeleted": True}),
        ("PUT", "/{id}", {"assignedTo": None}),
        ("PUT", "/{id}", {"version": 7}),
        ("PUT", "/{id}", {"_id": "0" * 24}),
        ("PUT", "/{id}", {"title": None}),
        ("PUT", "/{id}", {"status": {"$ne": "done"}}),
        ("PUT", "/{id}", {"title": ["a"]}),
        ("PATCH", "/{id}/status", {}),
        ("PATCH", "/{id}/status", {"status": None}),
        ("PATCH", "/{id}/status", {"status": "todo", "title": "sneaky"}),
    ],
)
async def test_bad_task_bodies_are_400_and_change_nothing(api, method, suffix, payload):
    user = await api.register()
    task = await api.create_task(user, title="original")
    before = await _state(api, user)
    resp, body = await api.call(method, "/api/tasks" + suffix.format(id=task["_id"]), user, json=payload)
    assert resp.status == 400 and body["message"] and body["errors"]
    assert await _state(api, user) == before


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[]", b'"text"', b"42", b"null", b"\xff\xfe", b'{"title": "\\ud800"}', b'{"title": "a\\udfff b"}',
     b'{"title": "\xed\xa0\x80"}', '{"title": "\ud800"}'.encode("utf-16", "surrogatepass"),
     b"[" * 100_000 + b"]" * 100_000, b'{"title":' + b'{"a":' * 5000 + b"1" + b"}" * 5001],
    ids=["truncated", "array", "string", "number", "null", "not-utf8", "lone-high-surrogate", "lone-low-surrogate",
         "utf8-encoded-surrogate", "utf16-surrogate", "deep-array", "deep-object"],
)
async def test_malformed_json_is_400(api, raw):
    user = await api.register()
    before = await _state(api, user)
    resp, body = await api.call("POST", "/api/tasks", user, data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 400 and body["message"]
    assert await _state(api, user) == before


async def test_huge_body_is_413(api):
    user = await api.register()
    big = json.dumps({"title": "x", "description": "y" * (1024 * 1024)}).encode()
    resp, body = await api.call("POST", "/api/tasks", user, data=big, headers={"Content-Type": "application/json"})
    assert resp.status == 413 and body == {"message": "request body too large"}

    async def chunks():
        for _ in range(20):
            yield b" " * 100_000

    resp, body = await api.call("POST", "/api/tasks", user, data=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status == 413  # chunked, no Content-Length
    assert (await _state(api, user))[0]["total"] == 0


@pytest.mark.parametrize("task_id", ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", "0" * 24, "A" * 24, "%24ne", "0" * 25])
async def test_malformed_and_unknown_ids_are_404(api, task_id):
    user = await api.register()
    for method, suffix, payload in [("GET", "", None), ("PUT", "", {"title": "x"}), ("DELETE", "", None),
                                    ("PATCH", "/status", {"status": "done"}), ("PATCH", "/assign", {"assignedTo": None}),
                                    ("PATCH", "/restore", None)]:
        resp, body = await api.call(method, f"/api/tasks/{task_id}{suffix}", user, json=payload)
        assert resp.status == 404 and set(body) == {"message"}, (method, suffix)


async def test_foreign_ids_are_404_not_403(api):
    owner, stranger = await api.register(), await api.register()
    task = await api.create_task(owner)
    resp, body = await api.call("GET", f"/api/tasks/{task['_id']}", stranger)
    missing, missing_body = await api.call("GET", f"/api/tasks/{'a' * 24}", stranger)
    assert resp.status == missing.status == 404 and body == missing_body  # existence is not revealed


async def test_unknown_route_and_method_are_json(api):
    user = await api.register()
    resp, body = await api.call("GET", "/api/nothing", user)
    assert resp.status == 404 and set(body) == {"message"}
    resp, body = await api.call("PATCH", "/api/tasks", user)
    assert resp.status == 405 and set(body) == {"message"}
