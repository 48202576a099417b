"""The list fast paths against their slow twin: pages kept per user (services/reads.py) and
conditional requests (ETag, If-None-Match → 304).

The twin is a second app on the same SQLite file with no page cache: every answer of the
cached app, after every kind of change, made through either app (the other one stands for
another process or node), must be byte for byte the twin's, with the same ETag.
"""

from __future__ import annotations

import pytest

from tasktrek import create_app
from tasktrek.http.keys import SERVICES, STORE
from tasktrek.services import TaskFilter
from tasktrek.store import SqliteStore

from tests.conftest import Api

LISTS = [
    "/api/tasks", "/api/tasks?limit=2", "/api/tasks?limit=2&page=2", "/api/tasks?scope=owned",
    "/api/tasks?scope=assigned", "/api/tasks?deleted=true", "/api/tasks?status=todo,done&sort=title",
    "/api/tasks?q=T%C3%A2che&sort=-createdAt", "/api/tasks?sort=priority,-dueDate",
]


@pytest.fixture
async def twin(aiohttp_client, settings):
    """The slow twin: the same database, served without the page cache."""
    app = create_app(settings)
    client = await aiohttp_client(app)
    app[SERVICES].tasks.pages = None
    return Api(client)


async def answer(api: Api, path: str, user) -> tuple[int, bytes, dict]:
    resp = await api.client.get(path, headers=user.auth)
    return resp.status, await resp.read(), {k.lower(): v for k, v in resp.headers.items() if k.lower() not in ("date", "x-request-id")}


async def assert_same_as_twin(api: Api, twin: Api, users) -> None:
    for user in users:
        for path in LISTS:
            slow = await answer(twin, path, user)
            first, again = await answer(api, path, user), await answer(api, path, user)  # fills, then hits
            assert first == again == slow, (user.name, path)
            assert slow[0] == 200 and slow[2]["etag"].startswith('"')


def count_log_reads(api: Api) -> list[tuple[str, int]]:
    """The list, growing, of the (offset, limit) of every read of the log by the app's store."""
    store = api.client.app[SERVICES].tasks.store
    reads = []
    events_after = store.events_after

    async def counted(offset, limit):
        reads.append((offset, limit))
        return await events_after(offset, limit)

    store.events_after = counted
    return reads


def cached_pages(api: Api) -> int:
    return len(api.client.app[SERVICES].tasks.pages)


async def test_the_cache_is_used_and_answers_byte_for_byte_as_the_uncached_twin(api, twin):
    owner, helper = await api.register("owner"), await api.register("helper")
    for n in range(5):
        await api.create_task(owner, title=f"Tâche {n} </script>", priority=("low", "high")[n % 2],
                              dueDate=f"2027-01-0{n + 1}")
    await assert_same_as_twin(api, twin, [owner, helper])
    assert cached_pages(api) == 2 * len(LISTS)
    page = api.client.app[SERVICES].tasks.pages.get(owner.id, TaskFilter())
    assert page is not None and page.rendered is not None  # the kept page, rendered once


@pytest.mark.parametrize("through", ["same app", "other process"])
async def test_after_every_kind_of_change_each_user_gets_what_the_twin_answers(api, twin, through):
    owner, first, second, bystander = [await api.register(n) for n in ("owner", "first", "second", "bystander")]
    writer = api if through == "same app" else twin
    tasks = [await api.create_task(owner, title=f"Tâche {n}") for n in range(3)]
    await api.create_task(bystander, title="not theirs")
    everyone = [owner, first, second, bystander]
    task = tasks[1]["_id"]
    changes = [
        ("PATCH", f"/api/tasks/{task}/assign", owner, {"assignedTo": first.id}),  # first gains it
        ("PATCH", f"/api/tasks/{task}/status", first, {"status": "in-progress"}),  # by the assignee
        ("PUT", f"/api/tasks/{task}", owner, {"title": "Renamed", "priority": "high"}),
        ("PUT", f"/api/tasks/{task}", owner, {"title": "Renamed"}),  # changes nothing
        ("PATCH", f"/api/tasks/{task}/assign", owner, {"assignedTo": second.id}),  # first loses it
        ("DELETE", f"/api/tasks/{task}", owner, None),  # second loses it
        ("PATCH", f"/api/tasks/{task}/restore", owner, None),  # second sees it again
        ("PATCH", f"/api/tasks/{task}/assign", owner, {"assignedTo": None}),  # second loses it
        ("POST", "/api/tasks", owner, {"title": "Created", "assignedTo": first.id}),
        ("POST", "/api/tasks", bystander, {"title": "elsewhere"}),
    ]
    await assert_same_as_twin(api, twin, everyone)
    for method, path, user, body in changes:
        resp, answered = await writer.call(method, path, user, json=body)
        assert resp.status in (200, 201), answered
        await assert_same_as_twin(api, twin, everyone)


async def test_a_change_elsewhere_is_seen_by_the_very_next_request(api, twin):
    owner = await api.register("owner")
    task = await api.create_task(owner, title="before")
    _, body = await api.call("GET", "/api/tasks", owner)
    assert body["tasks"][0]["title"] == "before"
    resp, _ = await twin.call("PUT", f"/api/tasks/{task['_id']}", owner, json={"title": "after"})
    assert resp.status == 200
    _, body = await api.call("GET", "/api/tasks", owner)
    assert body["tasks"][0]["title"] == "after" and body["total"] == 1


async def test_if_none_match_gets_304_only_while_the_body_would_be_the_same(api, twin):
    owner, other = await api.register("owner"), await api.register("other")
    task = await api.create_task(owner)
    await api.create_task(other)
    resp, body = await api.call("GET", "/api/tasks", owner)
    etag = resp.headers["ETag"]
    for sent in (etag, f"W/{etag}", f'"0000000000000000", {etag}', "*"):
        for served in (api, twin):
            resp = await served.client.get("/api/tasks", headers={**owner.auth, "If-None-Match": sent})
            assert resp.status == 304 and await resp.read() == b"" and resp.headers["ETag"] == etag, sent
    for sent in ('"0000000000000000"', etag.strip('"'), ""):
        resp = await api.client.get("/api/tasks", headers={**owner.auth, "If-None-Match": sent})
        assert resp.status == 200 and await resp.json() == body, sent
    # Another user's change leaves this answer as it was.
    await api.call("PUT", f"/api/tasks/{(await api.create_task(other))['_id']}", other, json={"title": "x"})
    resp = await api.client.get("/api/tasks", headers={**owner.auth, "If-None-Match": etag})
    assert resp.status == 304
    # Its own change does not: the new body, with a new tag, from cache and twin alike.
    await api.call("PATCH", f"/api/tasks/{task['_id']}/status", owner, json={"status": "done"})
    for served in (api, twin):
        resp = await served.client.get("/api/tasks", headers={**owner.auth, "If-None-Match": etag})
        assert resp.status == 200 and resp.headers["ETag"] != etag
        assert (await resp.json())["tasks"][0]["status"] == "done"
    # Another page's tag is not this page's.
    resp = await api.client.get("/api/tasks?limit=1&page=2", headers={**owner.auth, "If-None-Match": etag})
    assert resp.status == 200


async def test_a_cached_page_never_answers_a_revoked_or_missing_token(api):
    owner = await api.register("owner")
    await api.create_task(owner)
    resp, _ = await api.call("GET", "/api/tasks", owner)
    etag = resp.headers["ETag"]
    resp, _ = await api.call("POST", "/api/users/logout", owner)
    assert resp.status == 204
    for headers in ({**owner.auth, "If-None-Match": etag}, owner.auth, {"If-None-Match": etag}):
        resp = await api.client.get("/api/tasks", headers=headers)
        assert resp.status == 401


async def test_too_many_changes_since_the_last_look_drop_every_page(api, twin):
    owner, other = await api.register("owner"), await api.register("other")
    await api.create_task(owner)
    await assert_same_as_twin(api, twin, [owner, other])
    pages = api.client.app[SERVICES].tasks.pages
    pages.max_catch_up = 2
    for n in range(3):
        await twin.create_task(other, title=f"t{n}")
    await assert_same_as_twin(api, twin, [other])
    assert pages.get(owner.id, TaskFilter()) is None  # dropped with the rest, though untouched


async def test_a_page_read_while_entries_were_taken_in_is_not_kept(api):
    """The race the epoch closes: a page read from the database before a change, kept after
    that change was taken in, would stay stale."""
    owner = await api.register("owner")
    tasks = api.client.app[SERVICES].tasks
    epoch = await tasks.pages.caught_up()
    stale = await tasks.page(await tasks.store.get_user(owner.id), TaskFilter())
    assert stale.total == 0
    await api.create_task(owner)  # committed and logged
    assert await tasks.pages.caught_up() != epoch  # taken in
    tasks.pages.put(owner.id, TaskFilter(limit=11), stale, epoch)
    assert tasks.pages.get(owner.id, TaskFilter(limit=11)) is None


async def test_without_a_readable_log_counter_nothing_is_cached_and_answers_stay_right(api, twin):
    owner = await api.register("owner")
    store: SqliteStore = api.client.app[SERVICES].tasks.store
    store._probe.close()  # every look at the log now fails: the slow path answers
    await api.create_task(owner)
    await assert_same_as_twin(api, twin, [owner])
    assert cached_pages(api) == 0



@pytest.mark.parametrize("through", ["same app", "other process"])
async def test_logout_and_disable_refuse_the_very_next_request_though_user_records_are_kept(api, twin, through):
    """The user-record fast path (UserRecords): kept while no user record changed, so a logout
    or a disable, made anywhere, is seen by the next request."""
    owner, other = await api.register("owner"), await api.register("other")
    for _ in range(2):
        resp, _ = await api.call("GET", "/api/users/me", owner)
        assert resp.status == 200
    records = api.client.app[SERVICES].users.records
    assert len(records) >= 1  # kept, and used by the second request
    writer = api if through == "same app" else twin
    resp, _ = await writer.call("POST", "/api/users/logout", owner)
    assert resp.status == 204
    resp, body = await api.call("GET", "/api/tasks", owner)
    assert (resp.status, body) == (401, {"message": "invalid token"})
    await twin.client.app[SERVICES].users.disable(other.email)  # as `tasktrek users disable` does
    resp, body = await api.call("GET", "/api/users/me", other)
    assert (resp.status, body) == (401, {"message": "invalid token"})


async def test_task_writes_leave_user_records_kept_and_user_changes_do_not(api, twin):
    """What the user-record cache watches: a count of changes to users, moved by a logout or a
    new password through any process, and by no task write."""
    owner = await api.register("owner")
    store = api.client.app[STORE]
    counted = store.users_version_now()
    task = await api.create_task(owner, title="a write")
    await api.call("PUT", f"/api/tasks/{task['_id']}", owner, json={"title": "another"})
    await twin.create_task(owner, title="a write elsewhere")
    assert store.users_version_now() == counted
    await twin.client.app[SERVICES].users.set_password(owner.email, "another horse")
    assert store.users_version_now() == counted + 1
    await api.call("POST", "/api/users/logout", owner)
    assert store.users_version_now() == counted + 2


@pytest.mark.parametrize("query", [
    "", "limit=10", "limit=10", "page=2&limit=3&sort=-title,dueDate", "status=todo,done&priority=low",
    "dueBefore=2026-01-01&dueAfter=2025-01-01T10:00:00%2B02:00", "q=T%C3%A2che", "scope=assigned&assignedTo=" + "a" * 24,
    "limit=0", "limit=10&limit=10", "nope=1", "sort=-title,-title", "q=%00", "deleted=maybe",
])
async def test_parsed_queries_are_what_the_schema_makes_of_them_first_and_every_time(query):
    """The query fast path (ParsedQueries) against marshmallow's load, repeats included;
    invalid strings fail alike every time and are not kept."""
    from aiohttp.test_utils import make_mocked_request

    from tasktrek.errors import ValidationFailed
    from tasktrek.http.io import ParsedQueries, load_query
    from tasktrek.http.schemas import TaskListSchema

    parsed = ParsedQueries(TaskListSchema())
    request = make_mocked_request("GET", f"/api/tasks?{query}" if query else "/api/tasks")
    try:
        expected = load_query(request, TaskListSchema())
    except ValidationFailed as exc:
        for _ in range(2):
            with pytest.raises(ValidationFailed) as again:
                parsed.load(request)
            assert (again.value.message, again.value.errors) == (exc.message, exc.errors)
        assert parsed._parsed == {}
        return
    first, second = parsed.load(request), parsed.load(request)
    assert first == second == expected and first is not second


async def test_concurrent_readers_take_new_entries_in_once_and_all_answer_as_the_twin(api, twin):
    import asyncio

    owner = await api.register("owner")
    await api.create_task(owner)
    await assert_same_as_twin(api, twin, [owner])
    reads = count_log_reads(api)
    for n in range(5):
        await twin.create_task(owner, title=f"elsewhere {n}")
    expected = await answer(twin, "/api/tasks", owner)
    answers = await asyncio.gather(*(answer(api, "/api/tasks", owner) for _ in range(20)))
    assert all(a == expected for a in answers)
    assert len(reads) == 1  # one reader took the five entries in; the others waited for it


async def test_entries_published_here_are_taken_in_without_reading_the_log(api, twin):
    """The fast path of a read after a local write: the entries this app wrote were heard as
    they were published; one entry it did not write (another process's) sends it to the log."""
    owner, other = await api.register("owner"), await api.register("other")
    await api.create_task(owner)
    await assert_same_as_twin(api, twin, [owner, other])
    reads = count_log_reads(api)
    task = await api.create_task(owner, title="here")
    await api.call("PUT", f"/api/tasks/{task['_id']}", owner, json={"title": "renamed here"})
    await assert_same_as_twin(api, twin, [owner, other])
    assert reads == []
    await twin.create_task(owner, title="elsewhere")
    await api.create_task(other, title="here again")
    await assert_same_as_twin(api, twin, [owner, other])
    assert len(reads) == 1
