"""The embedded default store: one SQLite file in WAL mode, reached through aiosqlite.

Timestamps are kept as ISO strings with milliseconds and Z ('2026-11-23T22:14:05.123Z'), so
that text order is time order; booleans as 0/1; `notification.data` as JSON text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields as dataclass_fields, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable

import aiosqlite

from ..domain import StoredInstant, iso
from ..errors import EmailTaken, IncompatibleDatabase, StoreUnavailable
from ..events import LogEntry, offset_number
from ..records import Notification, Task, User
from .base import (
    STORED_NAMES, ChangeSet, ReadUpdate, SessionRecord, TaskQuery, TaskUpdate,
    stored, stored_record, task_index_fields, task_sort_keys,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# WAL checkpoints run in a thread of their own after this many writes, never inside a commit:
# SQLite's automatic one (after 1,000 pages, ~160 task changes) ran in the committing
# statement and added ~5 ms to every 160th write (and to the events it announces).
CHECKPOINT_AFTER_WRITES = 100
# The automatic checkpoint stays on, far out, as a bound on the WAL should ours fall behind.
FALLBACK_AUTOCHECKPOINT_PAGES = 20_000


def yield_to_the_event_loop() -> None:
    """Make the calling thread (one of the store's database threads) wait for a free CPU when
    it is woken, instead of taking it from the event loop's thread at once: Linux's
    SCHED_BATCH, still a fair share of the CPU. Woken at once, a database thread ran for a
    few microseconds, then waited for the GIL, which the loop's thread held: ~7 context
    switches per write-then-read pair, ~10% of the server's CPU. Waiting, it runs when the
    loop waits for I/O, and takes every statement queued meanwhile in one go. Elsewhere (or
    if refused) nothing changes."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def _count_task(row: str, sign: str) -> str:
    """Trigger statements counting the task `row` (NEW or OLD) in (`+`) or out (`-`)."""
    return (
        f"INSERT INTO task_counts (user, isDeleted, owned) VALUES ({row}.user, {row}.isDeleted, {sign}1) "
        f"ON CONFLICT (user, isDeleted) DO UPDATE SET owned = owned {sign} 1; "
        f"INSERT INTO task_counts (user, isDeleted, assigned) SELECT {row}.assignedTo, {row}.isDeleted, {sign}1 "
        f"WHERE {row}.assignedTo <> {row}.user ON CONFLICT (user, isDeleted) DO UPDATE SET assigned = assigned {sign} 1;"
    )


# Each migration is a sequence of statements applied once, in order, in one transaction;
# `PRAGMA user_version` counts the migrations applied. Append new ones; never edit old ones.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE users (
            _id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL,
            passwordHash TEXT NOT NULL,
            tokensRevokedAt REAL,
            createdAt TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX users_email ON users (email)",
        """CREATE TABLE tasks (
            _id TEXT PRIMARY KEY,
            user TEXT NOT NULL REFERENCES users (_id),
            title TEXT NOT NULL,
            titleLower TEXT NOT NULL,
            description TEXT NOT NULL,
            status TEXT NOT NULL,
            statusRank INTEGER NOT NULL,
            priority TEXT NOT NULL,
            priorityRank INTEGER NOT NULL,
            dueDate TEXT,
            assignedTo TEXT REFERENCES users (_id),
            isDeleted INTEGER NOT NULL,
            deletedAt TEXT,
            createdAt TEXT NOT NULL,
            updatedAt TEXT NOT NULL,
            version INTEGER NOT NULL
        )""",
        # A user's list pages come straight off these indexes in the default order
        # (updatedAt desc, _id asc). Each also carries the other party, the status and the
        # priority, so the "visible to" halves, task_pairs and the common filters and
        # counts never touch the table rows.
        "CREATE INDEX tasks_owner ON tasks (user, isDeleted, updatedAt DESC, _id, assignedTo, status, priority)",
        "CREATE INDEX tasks_assignee ON tasks (assignedTo, isDeleted, updatedAt DESC, _id, user, status, priority)",
        """CREATE TABLE notifications (
            _id TEXT PRIMARY KEY,
            user TEXT NOT NULL REFERENCES users (_id),
            type TEXT NOT NULL,
            message TEXT NOT NULL,
            data TEXT NOT NULL,
            read INTEGER NOT NULL,
            createdAt TEXT NOT NULL
        )""",
        "CREATE INDEX notifications_user ON notifications (user, createdAt, _id)",
        "CREATE INDEX notifications_user_read ON notifications (user, read, createdAt, _id)",
    ),
    (
        # Epoch seconds when an operator disabled the account (`tasktrek users disable`).
        "ALTER TABLE users ADD COLUMN disabledAt REAL",
        "CREATE INDEX users_disabled ON users (disabledAt) WHERE disabledAt IS NOT NULL",
    ),
    (
        # The event log: `seq` is the offset (AUTOINCREMENT: never reused, even after pruning).
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            entry TEXT NOT NULL
        )""",
        "CREATE INDEX events_at ON events (at)",
        """CREATE TABLE sessions (
            pid TEXT PRIMARY KEY,
            sid TEXT NOT NULL,
            user TEXT NOT NULL,
            offset TEXT NOT NULL,
            rooms TEXT NOT NULL,
            disconnectedAt REAL
        )""",
        "CREATE INDEX sessions_disconnected ON sessions (disconnectedAt)",
    ),
    (
        # Who has acted toward whom (presence contacts, the assignment cap). Tasks from
        # before this table made no contacts until their assignees act again (security.md).
        """CREATE TABLE acts (
            actor TEXT NOT NULL,
            toward TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (actor, toward)
        ) WITHOUT ROWID""",
        "CREATE INDEX acts_toward ON acts (toward, actor)",
    ),
    (
        # Counts changes to user records (logout, disable, a new password), whichever process
        # makes them: the user-record cache (services/reads.py) keeps a record while it holds.
        "CREATE TABLE users_changes (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)",
        "INSERT INTO users_changes (id, count) VALUES (1, 0)",
        "CREATE TRIGGER users_updated AFTER UPDATE ON users BEGIN UPDATE users_changes SET count = count + 1; END",
        "CREATE TRIGGER users_deleted AFTER DELETE ON users BEGIN UPDATE users_changes SET count = count + 1; END",
    ),
    (
        # Each user's tasks counted, live and deleted apart: `owned`, and `assigned` (others'
        # tasks assigned to the user). A list without filters takes its `total` from here
        # instead of counting the tasks (`_counted`). Triggers keep the counts in the
        # change's own transaction, whichever process makes it.
        """CREATE TABLE task_counts (
            user TEXT NOT NULL,
            isDeleted INTEGER NOT NULL,
            owned INTEGER NOT NULL DEFAULT 0,
            assigned INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user, isDeleted)
        ) WITHOUT ROWID""",
        """INSERT INTO task_counts (user, isDeleted, owned, assigned)
        SELECT user, isDeleted, sum(owned), sum(assigned) FROM (
            SELECT user, isDeleted, 1 AS owned, 0 AS assigned FROM tasks
            UNION ALL
            SELECT assignedTo, isDeleted, 0, 1 FROM tasks WHERE assignedTo <> user
        ) GROUP BY user, isDeleted""",
        f"CREATE TRIGGER task_inserted AFTER INSERT ON tasks BEGIN {_count_task('NEW', '+')} END",
        f"CREATE TRIGGER task_deleted AFTER DELETE ON tasks BEGIN {_count_task('OLD', '-')} END",
        # Only when a counted column is set (an edit of the title leaves the counts alone).
        "CREATE TRIGGER task_recounted AFTER UPDATE OF user, assignedTo, isDeleted ON tasks "
        f"BEGIN {_count_task('OLD', '-')} {_count_task('NEW', '+')} END",
    ),
]

USER_COLUMNS = ("_id", "name", "email", "passwordHash", "tokensRevokedAt", "createdAt", "disabledAt")
TASK_COLUMNS = (
    "_id", "user", "title", "titleLower", "description", "status", "statusRank", "priority",
    "priorityRank", "dueDate", "assignedTo", "isDeleted", "deletedAt", "createdAt",
    "updatedAt", "version",
)
NOTIFICATION_COLUMNS = ("_id", "user", "type", "message", "data", "read", "createdAt")
_DATETIME_COLUMNS = {"createdAt", "updatedAt", "dueDate", "deletedAt"}
_BOOLEAN_COLUMNS = {"isDeleted", "read"}

# Error texts that mean the database itself cannot be used (rather than a faulty statement).
_UNAVAILABLE_MARKERS = (
    "unable to open", "disk i/o error", "database is locked", "database or disk is full",
    "readonly database", "not a database", "malformed", "closed database",
    "no active connection", "connection closed",
)


@contextmanager
def _unavailable_when_unusable():
    try:
        yield
    except (sqlite3.Error, ValueError) as exc:  # aiosqlite raises ValueError once closed
        if any(marker in str(exc).lower() for marker in _UNAVAILABLE_MARKERS):
            raise StoreUnavailable() from exc
        raise


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


def _to_sql(record: dict) -> dict:
    """Column values for a record's stored fields (or for changes to one)."""
    values = {}
    for name, value in record.items():
        if isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, bool):
            value = int(value)
        elif name == "data":
            value = json.dumps(value)
        values[name] = value
    return values


# How a column's value becomes the record's (a NULL stays None). The Z of a stored instant
# makes it aware UTC; rendering it again reuses the text (StoredInstant).
_FROM_COLUMN = {**dict.fromkeys(_DATETIME_COLUMNS, StoredInstant.parse), **dict.fromkeys(_BOOLEAN_COLUMNS, bool),
                "data": json.loads}


def _from_row(kind: type, row: sqlite3.Row):
    return _row_reader(kind, tuple(row.keys()))(row)


def _from_rows(kind: type, rows: list[sqlite3.Row]) -> list:
    """The rows of one statement (the same columns) as records."""
    if not rows:
        return []
    read = _row_reader(kind, tuple(rows[0].keys()))
    return [read(row) for row in rows]


@lru_cache(maxsize=64)
def _row_reader(kind: type, columns: tuple[str, ...]) -> Callable[[sqlite3.Row], object]:
    """Rows with `columns` (every field of `kind` among them; the derived index columns are
    skipped) → records of `kind`, planned once per kind and statement shape: a task row took
    ~4 µs the general way (a dict of the row, then the record's fields looked up in it), and
    a list page has ten."""
    names = STORED_NAMES[kind]
    indexes = tuple(columns.index(names[field.name]) for field in dataclass_fields(kind))
    conversions = tuple((position, _FROM_COLUMN[columns[index]])
                        for position, index in enumerate(indexes) if columns[index] in _FROM_COLUMN)

    def read(row: sqlite3.Row):
        values = [row[index] for index in indexes]
        for position, convert in conversions:
            if (value := values[position]) is not None:
                values[position] = convert(value)
        return kind(*values)

    return read


def _task_insert(task: Task) -> tuple[str, dict]:
    fields = stored_record(task)
    return _insert_sql("tasks", TASK_COLUMNS), _to_sql({**fields, **task_index_fields(fields)})


def _task_update(task_id: str, expected_version: int, changes: dict, returning: str = "") -> tuple[str, dict]:
    """Compare-and-set: the UPDATE of the task's `changes` that matches only at `expected_version`."""
    fields = stored(Task, changes)
    values = _to_sql({**fields, **task_index_fields(fields)})
    unknown = set(values) - set(TASK_COLUMNS[1:])
    if unknown:  # column names are spliced into the SQL: only known ones
        raise ValueError(f"not task fields: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    sql = f"UPDATE tasks SET {assignments} WHERE _id = :task_id AND version = :expected_version {returning}"
    return sql, {**values, "task_id": task_id, "expected_version": expected_version}


def _notification_insert(notification: Notification) -> tuple[str, dict]:
    return _insert_sql("notifications", NOTIFICATION_COLUMNS), _to_sql(stored_record(notification))


def _marks(values) -> str:
    return ", ".join("?" * len(values))


def _task_match_branches(query: TaskQuery) -> list[tuple[str, list]]:
    """(WHERE clause, parameters) pairs whose matches, concatenated, are the query's matches.
    `visible_to` becomes two disjoint halves, owner and assignee-but-not-owner, so that each
    walks its own index in sort order (an OR would sort every match before paging)."""
    where, params = ["isDeleted = ?"], [int(query.deleted)]
    if query.owner is not None:
        where.append("user = ?")
        params.append(query.owner)
    if query.assigned_to is not None:
        where.append("assignedTo = ?")
        params.append(query.assigned_to)
    if query.statuses:
        where.append(f"status IN ({_marks(query.statuses)})")
        params += query.statuses
    if query.priorities:
        where.append(f"priority IN ({_marks(query.priorities)})")
        params += query.priorities
    if query.title_contains is not None:
        where.append("instr(titleLower, ?) > 0")  # literal: no LIKE wildcards
        params.append(query.title_contains)
    if query.due_from is not None:
        where.append("dueDate >= ?")
        params.append(iso(query.due_from))
    if query.due_to is not None:
        where.append("dueDate <= ?")
        params.append(iso(query.due_to))

    halves = [(where, params)]
    if query.visible_to is not None:
        user = query.visible_to
        halves = [
            (where + ["user = ?"], params + [user]),
            (where + ["assignedTo = ?", "user <> ?"], params + [user, user]),
        ]
    return [(" AND ".join(clauses), values) for clauses, values in halves]


def _task_page_sql(query: TaskQuery) -> tuple[str, list]:
    """The page's rows, each with the count of all matches (`matches`): one statement, so
    one trip to the database thread and one snapshot. The count is an uncorrelated scalar
    subquery, which SQLite evaluates once per statement (not once per row)."""
    sort = task_sort_keys(query)
    columns = ", ".join(dict.fromkeys(column for column, _ in sort))

    def order(prefix: str = "") -> str:
        return ", ".join(f"{prefix}{column} {'DESC' if desc else 'ASC'}" for column, desc in sort)

    branches = _task_match_branches(query)
    matches = " UNION ALL ".join(f"SELECT {columns} FROM tasks WHERE {where}" for where, _ in branches)
    count, count_params = _count_sql(query, branches)
    # Page over the narrow index columns first, then fetch only that page's rows.
    sql = (
        f"WITH page AS ({matches} ORDER BY {order()} LIMIT ? OFFSET ?) "
        f"SELECT tasks.*, ({count}) AS matches FROM page JOIN tasks USING (_id) ORDER BY {order('page.')}"
    )
    params = [value for _, values in branches for value in values]
    return sql, params + [query.limit, query.skip] + count_params


def _task_count_sql(query: TaskQuery) -> tuple[str, list]:
    return _count_sql(query, _task_match_branches(query))


def _count_sql(query: TaskQuery, branches: list[tuple[str, list]]) -> tuple[str, list]:
    """The count of the query's matches: kept in `task_counts` for a user's tasks without
    filters, else counted over `branches` (disjoint: their counts add up)."""
    counted = _counted(query)
    if counted is not None:
        column, user = counted
        sql = f"SELECT coalesce((SELECT {column} FROM task_counts WHERE user = ? AND isDeleted = ?), 0)"
        return sql, [user, int(query.deleted)]
    sql = "SELECT " + " + ".join(f"(SELECT count(*) FROM tasks WHERE {where})" for where, _ in branches)
    return sql, [value for _, values in branches for value in values]


def _counted(query: TaskQuery) -> tuple[str, str] | None:
    """Where `task_counts` keeps the query's count (the expression and the user), if it does:
    the tasks visible to a user, or owned by one, live or deleted, with no other criterion
    (a criterion added to TaskQuery later is counted, never taken for none)."""
    if any(getattr(query, name) != default for name, default in _OTHER_CRITERIA):
        return None
    if query.visible_to is not None and query.owner is None:
        return "owned + assigned", query.visible_to
    if query.owner is not None and query.visible_to is None:
        return "owned", query.owner
    return None


# Every TaskQuery field that narrows the matches, but the user and the trash, with its "none".
_OTHER_CRITERIA = tuple((field.name, field.default) for field in dataclass_fields(TaskQuery)
                        if field.name not in ("visible_to", "owner", "deleted", "sort", "skip", "limit"))


def _session_from_row(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(
        pid=row["pid"], sid=row["sid"], user_id=row["user"], offset=row["offset"],
        rooms=tuple(json.loads(row["rooms"])), disconnected_at=row["disconnectedAt"],
    )


def _entry_from_row(row: sqlite3.Row) -> LogEntry:
    return replace(LogEntry.from_json(row["entry"]), offset=str(row["seq"]), at=row["at"])


class SqliteStore:
    def __init__(self, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, source: str = "TASKTREK_DATABASE_URL"):
        """`source`: the setting that named the file, for messages."""
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.source = source
        self._db: aiosqlite.Connection | None = None
        # Change sets are written by a connection of their own, in a thread of their own.
        self._writer: sqlite3.Connection | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        self._probe: sqlite3.Connection | None = None  # read-only, used on the event loop: see latest_offset_now
        self._checkpointer: ThreadPoolExecutor | None = None  # its thread's own connection: see _wrote
        self._checkpointer_db: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future | None = None  # the one running, if any
        self._writes = 0  # since the last checkpoint began

    # plumbing: every statement goes through these, so every error is translated

    # `db`: the connection being opened (set up and migrated before anything else may use it).

    async def _fetchall(self, sql: str, params=(), *, db: aiosqlite.Connection | None = None) -> list[sqlite3.Row]:
        db = db or self._db
        if db is None:
            raise StoreUnavailable()
        with _unavailable_when_unusable():
            return list(await db.execute_fetchall(sql, params))

    async def _fetchone(self, sql: str, params=(), *, db: aiosqlite.Connection | None = None) -> sqlite3.Row | None:
        rows = await self._fetchall(sql, params, db=db)
        return rows[0] if rows else None

    async def _execute(self, sql: str, params=(), *, db: aiosqlite.Connection | None = None) -> int:
        """Run one statement; return the number of rows it changed."""
        db = db or self._db
        if db is None:
            raise StoreUnavailable()
        with _unavailable_when_unusable():
            async with db.execute(sql, params) as cursor:
                changed = cursor.rowcount
        if changed > 0:
            self._wrote()
        return changed

    # lifecycle

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create {self.path.parent}: {exc.strerror}") from exc
        if self.path.is_dir():
            # Checked here because aiosqlite, on a failed connect, stops its worker thread
            # without waiting for it.
            raise StoreUnavailable(f"{self.path} is a directory")
        with _unavailable_when_unusable():
            # Autocommit: each statement is its own transaction unless we BEGIN one.
            db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            # aiosqlite's thread is its own: SQLite runs a function in the thread that runs the statement.
            await db.create_function("tasktrek_yield_to_the_event_loop", 0, yield_to_the_event_loop)
            await self._fetchall("SELECT tasktrek_yield_to_the_event_loop()", db=db)
            await self._execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}", db=db)
            try:
                await self._execute("PRAGMA journal_mode = WAL", db=db)
            except StoreUnavailable as exc:
                if "not a database" in str(exc.__cause__):
                    raise IncompatibleDatabase(f"{self.source}: {self.path.absolute()} is not a SQLite database") from None
                raise
            await self._execute("PRAGMA synchronous = NORMAL", db=db)  # durable enough under WAL, much faster
            await self._execute("PRAGMA foreign_keys = ON", db=db)
            await self._execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_AUTOCHECKPOINT_PAGES}", db=db)
            await self._migrate(db)
            writer_thread = ThreadPoolExecutor(1, thread_name_prefix="tasktrek-sqlite-writer",
                                               initializer=yield_to_the_event_loop)
            try:
                self._writer = await asyncio.get_running_loop().run_in_executor(writer_thread, self._open_writer)
            except BaseException:
                writer_thread.shutdown(wait=False)
                raise
            self._writer_thread = writer_thread
            self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="tasktrek-sqlite-checkpoint",
                                                    initializer=yield_to_the_event_loop)
        except BaseException:
            await db.close()
            raise
        self._probe = self._open_probe()
        self._db = db  # only now: requests meanwhile are answered 503, never see a half-made schema

    def _open_writer(self) -> sqlite3.Connection:
        with _unavailable_when_unusable():
            # Autocommit too: apply BEGINs its own transaction. Made in, and used only by, the writer thread.
            writer = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000)
            writer.execute("PRAGMA synchronous = NORMAL")
            writer.execute("PRAGMA foreign_keys = ON")
            writer.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_AUTOCHECKPOINT_PAGES}")
        return writer

    def _wrote(self) -> None:
        """Count a committed write; every CHECKPOINT_AFTER_WRITES, start a passive checkpoint
        in the checkpoint thread (it copies the WAL into the database beside the writers,
        never blocking them; a busy reader or writer only makes it do less this time)."""
        self._writes += 1
        if self._writes < CHECKPOINT_AFTER_WRITES or self._checkpoint is not None or self._checkpointer is None:
            return
        self._writes = 0
        self._checkpoint = asyncio.get_running_loop().run_in_executor(self._checkpointer, self._checkpoint_now)
        self._checkpoint.add_done_callback(self._checkpoint_done)

    def _checkpoint_now(self) -> None:
        if self._checkpointer_db is None:  # made in, and used only by, the checkpoint thread
            self._checkpointer_db = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        self._checkpointer_db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _checkpoint_done(self, done: asyncio.Future) -> None:
        self._checkpoint = None
        if not done.cancelled() and done.exception() is not None:
            # Not a failed write: the next one tries again, and SQLite's own checkpoint bounds the WAL.
            log.warning("WAL checkpoint failed: %s", done.exception())

    def _open_probe(self) -> sqlite3.Connection | None:
        # Never waits for a lock (timeout 0): busy is answered as unavailable, and the caller
        # takes the slow path, as it does without a probe. Only the event loop's thread uses it.
        try:
            return sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=0,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return None

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        await self._execute("BEGIN IMMEDIATE", db=db)  # a second process starting now waits, then sees our work
        try:
            (version,) = await self._fetchone("PRAGMA user_version", db=db)
            if version > len(MIGRATIONS):
                raise IncompatibleDatabase(
                    f"{self.source}: {self.path.absolute()} has schema version {version}, newer than this "
                    f"TaskTrek's ({len(MIGRATIONS)}): run a newer TaskTrek"
                )
            if version == 0:
                await self._refuse_foreign_tables(db)
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    await self._execute(statement, db=db)
            await self._execute(f"PRAGMA user_version = {len(MIGRATIONS)}", db=db)
            await self._execute("COMMIT", db=db)
        except BaseException:
            if db.in_transaction:
                await db.rollback()
            raise

    async def _refuse_foreign_tables(self, db: aiosqlite.Connection) -> None:
        """A file without TaskTrek's schema version must hold no tables: it is someone else's."""
        rows = await self._fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", db=db)
        if rows:
            raise IncompatibleDatabase(
                f"{self.source}: {self.path.absolute()} holds tables TaskTrek does not know "
                f"({', '.join(name for (name,) in rows)}): point it at a new file"
            )

    async def close(self) -> None:
        if self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            if self._checkpoint is not None:
                await asyncio.wait([self._checkpoint])
            if self._checkpointer_db is not None:
                await asyncio.get_running_loop().run_in_executor(checkpointer, self._checkpointer_db.close)
                self._checkpointer_db = None
            checkpointer.shutdown(wait=False)
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await asyncio.get_running_loop().run_in_executor(self._writer_thread, writer.close)
            self._writer_thread.shutdown(wait=False)
        if self._probe is not None:
            probe, self._probe = self._probe, None
            probe.close()
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def ping(self) -> None:
        await self._fetchall("SELECT 1 FROM sqlite_master LIMIT 1")

    async def query_plan(self, query: TaskQuery) -> list[str]:
        """EXPLAIN QUERY PLAN of find_tasks' page query: for tests and diagnosis."""
        sql, params = _task_page_sql(query)
        return [row["detail"] for row in await self._fetchall("EXPLAIN QUERY PLAN " + sql, params)]

    # users

    async def insert_user(self, user: User) -> None:
        try:
            await self._execute(_insert_sql("users", USER_COLUMNS), _to_sql(stored_record(user)))
        except sqlite3.IntegrityError as exc:
            if "users.email" in str(exc):
                raise EmailTaken() from exc
            raise

    async def get_user(self, user_id: str) -> User | None:
        row = await self._fetchone("SELECT * FROM users WHERE _id = ?", (user_id,))
        return None if row is None else _from_row(User, row)

    async def get_user_by_email(self, email: str) -> User | None:
        row = await self._fetchone("SELECT * FROM users WHERE email = ?", (email,))
        return None if row is None else _from_row(User, row)

    async def set_tokens_revoked_at(self, user_id: str, revoked_at: float) -> None:
        await self._execute("UPDATE users SET tokensRevokedAt = ? WHERE _id = ?", (revoked_at, user_id))

    async def update_user(self, user_id: str, changes: dict) -> None:
        values = _to_sql(stored(User, changes))
        unknown = set(values) - set(USER_COLUMNS[1:])
        if unknown:  # column names are spliced into the SQL: only known ones
            raise ValueError(f"not user fields: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        await self._execute(f"UPDATE users SET {assignments} WHERE _id = :user_id", {**values, "user_id": user_id})

    async def users_disabled_after(self, after: float) -> list[tuple[str, float]]:
        rows = await self._fetchall(
            "SELECT _id, disabledAt FROM users WHERE disabledAt > ? ORDER BY disabledAt", (after,)
        )
        return [(user_id, disabled_at) for user_id, disabled_at in rows]

    # tasks

    async def insert_task(self, task: Task) -> None:
        await self._execute(*_task_insert(task))

    async def get_task(self, task_id: str) -> Task | None:
        row = await self._fetchone("SELECT * FROM tasks WHERE _id = ?", (task_id,))
        return None if row is None else _from_row(Task, row)

    async def update_task(self, task_id: str, expected_version: int, changes: dict) -> Task | None:
        row = await self._fetchone(*_task_update(task_id, expected_version, changes, "RETURNING *"))
        return None if row is None else _from_row(Task, row)

    async def find_tasks(self, query: TaskQuery) -> tuple[list[Task], int]:
        rows = await self._fetchall(*_task_page_sql(query))
        if rows:
            total = rows[0]["matches"]
        elif query.skip or query.limit <= 0:  # past the last page (or none asked for): the count alone
            (total,) = await self._fetchone(*_task_count_sql(query))
        else:
            total = 0
        return _from_rows(Task, rows), total

    async def task_pairs(self, user_id: str) -> set[tuple[str, str]]:
        rows = await self._fetchall(
            "SELECT user, assignedTo FROM tasks WHERE user = ? AND isDeleted = 0 AND assignedTo <> user "
            "UNION SELECT user, assignedTo FROM tasks WHERE assignedTo = ? AND isDeleted = 0 AND user <> ?",
            (user_id, user_id, user_id),
        )
        return {(owner, assignee) for owner, assignee in rows}

    async def live_assignments(self, owner: str) -> dict[str, int]:
        rows = await self._fetchall(
            "SELECT assignedTo, count(*) FROM tasks WHERE user = ? AND isDeleted = 0 AND assignedTo <> user "
            "GROUP BY assignedTo",
            (owner,),
        )
        return {assignee: count for assignee, count in rows}

    async def acted_toward(self, user_id: str) -> set[str]:
        return {actor for (actor,) in await self._fetchall("SELECT actor FROM acts WHERE toward = ?", (user_id,))}

    async def acted_by(self, user_id: str) -> set[str]:
        return {toward for (toward,) in await self._fetchall("SELECT toward FROM acts WHERE actor = ?", (user_id,))}

    # notifications

    async def insert_notification(self, notification: Notification) -> None:
        await self._execute(*_notification_insert(notification))

    async def find_notifications(
        self, user_id: str, *, unread_only: bool, skip: int, limit: int
    ) -> tuple[list[Notification], int]:
        where = "user = ? AND read = 0" if unread_only else "user = ?"
        rows = await self._fetchall(
            f"SELECT * FROM notifications WHERE {where} ORDER BY createdAt DESC, _id DESC LIMIT ? OFFSET ?",
            (user_id, limit, skip),
        )
        (total,) = await self._fetchone(f"SELECT count(*) FROM notifications WHERE {where}", (user_id,))
        return _from_rows(Notification, rows), total

    async def count_unread(self, user_id: str) -> int:
        (count,) = await self._fetchone("SELECT count(*) FROM notifications WHERE user = ? AND read = 0", (user_id,))
        return count

    async def mark_all_read(self, user_id: str) -> int:
        return await self._execute("UPDATE notifications SET read = 1 WHERE user = ? AND read = 0", (user_id,))

    async def get_notification(self, user_id: str, notification_id: str) -> Notification | None:
        row = await self._fetchone("SELECT * FROM notifications WHERE _id = ? AND user = ?", (notification_id, user_id))
        return None if row is None else _from_row(Notification, row)

    # changes, atomically, in one round trip: the writer thread runs the whole transaction on
    # its own connection (a statement at a time from the event loop, each a hop to aiosqlite's
    # thread and back, held the write lock for four or more hops). Each step is a method of
    # its own (fault-injection tests break one).

    APPLY_STEPS = ("_write_change", "_write_notifications", "_write_acts", "_append_events")  # in this order

    async def apply(self, change: ChangeSet) -> tuple[str, ...] | None:
        if self._writer is None:
            raise StoreUnavailable()
        # A caller cancelled meanwhile does not stop the transaction: it commits or rolls back whole.
        offsets = await asyncio.get_running_loop().run_in_executor(self._writer_thread, self._apply_now, change)
        if offsets is not None:
            self._wrote()
        return offsets

    def _apply_now(self, change: ChangeSet) -> tuple[str, ...] | None:
        db = self._writer
        if db is None:
            raise StoreUnavailable()
        with _unavailable_when_unusable():
            db.execute("BEGIN IMMEDIATE")
            try:
                if not self._write_change(db, change):
                    db.execute("ROLLBACK")
                    return None
                self._write_notifications(db, change)
                self._write_acts(db, change)
                offsets = self._append_events(db, change.events)
                db.execute("COMMIT")
                return offsets
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _write_change(self, db: sqlite3.Connection, change: ChangeSet) -> bool:
        """The change itself, with its precondition; False when that does not hold."""
        if change.new_task is not None:
            db.execute(*_task_insert(change.new_task))
        if change.task_update is not None:
            update: TaskUpdate = change.task_update
            if db.execute(*_task_update(update.task_id, update.expected_version, update.changes)).rowcount != 1:
                return False
        if change.read_update is not None:
            read: ReadUpdate = change.read_update
            changed = db.execute(
                "UPDATE notifications SET read = ? WHERE _id = ? AND user = ? AND read <> ?",
                (read.read, read.notification_id, read.user_id, read.read),
            ).rowcount
            if changed != 1:
                return False
        return True

    def _write_notifications(self, db: sqlite3.Connection, change: ChangeSet) -> None:
        for notification in change.notifications:
            db.execute(*_notification_insert(notification))

    def _write_acts(self, db: sqlite3.Connection, change: ChangeSet) -> None:
        if not change.acts:  # most changes show none
            return
        at = time.time()
        db.executemany("INSERT OR IGNORE INTO acts (actor, toward, at) VALUES (?, ?, ?)",
                       [(act.actor, act.toward, at) for act in change.acts])

    def _append_events(self, db: sqlite3.Connection, entries: tuple[LogEntry, ...]) -> tuple[str, ...]:
        at = time.time()
        sql = "INSERT INTO events (at, entry) VALUES (?, ?) RETURNING seq"
        return tuple(str(db.execute(sql, (at, entry.to_json())).fetchone()[0]) for entry in entries)

    # the event log

    async def latest_offset(self) -> str:
        row = await self._fetchone("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        return "0" if row is None else str(row["seq"])

    def latest_offset_now(self) -> int:
        """The log's newest offset (0 while empty), read synchronously from its one-row
        counter on a read-only connection: a few microseconds, for the read cache to check
        on every use (services/reads.py). Raises StoreUnavailable rather than wait."""
        if self._probe is None:
            raise StoreUnavailable()
        try:
            row = self._probe.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable() from exc
        return 0 if row is None else row[0]

    def users_version_now(self) -> int:
        """How many times user records were changed or removed, by any process (a trigger
        counts them in the change's own transaction), read on the read-only connection. For
        the user-record cache (services/reads.py); raises StoreUnavailable rather than wait."""
        if self._probe is None:
            raise StoreUnavailable()
        try:
            return self._probe.execute("SELECT count FROM users_changes").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreUnavailable() from exc

    async def events_after(self, offset: str, limit: int) -> list[LogEntry]:
        rows = await self._fetchall(
            "SELECT seq, at, entry FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (offset_number(offset), limit)
        )
        return [_entry_from_row(row) for row in rows]

    async def prune_events(self, before: float, limit: int) -> int:
        return await self._execute(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? ORDER BY at LIMIT ?)", (before, limit)
        )

    # recoverable real-time sessions

    async def save_session(self, session: SessionRecord) -> None:
        await self._execute(
            "INSERT OR REPLACE INTO sessions (pid, sid, user, offset, rooms, disconnectedAt) VALUES (?, ?, ?, ?, ?, ?)",
            (session.pid, session.sid, session.user_id, session.offset, json.dumps(list(session.rooms)),
             session.disconnected_at),
        )

    async def get_session(self, pid: str) -> SessionRecord | None:
        row = await self._fetchone("SELECT * FROM sessions WHERE pid = ?", (pid,))
        return None if row is None else _session_from_row(row)

    async def delete_session(self, pid: str) -> None:
        await self._execute("DELETE FROM sessions WHERE pid = ?", (pid,))

    async def end_open_sessions(self, at: float) -> int:
        return await self._execute("UPDATE sessions SET disconnectedAt = ? WHERE disconnectedAt IS NULL", (at,))

    async def prune_sessions(self, disconnected_before: float, limit: int) -> int:
        return await self._execute(
            "DELETE FROM sessions WHERE pid IN (SELECT pid FROM sessions WHERE disconnectedAt < ? "
            "ORDER BY disconnectedAt LIMIT ?)", (disconnected_before, limit),
        )
