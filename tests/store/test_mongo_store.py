"""What only the MongoDB store promises: document layout, indexes, URLs, unreachable servers."""

from __future__ import annotations

from datetime import datetime

import pytest
from bson import ObjectId
from mongomock_motor import AsyncMongoMockClient

from tasktrek.errors import ConfigError, StoreUnavailable
from tasktrek.store import MongoStore

UNREACHABLE = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300"


@pytest.fixture
async def store():
    """Overrides the contract suite's store: these tests look at mongomock's documents."""
    opened = MongoStore(AsyncMongoMockClient()["tasktrek_layout"])
    await opened.open()
    yield opened
    await opened.close()


async def test_documents_keep_object_ids_dates_and_index_fields(store, new_user, new_task, new_notification):
    owner, assignee = await new_user(), await new_user()
    task = await new_task(owner, title="Été", status="done", priority="low", assigned_to=assignee.id)
    notification = await new_notification(assignee)

    raw_task = await store.database["tasks"].find_one({})
    raw_notification = await store.database["notifications"].find_one({})

    assert raw_task["_id"] == ObjectId(task.id)
    assert raw_task["user"] == ObjectId(owner.id)
    assert raw_task["assignedTo"] == ObjectId(assignee.id)
    assert isinstance(raw_task["updatedAt"], datetime)
    assert (raw_task["titleLower"], raw_task["statusRank"], raw_task["priorityRank"]) == ("été", 2, 0)
    assert raw_notification["user"] == ObjectId(assignee.id)
    assert raw_notification["data"] == notification.data


async def test_open_creates_the_indexes(store):
    user_indexes = await store.database["users"].index_information()
    task_indexes = await store.database["tasks"].index_information()
    notification_indexes = await store.database["notifications"].index_information()

    assert any(spec["key"] == [("email", 1)] and spec.get("unique") for spec in user_indexes.values())
    task_keys = [[name for name, _ in spec["key"]] for spec in task_indexes.values()]
    assert ["user", "isDeleted", "updatedAt", "_id"] in task_keys
    assert ["assignedTo", "isDeleted", "updatedAt", "_id"] in task_keys
    assert ["status"] in task_keys
    notification_keys = [[name for name, _ in spec["key"]] for spec in notification_indexes.values()]
    assert ["user", "read", "createdAt", "_id"] in notification_keys


async def test_open_twice_is_harmless(store):
    await store.open()
    await store.ping()


async def test_from_url_takes_the_database_from_the_url_or_the_default():
    named = MongoStore.from_url("mongodb://127.0.0.1:1/team_tasks")
    unnamed = MongoStore.from_url("mongodb://127.0.0.1:1")
    try:
        assert named.database.name == "team_tasks"
        assert unnamed.database.name == "tasktrek"
    finally:
        await named.close()
        await unnamed.close()


async def test_a_malformed_url_is_a_configuration_error():
    with pytest.raises(ConfigError):
        MongoStore.from_url("mongodb://user:pa:ss@host/db")


async def test_an_unreachable_server_is_unavailable():
    store = MongoStore.from_url(UNREACHABLE)
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.open()
    finally:
        await store.close()


async def test_a_closed_store_is_unavailable():
    store = MongoStore.from_url(UNREACHABLE)
    await store.close()

    with pytest.raises(StoreUnavailable):
        await store.get_user("0" * 24)


async def test_closing_leaves_a_database_passed_in_to_its_owner():
    client = AsyncMongoMockClient()
    store = MongoStore(client["shared"])
    await store.open()
    await store.close()

    await client["shared"]["users"].insert_one({"still": "usable"})
    assert await client["shared"]["users"].count_documents({}) == 1
