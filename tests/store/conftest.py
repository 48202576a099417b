"""Fixtures for the store suites: one `store` per backend, and record builders.

Every contract test runs on each backend: SQLite (a real file), MongoDB through mongomock,
and a real MongoDB when TASKTREK_TEST_MONGODB_URI is set (only then is it a parameter, so a
plain run reports no skips).
"""

from __future__ import annotations

import itertools
import os
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import pytest
from mongomock_motor import AsyncMongoMockClient
from pymongo import AsyncMongoClient

from tasktrek.domain import new_id
from tasktrek.records import Notification, Task, User
from tasktrek.store import MongoStore, SqliteStore

REAL_MONGODB_URI = os.environ.get("TASKTREK_TEST_MONGODB_URI")
BACKENDS = ["sqlite", "mongomock"] + (["mongodb"] if REAL_MONGODB_URI else [])

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@asynccontextmanager
async def _sqlite(tmp_path):
    store = SqliteStore(tmp_path / "tasktrek.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _mongomock(tmp_path):
    store = MongoStore(AsyncMongoMockClient()["tasktrek_test"])
    await store.open()
    yield store


@asynccontextmanager
async def _mongodb(tmp_path):
    client = AsyncMongoClient(REAL_MONGODB_URI, serverSelectionTimeoutMS=5000)
    database = client[f"tasktrek_test_{uuid.uuid4().hex[:12]}"]
    store = MongoStore(database)
    try:
        await store.open()
        yield store
    finally:
        await client.drop_database(database.name)
        await client.close()


_BACKEND_STORES = {"sqlite": _sqlite, "mongomock": _mongomock, "mongodb": _mongodb}


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path):
    async with _BACKEND_STORES[request.param](tmp_path) as opened:
        yield opened


_serial = itertools.count(1)


@pytest.fixture
def new_user(store):
    """Insert a user (defaults overridable) and return the record."""

    async def insert(**fields) -> User:
        n = next(_serial)
        user = User(**{
            "id": new_id(),
            "name": f"User {n}",
            "email": f"user{n}@example.com",
            "password_hash": "$2b$04$" + "x" * 53,
            "created_at": T0,
            **fields,
        })
        await store.insert_user(user)
        return user

    return insert


@pytest.fixture
def new_task(store):
    """Insert a task owned by `owner` (defaults overridable) and return the record."""

    async def insert(owner: User, **fields) -> Task:
        n = next(_serial)
        task = Task(**{
            "id": new_id(),
            "owner": owner.id,
            "title": f"Task {n}",
            "description": "",
            "status": "todo",
            "priority": "medium",
            "due_date": None,
            "assigned_to": None,
            "is_deleted": False,
            "deleted_at": None,
            "created_at": T0,
            "updated_at": T0 + timedelta(seconds=n),
            "version": 1,
            **fields,
        })
        await store.insert_task(task)
        return task

    return insert


@pytest.fixture
def new_notification(store):
    """Insert a notification for `recipient` (defaults overridable) and return the record."""

    async def insert(recipient: User, **fields) -> Notification:
        n = next(_serial)
        notification = Notification(**{
            "id": new_id(),
            "user": recipient.id,
            "type": "task_assigned",
            "message": f"Notification {n}",
            "data": {"taskId": new_id(), "title": f"Task {n}", "actor": {"_id": new_id(), "name": "Ann"}},
            "read": False,
            "created_at": T0 + timedelta(seconds=n),
            **fields,
        })
        await store.insert_notification(notification)
        return notification

    return insert
