"""What only the SQLite store promises: the file, WAL, migrations, index use, failure mapping."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from tasktrek.errors import IncompatibleDatabase, StoreUnavailable
from tasktrek.store import ChangeSet, SqliteStore, TaskQuery
from tasktrek.store import sqlite as sqlite_module


@pytest.fixture
def path(tmp_path):
    return tmp_path / "not" / "yet" / "there" / "tasktrek.db"


@pytest.fixture
async def store(path):
    """Overrides the contract suite's store: these tests are about SQLite alone."""
    opened = SqliteStore(path)
    await opened.open()
    yield opened
    await opened.close()


def pragma(path, name: str):
    with sqlite3.connect(path) as db:
        return db.execute(f"PRAGMA {name}").fetchone()[0]


async def test_open_creates_the_file_in_wal_mode_at_the_latest_schema(store, path):
    assert path.is_file()
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "user_version") == len(sqlite_module.MIGRATIONS)


async def test_reopening_keeps_the_data(store, path, new_user, new_task):
    user = await new_user()
    task = await new_task(user)
    await store.close()

    reopened = SqliteStore(path)
    await reopened.open()
    try:
        assert await reopened.get_user(user.id) == user
        assert await reopened.get_task(task.id) == task
        assert pragma(path, "user_version") == len(sqlite_module.MIGRATIONS)
    finally:
        await reopened.close()


async def test_reopening_applies_only_the_new_migrations(store, path, new_user, monkeypatch):
    user = await new_user()
    await store.close()
    new_migration = ("CREATE INDEX tasks_created ON tasks (user, createdAt)",)
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", [*sqlite_module.MIGRATIONS, new_migration])

    reopened = SqliteStore(path)
    await reopened.open()
    await reopened.close()

    assert pragma(path, "user_version") == len(sqlite_module.MIGRATIONS)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tasks_created'").fetchone()
        assert db.execute("SELECT name FROM users").fetchall() == [(user.name,)]


async def test_a_failing_migration_changes_nothing(store, path, monkeypatch):
    await store.close()
    broken = ("CREATE TABLE half_done (x)", "THIS IS NOT SQL")
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", [*sqlite_module.MIGRATIONS, broken])

    with pytest.raises(sqlite3.OperationalError):
        await SqliteStore(path).open()

    assert pragma(path, "user_version") == len(sqlite_module.MIGRATIONS) - 1
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone() is None


async def test_a_database_from_a_newer_release_is_refused(store, path):
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(sqlite_module.MIGRATIONS) + 1}")

    with pytest.raises(IncompatibleDatabase, match="newer than this TaskTrek"):  # refused, not retried
        await SqliteStore(path).open()


async def test_values_are_stored_as_sortable_text(store, path, new_user, new_task, new_notification):
    user = await new_user()
    await new_task(user, title="Été")
    await new_notification(user, data={"taskId": "t", "n": [1, 2]})

    with sqlite3.connect(path) as db:
        created, title_lower, is_deleted = db.execute("SELECT createdAt, titleLower, isDeleted FROM tasks").fetchone()
        data = db.execute("SELECT data FROM notifications").fetchone()[0]
    assert created == "2026-03-01T12:00:00.000Z"
    assert title_lower == "été"
    assert is_deleted == 0
    assert data == '{"taskId": "t", "n": [1, 2]}'


@pytest.mark.parametrize(
    "query",
    [
        TaskQuery(visible_to="u"),
        TaskQuery(visible_to="u", skip=100_000),
        TaskQuery(visible_to="u", statuses=("todo", "done"), priorities=("high",)),
        TaskQuery(owner="u", deleted=True),
        TaskQuery(assigned_to="u"),
    ],
)
async def test_list_pages_walk_the_indexes_in_order(store, query):
    plan = await store.query_plan(query)

    assert not [step for step in plan if step.startswith("SCAN tasks")], plan
    assert any("USING COVERING INDEX tasks_" in step for step in plan), plan
    # The only sort is the final one, of the page's own rows; the matches arrive in order.
    assert [step for step in plan if "TEMP B-TREE" in step] == ["USE TEMP B-TREE FOR ORDER BY"], plan
    assert plan[-1] == "USE TEMP B-TREE FOR ORDER BY", plan


async def test_visible_to_merges_the_owner_and_assignee_indexes(store):
    plan = await store.query_plan(TaskQuery(visible_to="u"))

    assert "MERGE (UNION ALL)" in plan
    assert any("COVERING INDEX tasks_owner" in step for step in plan)
    assert any("COVERING INDEX tasks_assignee" in step for step in plan)


def counted_and_counted_again(path) -> tuple[list, list]:
    """Each user's task counts as `task_counts` keeps them, and as counting the tasks finds them."""
    with sqlite3.connect(path) as db:
        kept = db.execute(
            "SELECT user, isDeleted, owned, assigned FROM task_counts WHERE owned OR assigned ORDER BY 1, 2").fetchall()
        counted = db.execute(
            """SELECT user, isDeleted, sum(owned), sum(assigned) FROM (
                   SELECT user, isDeleted, 1 AS owned, 0 AS assigned FROM tasks
                   UNION ALL SELECT assignedTo, isDeleted, 0, 1 FROM tasks WHERE assignedTo <> user
               ) GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
    return kept, counted


async def test_a_list_without_filters_takes_its_total_from_the_kept_counts(store):
    def index_walks(plan: list[str]) -> int:
        return sum("COVERING INDEX tasks_" in step for step in plan)

    for query, halves in ((TaskQuery(visible_to="u"), 2), (TaskQuery(owner="u", deleted=True), 1)):
        plan = await store.query_plan(query)
        assert "SEARCH task_counts USING PRIMARY KEY (user=? AND isDeleted=?)" in plan, plan
        assert index_walks(plan) == halves, plan  # the page's walks only: none to count
    filtered = await store.query_plan(TaskQuery(visible_to="u", statuses=("todo",)))
    assert not any("task_counts" in step for step in filtered) and index_walks(filtered) == 4, filtered


async def test_the_kept_counts_follow_changes_made_by_any_process(store, path, new_user, new_task):
    """Triggers keep the counts, so a process writing plain SQL (another node, an operator's
    tool) keeps them too. (Not `INSERT OR REPLACE` on tasks: SQLite fires no delete trigger
    for the row it replaces unless `recursive_triggers` is on; TaskTrek never uses it.)"""
    ann, bob = await new_user(), await new_user()
    kept_task = await new_task(ann, assigned_to=bob.id)
    await new_task(bob, assigned_to=bob.id)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE tasks SET assignedTo = NULL WHERE _id = ?", (kept_task.id,))
        db.execute("UPDATE tasks SET isDeleted = 1 WHERE user = ?", (bob.id,))
        db.execute("INSERT INTO tasks SELECT lower(hex(randomblob(12))), user, title, titleLower, description, status, "
                   "statusRank, priority, priorityRank, dueDate, ?, isDeleted, deletedAt, createdAt, updatedAt, "
                   "version FROM tasks", (ann.id,))
        db.execute("DELETE FROM tasks WHERE _id = ?", (kept_task.id,))

    kept, counted = counted_and_counted_again(path)
    assert kept == counted and len(kept) == 3
    _, total = await store.find_tasks(TaskQuery(visible_to=ann.id, deleted=True))
    assert total == 1  # bob's own task, in the trash, now assigned to ann


async def test_upgrading_counts_the_tasks_already_there(store, path, new_user, new_task):
    ann, bob = await new_user(), await new_user()
    for n in range(5):
        await new_task(ann, assigned_to=bob.id if n % 2 else None, is_deleted=n == 4)
    await store.close()
    # The file as the release before the counts left it: no table, no triggers, its version.
    counted_since = next(i for i, m in enumerate(sqlite_module.MIGRATIONS) if any("task_counts" in s for s in m))
    with sqlite3.connect(path) as db:
        for trigger in ("task_inserted", "task_deleted", "task_recounted"):
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DROP TABLE task_counts")
        db.execute(f"PRAGMA user_version = {counted_since}")

    upgraded = SqliteStore(path)
    await upgraded.open()
    try:
        kept, counted = counted_and_counted_again(path)
        assert kept == counted == sorted([(ann.id, 0, 4, 0), (ann.id, 1, 1, 0), (bob.id, 0, 0, 2)])
        assert (await upgraded.find_tasks(TaskQuery(visible_to=bob.id)))[1] == 2
    finally:
        await upgraded.close()


async def test_a_closed_or_unopened_store_is_unavailable(store):
    await store.close()

    with pytest.raises(StoreUnavailable):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        await store.find_tasks(TaskQuery())
    with pytest.raises(StoreUnavailable):
        await SqliteStore("never-opened.db").get_user("x")


async def test_a_path_that_cannot_hold_a_database_is_unavailable(tmp_path):
    (tmp_path / "a-file").write_text("")

    with pytest.raises(StoreUnavailable):
        await SqliteStore(tmp_path / "a-file" / "tasktrek.db").open()
    with pytest.raises(StoreUnavailable):
        await SqliteStore(tmp_path).open()  # a directory, not a file


async def test_a_database_locked_past_the_busy_timeout_is_unavailable(path):
    store = SqliteStore(path, busy_timeout_ms=20)
    await store.open()
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        with pytest.raises(StoreUnavailable):
            await store.set_tokens_revoked_at("someone", 1.0)
        await store.ping()  # readers are not blocked in WAL mode
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()
        await store.close()


async def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "tasktrek.db"
    path.write_bytes(b"this is not an SQLite file, just some text long enough" * 40)

    with pytest.raises(IncompatibleDatabase, match="is not a SQLite database"):  # refused, not retried
        await SqliteStore(path).open()


@pytest.fixture
def wal_kept(store, path):
    """A connection using the WAL until the test ends: the store's closing then checkpoints nothing."""
    keeper = sqlite3.connect(path)
    keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()
    yield keeper
    keeper.close()


def tasks_in_main_file(path: Path, tmp_path: Path) -> int | None:
    """How many tasks the database file alone holds, the WAL left out (None: not even the table)."""
    alone = tmp_path / "main-file-only.db"
    alone.write_bytes(path.read_bytes())
    db = sqlite3.connect(alone)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tasks'").fetchall():
            return None
        return db.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        db.close()


async def test_the_wal_is_checkpointed_beside_the_writes_not_inside_them(store, path, wal_kept, new_user, new_task,
                                                                         tmp_path, monkeypatch):
    """The store checkpoints in a thread of its own every CHECKPOINT_AFTER_WRITES writes (10
    here: ~100 pages, far under SQLite's own threshold). Seen from the database file alone,
    the tasks written before it are in it."""
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_AFTER_WRITES", 10)
    owner = await new_user()
    for _ in range(25):
        await new_task(owner)
    await store.close()  # waits for a checkpoint under way
    # The first checkpoint began at the 10th write (the schema's first row and the user were
    # two of them); a later one may have begun before the end, or not yet.
    assert tasks_in_main_file(path, tmp_path) >= 8


async def test_sqlite_does_not_checkpoint_inside_commits(store, path, wal_kept, new_user, new_task, tmp_path,
                                                         monkeypatch):
    """SQLite's own checkpoint (by default inside whichever commit takes the WAL past 1,000
    pages) is pushed out to FALLBACK_AUTOCHECKPOINT_PAGES: with the store's own checkpoint
    out of the way, 400 new tasks (well over 1,000 pages) leave the database file as it was."""
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_AFTER_WRITES", 1_000_000)
    owner = await new_user()
    for _ in range(400):
        await new_task(owner)
    page_size = wal_kept.execute("PRAGMA page_size").fetchone()[0]
    wal_frames = (Path(f"{path}-wal").stat().st_size - 32) // (page_size + 24)  # WAL header, frame headers
    assert wal_frames > 1_000
    await store.close()
    assert tasks_in_main_file(path, tmp_path) is None


async def test_the_database_threads_let_the_event_loop_run_first(path, monkeypatch):
    """aiosqlite's thread, the writer's and the checkpointer's run under SCHED_BATCH (woken,
    each waits for a free CPU rather than preempt the event loop's thread); the event loop's
    thread keeps the default policy (`yield_to_the_event_loop`). Linux, as TaskTrek's image."""
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_AFTER_WRITES", 1)
    checkpointing = threading.Event()
    checkpoint = SqliteStore._checkpoint_now

    def observed_checkpoint(self):
        checkpointing.set()
        checkpoint(self)

    monkeypatch.setattr(SqliteStore, "_checkpoint_now", observed_checkpoint)
    others = {thread.native_id for thread in threading.enumerate()}
    store = SqliteStore(path)
    await store.open()
    try:
        assert await store.apply(ChangeSet()) == ()  # in the writer's thread; a checkpoint follows
        threads = [thread for thread in threading.enumerate() if thread.native_id not in others]
        assert await asyncio.to_thread(checkpointing.wait, 10)

        assert len(threads) == 3, threads
        assert {os.sched_getscheduler(thread.native_id) for thread in threads} == {os.SCHED_BATCH}
        assert os.sched_getscheduler(0) == os.SCHED_OTHER
    finally:
        await store.close()


async def test_a_store_whose_threads_may_not_change_policy_works_as_before(path, monkeypatch):
    def refused(*args):
        raise PermissionError("not allowed here")

    monkeypatch.setattr(os, "sched_setscheduler", refused)
    store = SqliteStore(path)
    await store.open()
    try:
        assert await store.apply(ChangeSet()) == ()
        assert await store.get_user("0" * 24) is None
    finally:
        await store.close()
