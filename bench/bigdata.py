"""The big-data SQLite database: many users, a million tasks, generated once and cached.

TaskTrek's own SqliteStore creates the schema (so the file is exactly what TaskTrek would
make); the rows then go in through sqlite3 bulk inserts in the store's column order, with
the task indexes dropped during the load and re-created from their own SQL afterwards.
The cache key holds the sizes and a fingerprint of the schema, so a schema change rebuilds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import random
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bcrypt

from tasktrek.domain import PRIORITIES, STATUSES, iso
from tasktrek.store import SqliteStore
from tasktrek.store.base import task_index_fields
from tasktrek.store.sqlite import MIGRATIONS, TASK_COLUMNS, USER_COLUMNS

from .procs import REPO
from .targets import BENCH_PASSWORD, SETUP_BCRYPT_ROUNDS

CACHE_DIR = REPO / "bench" / ".cache"
SEED = 5  # issue #5
HEAVY_EMAIL = "heavy@bench.example.com"  # the user whose pages are measured
HEAVY_SHARE = 0.10  # of all tasks, owned by the heavy user
ASSIGNED_SHARE = 0.20  # of tasks, assigned to another user
DELETED_SHARE = 0.05
DUE_SHARE = 0.70
HISTORY_DAYS = 365
EDIT_DAYS = 30
DUE_SPAN_DAYS = 180
BATCH = 50_000
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
VERBS = ("Review", "Write", "Fix", "Plan", "Call", "Ship", "Test", "Design", "Update", "Refactor", "Deploy", "Draft")
NOUNS = ("invoice", "report", "release", "budget", "onboarding", "roadmap", "backlog", "newsletter", "contract",
         "dashboard", "migration", "interview", "audit", "sprint", "survey", "launch")


def bigdata_db(tasks: int, users: int) -> Path:
    """The cached database for these sizes, built first if missing (blocking: call it off
    the event loop)."""
    fingerprint = hashlib.sha256(repr((MIGRATIONS, TASK_COLUMNS, USER_COLUMNS)).encode()).hexdigest()[:10]
    path = CACHE_DIR / f"bigdata-{tasks}-tasks-{users}-users-{fingerprint}.db"
    if not path.exists():
        _build(path, tasks, users)
    return path


async def _create_schema(path: Path) -> None:
    store = SqliteStore(path)
    await store.open()
    await store.close()


def _build(path: Path, tasks: int, users: int) -> None:
    started = time.monotonic()
    print(f"   building {path.name} (cached for later runs) ...", flush=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, *(partial.with_name(partial.name + s) for s in SQLITE_SIDE_FILES)):
        leftover.unlink(missing_ok=True)
    asyncio.run(_create_schema(partial))
    rng = random.Random(SEED)
    user_ids = [f"{rng.getrandbits(96):024x}" for _ in range(users)]
    with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as db:
        # A throw-away file until renamed: no journal. TaskTrek turns WAL back on when it opens it.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' "
                             "AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        db.executemany(_insert("users", USER_COLUMNS), _users(user_ids))
        task_sql = _insert("tasks", TASK_COLUMNS)
        rows = _tasks(rng, user_ids, tasks)
        while batch := list(itertools.islice(rows, BATCH)):
            db.executemany(task_sql, batch)
        for _, sql in indexes:
            db.execute(sql)
        db.execute("COMMIT")
    partial.rename(path)
    print(f"   built in {time.monotonic() - started:.0f} s", flush=True)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _users(user_ids: list[str]):
    password_hash = bcrypt.hashpw(BENCH_PASSWORD.encode(), bcrypt.gensalt(SETUP_BCRYPT_ROUNDS)).decode()
    created = iso(EPOCH - timedelta(days=HISTORY_DAYS + 1))
    for n, user_id in enumerate(user_ids):
        email = HEAVY_EMAIL if n == 0 else f"user{n}@bench.example.com"
        user = {"_id": user_id, "name": f"User {n}", "email": email, "passwordHash": password_hash,
                "tokensRevokedAt": None, "createdAt": created}
        yield tuple(user.get(c) for c in USER_COLUMNS)


def _tasks(rng: random.Random, user_ids: list[str], count: int):
    heavy, others = user_ids[0], user_ids[1:] or user_ids
    for n in range(count):
        owner = heavy if rng.random() < HEAVY_SHARE else rng.choice(others)
        assignee = rng.choice(user_ids) if rng.random() < ASSIGNED_SHARE else None
        created = EPOCH - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
        updated = created + timedelta(seconds=rng.randrange(EDIT_DAYS * 86400))
        deleted = rng.random() < DELETED_SHARE
        due = EPOCH + timedelta(days=rng.randrange(-DUE_SPAN_DAYS, DUE_SPAN_DAYS)) if rng.random() < DUE_SHARE else None
        task = {
            "_id": f"{rng.getrandbits(96):024x}", "user": owner,
            "title": f"{rng.choice(VERBS)} the {rng.choice(NOUNS)} {n}",
            "description": "Generated for the big-data benchmark", "status": rng.choice(STATUSES),
            "priority": rng.choice(PRIORITIES), "dueDate": iso(due),
            "assignedTo": None if assignee == owner else assignee, "isDeleted": int(deleted),
            "deletedAt": iso(updated) if deleted else None, "createdAt": iso(created), "updatedAt": iso(updated),
            "version": 1,
        }
        task |= task_index_fields(task)
        yield tuple(task[c] for c in TASK_COLUMNS)
