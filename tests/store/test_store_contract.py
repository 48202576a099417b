"""The Store contract (tasktrek/store/base.py), run on every backend (see conftest.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tasktrek.domain import PRIORITIES, STATUSES, new_id
from tasktrek.errors import EmailTaken
from tasktrek.events import LogEntry
from tasktrek.records import Act, Task
from tasktrek.store import ChangeSet, ReadUpdate, TaskQuery, TaskUpdate

DAY = datetime(2026, 5, 1, tzinfo=timezone.utc)


def ids(records) -> list[str]:
    return [record.id for record in records]


async def page_ids(store, **criteria) -> list[str]:
    tasks, _ = await store.find_tasks(TaskQuery(limit=100, **criteria))
    return ids(tasks)


# users


async def test_user_round_trip(store, new_user):
    user = await new_user(name="Zoë", email="zoe@example.com")

    assert await store.get_user(user.id) == user
    assert await store.get_user_by_email("zoe@example.com") == user


async def test_unknown_or_malformed_user_finds_nothing(store, new_user):
    await new_user(email="known@example.com")

    assert await store.get_user(new_id()) is None
    assert await store.get_user("not-an-id") is None
    assert await store.get_user_by_email("unknown@example.com") is None


async def test_duplicate_email_is_email_taken(store, new_user):
    first = await new_user(email="taken@example.com")

    with pytest.raises(EmailTaken):
        await new_user(email="taken@example.com")
    assert await store.get_user_by_email("taken@example.com") == first


async def test_tokens_revoked_at(store, new_user):
    user = await new_user()

    await store.set_tokens_revoked_at(user.id, 1767225600.125)

    assert (await store.get_user(user.id)).tokens_revoked_at == 1767225600.125


# tasks: records


async def test_task_round_trip_keeps_every_field_and_type(store, new_user, new_task):
    owner, assignee = await new_user(), await new_user()
    paris = timezone(timedelta(hours=2))
    task = await new_task(
        owner,
        title="Écrire le rapport (v2) — 100%",
        description="line 1\nline 2 ✓",
        status="in-progress",
        priority="high",
        due_date=datetime(2026, 6, 1, 9, 30, 0, 123456, tzinfo=paris),
        assigned_to=assignee.id,
        is_deleted=True,
        deleted_at=datetime(2026, 5, 2, 8, 0, 0, 999999, tzinfo=timezone.utc),
        created_at=datetime(2026, 5, 1, 8, 0, 0, 1000, tzinfo=timezone.utc),
        updated_at=datetime(2026, 5, 2, 8, 0, 0, 999999, tzinfo=timezone.utc),
        version=7,
    )

    stored = await store.get_task(task.id)

    assert stored == replace(
        task,
        # UTC, millisecond precision, aware
        due_date=datetime(2026, 6, 1, 7, 30, 0, 123000, tzinfo=timezone.utc),
        deleted_at=datetime(2026, 5, 2, 8, 0, 0, 999000, tzinfo=timezone.utc),
        created_at=datetime(2026, 5, 1, 8, 0, 0, 1000, tzinfo=timezone.utc),
        updated_at=datetime(2026, 5, 2, 8, 0, 0, 999000, tzinfo=timezone.utc),
    )
    assert stored.due_date.utcoffset() == timedelta(0)
    assert type(stored.is_deleted) is bool and type(stored.version) is int
    listed, _ = await store.find_tasks(TaskQuery(owner=owner.id, deleted=True))  # a page's rows: another shape
    assert listed == [stored]


async def test_unknown_or_malformed_task_finds_nothing(store, new_user, new_task):
    await new_task(await new_user())

    assert await store.get_task(new_id()) is None
    assert await store.get_task("zzz") is None


async def test_update_task_with_the_right_version_applies_and_returns_the_new_task(store, new_user, new_task):
    owner, assignee = await new_user(), await new_user()
    task = await new_task(owner, title="Old title")
    changes = {
        "title": "New title",
        "status": "done",
        "priority": "low",
        "due_date": DAY,
        "assigned_to": assignee.id,
        "version": 2,
        "updated_at": DAY + timedelta(hours=1),
    }

    updated = await store.update_task(task.id, 1, changes)

    assert updated == replace(task, **changes)
    assert await store.get_task(task.id) == updated


async def test_update_task_with_a_stale_version_changes_nothing(store, new_user, new_task):
    task = await new_task(await new_user())

    assert await store.update_task(task.id, 2, {"title": "Lost", "version": 3, "updated_at": DAY}) is None
    assert await store.update_task(new_id(), 1, {"title": "Lost", "version": 2, "updated_at": DAY}) is None
    assert await store.get_task(task.id) == task


async def test_update_task_keeps_search_and_rank_sorting_in_step(store, new_user, new_task):
    owner = await new_user()
    first = await new_task(owner, title="Alpha", status="todo")
    second = await new_task(owner, title="Beta", status="in-progress")

    await store.update_task(first.id, 1, {"title": "Gamma", "status": "done", "version": 2, "updated_at": DAY})

    assert await page_ids(store, owner=owner.id, title_contains="gamma") == [first.id]
    assert await page_ids(store, owner=owner.id, title_contains="alpha") == []
    assert await page_ids(store, owner=owner.id, sort=(("status", False),)) == [second.id, first.id]


# tasks: find_tasks


async def test_find_tasks_pages_and_counts(store, new_user, new_task):
    owner = await new_user()
    tasks = [await new_task(owner) for _ in range(25)]
    newest_first = ids(reversed(tasks))  # new_task spaces updatedAt one second apart

    pages = [await store.find_tasks(TaskQuery(owner=owner.id, skip=skip, limit=10)) for skip in (0, 10, 20, 30)]

    assert [ids(page) for page, _ in pages] == [newest_first[:10], newest_first[10:20], newest_first[20:], []]
    assert [total for _, total in pages] == [25, 25, 25, 25]
    assert pages[0][0][0] == tasks[-1]  # whole records, not just ids


async def test_visible_to_matches_owner_or_assignee_once(store, new_user, new_task):
    me, other, stranger = await new_user(), await new_user(), await new_user()
    mine = await new_task(me)
    assigned_to_me = await new_task(other, assigned_to=me.id)
    mine_assigned_out = await new_task(me, assigned_to=other.id)
    self_assigned = await new_task(me, assigned_to=me.id)
    await new_task(other)
    await new_task(stranger, assigned_to=other.id)

    tasks, total = await store.find_tasks(TaskQuery(visible_to=me.id))

    assert sorted(ids(tasks)) == sorted(ids([mine, assigned_to_me, mine_assigned_out, self_assigned]))
    assert total == 4
    assert await page_ids(store, visible_to="malformed") == []


async def test_owner_and_assignee_filters(store, new_user, new_task):
    me, other = await new_user(), await new_user()
    mine = await new_task(me)
    mine_assigned_out = await new_task(me, assigned_to=other.id)
    assigned_to_me = await new_task(other, assigned_to=me.id)

    assert sorted(await page_ids(store, owner=me.id)) == sorted(ids([mine, mine_assigned_out]))
    assert await page_ids(store, assigned_to=me.id) == [assigned_to_me.id]
    assert await page_ids(store, visible_to=me.id, assigned_to=other.id) == [mine_assigned_out.id]
    assert await page_ids(store, owner=me.id, assigned_to=me.id) == []


async def test_status_and_priority_filters(store, new_user, new_task):
    owner = await new_user()
    todo_low = await new_task(owner, status="todo", priority="low")
    doing_high = await new_task(owner, status="in-progress", priority="high")
    done_medium = await new_task(owner, status="done", priority="medium")

    assert await page_ids(store, owner=owner.id, statuses=("todo",)) == [todo_low.id]
    assert sorted(await page_ids(store, owner=owner.id, statuses=("todo", "done"))) == sorted(
        ids([todo_low, done_medium])
    )
    assert sorted(await page_ids(store, owner=owner.id, priorities=("high", "medium"))) == sorted(
        ids([doing_high, done_medium])
    )
    assert await page_ids(store, owner=owner.id, statuses=("done",), priorities=("low",)) == []


@pytest.mark.parametrize(
    "title, needle, found",
    [
        ("Fix the Login bug", "login", True),
        ("Fix the login bug", "fix the l", True),
        ("anything", ".*", False),
        ("a.* literal", ".*", True),
        ("abc", "a.c", False),
        ("call foo(", "(", True),
        ("100% done", "%", True),
        ("100 done", "%", False),
        ("snake_case", "_", True),
        ("snakecase", "_", False),
        ("back\\slash", "\\s", True),
        ("backslash", "\\s", False),
        ("[draft] plan", "[draft]", True),
        ("d plan", "[draft]", False),
        ("École d'été", "école", True),
        ("ÉCOLE", "é", True),
        ("Ecole", "é", False),
        ("^start$", "^start$", True),
        ("start", "^start$", False),
    ],
)
async def test_title_contains_is_a_literal_case_insensitive_substring(store, new_user, new_task, title, needle, found):
    owner = await new_user()
    task = await new_task(owner, title=title)

    assert await page_ids(store, owner=owner.id, title_contains=needle) == ([task.id] if found else [])


async def test_due_bounds_are_inclusive_and_skip_tasks_without_due_date(store, new_user, new_task):
    owner = await new_user()
    before = await new_task(owner, due_date=DAY - timedelta(milliseconds=1))
    on_start = await new_task(owner, due_date=DAY)
    inside = await new_task(owner, due_date=DAY + timedelta(days=1))
    on_end = await new_task(owner, due_date=DAY + timedelta(days=2))
    after = await new_task(owner, due_date=DAY + timedelta(days=2, milliseconds=1))
    await new_task(owner, due_date=None)

    between = await page_ids(store, owner=owner.id, due_from=DAY, due_to=DAY + timedelta(days=2))
    from_day = await page_ids(store, owner=owner.id, due_from=DAY)
    to_day = await page_ids(store, owner=owner.id, due_to=DAY)

    assert sorted(between) == sorted(ids([on_start, inside, on_end]))
    assert sorted(from_day) == sorted(ids([on_start, inside, on_end, after]))
    assert sorted(to_day) == sorted(ids([before, on_start]))


async def test_deleted_flag_selects_live_or_trashed_tasks(store, new_user, new_task):
    owner = await new_user()
    live = await new_task(owner)
    trashed = await new_task(owner, is_deleted=True, deleted_at=DAY)

    assert await page_ids(store, owner=owner.id) == [live.id]
    assert await page_ids(store, owner=owner.id, deleted=True) == [trashed.id]


@pytest.fixture
async def sortable(store, new_user, new_task):
    """Five tasks whose every sort field orders them differently, and their owner."""
    owner = await new_user()
    rows = [
        # title, status, priority, dueDate, createdAt, updatedAt (days after DAY)
        ("banana", "done", "low", 3, 2, 1),
        ("Apple", "todo", "high", None, 4, 3),
        ("cherry", "in-progress", "medium", 1, 1, 4),
        ("Éclair", "todo", "low", 2, 3, 0),
        ("apple", "in-progress", "high", None, 0, 2),
    ]
    tasks = {}
    for title, status, priority, due, created, updated in rows:
        tasks[title] = await new_task(
            owner,
            title=title,
            status=status,
            priority=priority,
            due_date=None if due is None else DAY + timedelta(days=due),
            created_at=DAY + timedelta(days=created),
            updated_at=DAY + timedelta(days=updated),
        )
    return owner, tasks


@pytest.mark.parametrize(
    "sort, titles",
    [
        ((("createdAt", False),), ["apple", "cherry", "banana", "Éclair", "Apple"]),
        ((("createdAt", True),), ["Apple", "Éclair", "banana", "cherry", "apple"]),
        ((("updatedAt", False),), ["Éclair", "banana", "apple", "Apple", "cherry"]),
        ((("updatedAt", True),), ["cherry", "Apple", "apple", "banana", "Éclair"]),
        # code point order: upper case before lower case before accented letters
        ((("title", False),), ["Apple", "apple", "banana", "cherry", "Éclair"]),
        ((("title", True),), ["Éclair", "cherry", "banana", "apple", "Apple"]),
        # tasks without a due date sort below every date
        ((("dueDate", False), ("title", False)), ["Apple", "apple", "cherry", "Éclair", "banana"]),
        ((("dueDate", True), ("title", False)), ["banana", "Éclair", "cherry", "Apple", "apple"]),
        # workflow order, not alphabetical
        ((("status", False), ("title", False)), ["Apple", "Éclair", "apple", "cherry", "banana"]),
        ((("status", True), ("title", True)), ["banana", "cherry", "apple", "Éclair", "Apple"]),
        # weight order, not alphabetical
        ((("priority", False), ("title", False)), ["banana", "Éclair", "cherry", "Apple", "apple"]),
        ((("priority", True), ("createdAt", True)), ["Apple", "apple", "cherry", "Éclair", "banana"]),
        (
            (("status", False), ("priority", True), ("updatedAt", False)),
            ["Apple", "Éclair", "apple", "cherry", "banana"],
        ),
    ],
)
async def test_every_sort_field_both_ways(store, sortable, sort, titles):
    owner, tasks = sortable

    assert await page_ids(store, owner=owner.id, sort=sort) == [tasks[title].id for title in titles]


@pytest.mark.parametrize("descending", [False, True])
async def test_ties_break_on_id_ascending_whatever_the_direction(store, new_user, new_task, descending):
    owner = await new_user()
    tied = [await new_task(owner, updated_at=DAY, title="same") for _ in range(6)]

    for field in ("updatedAt", "title", "status", "priority", "dueDate", "createdAt"):
        found = await page_ids(store, owner=owner.id, sort=((field, descending),))
        assert found == sorted(ids(tied)), field
    second_page, total = await store.find_tasks(TaskQuery(owner=owner.id, skip=3, limit=3))
    assert ids(second_page) == sorted(ids(tied))[3:] and total == 6


# tasks: the same random data and queries on every backend, against a plain-Python reference


def reference_find(tasks: list[dict], query: TaskQuery) -> tuple[list[str], int]:
    """The TaskQuery semantics, written as plainly as possible."""

    def matches(task: Task) -> bool:
        due = task.due_date
        return (
            task.is_deleted == query.deleted
            and (query.visible_to is None or query.visible_to in (task.owner, task.assigned_to))
            and (query.owner is None or task.owner == query.owner)
            and (query.assigned_to is None or task.assigned_to == query.assigned_to)
            and (not query.statuses or task.status in query.statuses)
            and (not query.priorities or task.priority in query.priorities)
            and (query.title_contains is None or query.title_contains in task.title.lower())
            and (query.due_from is None or (due is not None and due >= query.due_from))
            and (query.due_to is None or (due is not None and due <= query.due_to))
        )

    sort_key = {
        "status": lambda task: STATUSES.index(task.status),
        "priority": lambda task: PRIORITIES.index(task.priority),
        "dueDate": lambda task: (task.due_date is not None, task.due_date or DAY),
        "title": lambda task: task.title,
        "createdAt": lambda task: task.created_at,
        "updatedAt": lambda task: task.updated_at,
    }
    found = sorted(filter(matches, tasks), key=lambda task: task.id)
    for field, descending in reversed(query.sort):  # stable sorts, least significant key first
        found.sort(key=sort_key[field], reverse=descending)
    return ids(found[query.skip : query.skip + query.limit]), len(found)


TITLE_WORDS = [
    "Fix", "fix", "bug", "a.*b", "(draft)", "100%", "snake_case",
    "École", "été", "ÉTÉ", "Z", "zèbre", "[x]", "\\d",
]
NEEDLES = ["fix", "bug", ".*", "(", "%", "_", "é", "école", "[x]", "\\d", "e", "", "no such words"]


def random_tasks(rnd: random.Random, users: list[str]) -> list[Task]:
    # Few distinct values per field, so that ties (and the _id tie-breaker) are common.
    moments = [DAY + timedelta(hours=h) for h in range(6)]
    tasks = []
    for _ in range(240):
        owner = rnd.choice(users)
        tasks.append(
            Task(
                id=new_id(),
                owner=owner,
                title=" ".join(rnd.sample(TITLE_WORDS, rnd.randint(1, 3))),
                description="",
                status=rnd.choice(STATUSES),
                priority=rnd.choice(PRIORITIES),
                due_date=rnd.choice([None, *moments]),
                assigned_to=rnd.choice([None, None, owner, *users]),
                is_deleted=rnd.random() < 0.2,
                deleted_at=None,
                created_at=rnd.choice(moments),
                updated_at=rnd.choice(moments),
                version=1,
            )
        )
    rnd.shuffle(tasks)  # insertion order unrelated to _id order
    return tasks


def random_query(rnd: random.Random, users: list[str]) -> TaskQuery:
    moments = [DAY + timedelta(hours=h) for h in range(6)]

    def maybe(values, chance=0.3):
        return rnd.choice(values) if rnd.random() < chance else None

    fields = ["createdAt", "updatedAt", "dueDate", "title", "status", "priority"]
    return TaskQuery(
        deleted=rnd.random() < 0.2,
        visible_to=maybe(users, 0.5),
        owner=maybe(users),
        assigned_to=maybe(users, 0.2),
        statuses=tuple(rnd.sample(STATUSES, rnd.randint(0, 2))),
        priorities=tuple(rnd.sample(PRIORITIES, rnd.randint(0, 2))),
        title_contains=maybe(NEEDLES),
        due_from=maybe(moments, 0.2),
        due_to=maybe(moments, 0.2),
        sort=tuple((field, rnd.random() < 0.5) for field in rnd.sample(fields, rnd.randint(1, 3))),
        skip=rnd.choice([0, 0, 3, 10, 40]),
        limit=rnd.choice([1, 5, 10, 100]),
    )


async def test_random_queries_match_the_reference(store, new_user):
    rnd = random.Random(20260301)  # the same data and queries on every backend
    users = [(await new_user()).id for _ in range(5)]
    tasks = random_tasks(rnd, users)
    for task in tasks:
        await store.insert_task(task)

    queries_with_matches = 0
    for _ in range(300):
        query = random_query(rnd, users)
        page, total = await store.find_tasks(query)
        assert (ids(page), total) == reference_find(tasks, query), query
        queries_with_matches += total > 0
    assert queries_with_matches > 200  # the queries really select something


async def test_totals_without_filters_follow_every_change(store, new_user):
    """A list's `total` when only the user is given (the shape SQLite keeps counted rather
    than counting) stays that of the reference through inserts, (re)assignments, the trash
    and back, changes of owner, and edits that touch none of these."""
    rnd = random.Random(20261202)
    users = [(await new_user()).id for _ in range(4)]
    tasks = {task.id: task for task in random_tasks(rnd, users)[:60]}
    for task in tasks.values():
        await store.insert_task(task)

    def changes_of(task: Task) -> dict:
        kind = rnd.choice(["assign", "assign", "trash", "owner", "owner and assignee", "title"])
        if kind == "assign":
            return {"assigned_to": rnd.choice([None, task.owner, *users])}
        if kind == "trash":
            return {"is_deleted": not task.is_deleted, "deleted_at": None if task.is_deleted else DAY}
        if kind == "owner":
            return {"owner": rnd.choice(users)}
        if kind == "owner and assignee":  # in one statement, the assignee possibly the old owner
            return {"owner": rnd.choice(users), "assigned_to": rnd.choice([None, task.owner, *users])}
        return {"title": f"Edited {rnd.random()}"}

    for step in range(150):
        task = rnd.choice(list(tasks.values()))
        changes = changes_of(task) | {"version": task.version + 1, "updated_at": DAY}
        assert await store.apply(ChangeSet(task_update=TaskUpdate(task.id, task.version, changes))) == ()
        tasks[task.id] = replace(task, **changes)
        if step % 10 == 9:
            for user in users:
                for query in (TaskQuery(visible_to=user), TaskQuery(visible_to=user, deleted=True),
                              TaskQuery(owner=user), TaskQuery(owner=user, deleted=True),
                              TaskQuery(visible_to=user, skip=1_000), TaskQuery(owner=user, limit=0)):  # no page: the count alone
                    _, total = await store.find_tasks(query)
                    assert total == reference_find(list(tasks.values()), query)[1], (step, query)


# task pairs, assignments, acts


async def test_task_pairs_are_the_live_shared_tasks_with_their_roles(store, new_user, new_task):
    me, boss, helper, former, stranger = [await new_user() for _ in range(5)]
    await new_task(boss, assigned_to=me.id)
    await new_task(me, assigned_to=helper.id)
    await new_task(me, assigned_to=helper.id)
    await new_task(me, assigned_to=former.id, is_deleted=True, deleted_at=DAY)
    await new_task(me, assigned_to=me.id)
    await new_task(me)
    await new_task(stranger, assigned_to=boss.id)

    assert await store.task_pairs(me.id) == {(boss.id, me.id), (me.id, helper.id)}
    assert await store.task_pairs(boss.id) == {(boss.id, me.id), (stranger.id, boss.id)}
    assert await store.task_pairs(former.id) == set()
    assert await store.live_assignments(me.id) == {helper.id: 2}
    assert await store.live_assignments(helper.id) == {}


async def test_acts_are_recorded_once_each_with_their_change(store, new_user, new_task):
    owner, assignee, other = [await new_user() for _ in range(3)]
    task = await new_task(owner, assigned_to=assignee.id)
    change = ChangeSet(task_update=TaskUpdate(task.id, 1, {"status": "done", "version": 2, "updated_at": DAY}),
                       acts=(Act(assignee.id, owner.id),))
    assert await store.apply(change) == ()
    assert await store.apply(ChangeSet(acts=(Act(assignee.id, owner.id), Act(owner.id, other.id)))) == ()  # once each

    assert await store.acted_toward(owner.id) == {assignee.id}
    assert await store.acted_by(owner.id) == {other.id}
    assert (await store.acted_by(assignee.id), await store.acted_toward(other.id)) == ({owner.id}, {owner.id})


async def test_acts_of_a_change_that_does_not_hold_are_not_recorded(store, new_user, new_task):
    owner, assignee = await new_user(), await new_user()
    task = await new_task(owner, assigned_to=assignee.id)
    stale = ChangeSet(task_update=TaskUpdate(task.id, 9, {"status": "done", "version": 10, "updated_at": DAY}),
                      acts=(Act(assignee.id, owner.id),))
    assert await store.apply(stale) is None
    assert await store.acted_toward(owner.id) == set()


# notifications


async def test_notification_round_trip(store, new_user, new_notification):
    user = await new_user()
    notification = await new_notification(
        user,
        type="task_status_changed",
        data={"taskId": new_id(), "title": "Été ✓", "actor": {"_id": new_id(), "name": "Ann"}},
        created_at=datetime(2026, 5, 1, 8, 0, 0, 123456, tzinfo=timezone.utc),
    )

    found, total = await store.find_notifications(user.id, unread_only=False, skip=0, limit=10)

    assert found == [replace(notification, created_at=datetime(2026, 5, 1, 8, 0, 0, 123000, tzinfo=timezone.utc))]
    assert total == 1


async def test_notifications_page_newest_first_for_their_user_only(store, new_user, new_notification):
    user, other = await new_user(), await new_user()
    notifications = [await new_notification(user) for _ in range(5)]
    same_instant = [await new_notification(user, created_at=DAY + timedelta(days=30)) for _ in range(3)]
    await new_notification(other)
    newest_first = sorted(ids(same_instant), reverse=True) + ids(reversed(notifications))

    first, total = await store.find_notifications(user.id, unread_only=False, skip=0, limit=5)
    rest, _ = await store.find_notifications(user.id, unread_only=False, skip=5, limit=5)

    assert ids(first) + ids(rest) == newest_first
    assert total == 8


async def test_unread_filter_and_counts(store, new_user, new_notification):
    user = await new_user()
    unread = [await new_notification(user) for _ in range(3)]
    await new_notification(user, read=True)

    found, total = await store.find_notifications(user.id, unread_only=True, skip=0, limit=10)

    assert ids(found) == ids(reversed(unread)) and total == 3
    assert await store.count_unread(user.id) == 3
    assert await store.count_unread(new_id()) == 0


async def test_read_update_and_unread(store, new_user, new_notification):
    user = await new_user()
    notification = await new_notification(user)

    assert await store.apply(ChangeSet(read_update=ReadUpdate(user.id, notification.id, True))) == ()
    assert await store.get_notification(user.id, notification.id) == replace(notification, read=True)
    # Already read: the precondition fails and nothing is written.
    entry = LogEntry("notification:updated", {"x": 1}, users=(user.id,))
    assert await store.apply(ChangeSet(read_update=ReadUpdate(user.id, notification.id, True), events=(entry,))) is None
    assert await store.events_after("0", 10) == []
    assert await store.count_unread(user.id) == 0
    assert await store.apply(ChangeSet(read_update=ReadUpdate(user.id, notification.id, False))) == ()
    assert await store.count_unread(user.id) == 1


async def test_read_update_of_another_users_or_unknown_notification_fails(store, new_user, new_notification):
    user, other = await new_user(), await new_user()
    notification = await new_notification(user)

    assert await store.apply(ChangeSet(read_update=ReadUpdate(other.id, notification.id, True))) is None
    assert await store.apply(ChangeSet(read_update=ReadUpdate(user.id, new_id(), True))) is None
    assert await store.apply(ChangeSet(read_update=ReadUpdate(user.id, "bogus", True))) is None
    assert await store.get_notification(other.id, notification.id) is None
    assert await store.count_unread(user.id) == 1


async def test_mark_all_read_counts_what_it_changed(store, new_user, new_notification):
    user, other = await new_user(), await new_user()
    for read in (False, False, True):
        await new_notification(user, read=read)
    await new_notification(other)

    assert await store.mark_all_read(user.id) == 2
    assert await store.mark_all_read(user.id) == 0
    assert await store.count_unread(user.id) == 0
    assert await store.count_unread(other.id) == 1


async def test_ping_answers(store):
    await store.ping()


async def test_update_user_and_users_disabled_after(store, new_user):
    ann, bob = await new_user(), await new_user()
    await store.update_user(ann.id, {"password_hash": "$2b$04$" + "y" * 53, "disabled_at": 1767225600.5})
    stored = await store.get_user(ann.id)
    assert stored.password_hash == "$2b$04$" + "y" * 53 and stored.disabled_at == 1767225600.5
    assert (await store.get_user(bob.id)).disabled_at is None
    assert await store.users_disabled_after(1767225600.0) == [(ann.id, 1767225600.5)]
    assert await store.users_disabled_after(1767225600.5) == []
