"""Choosing a store from the database URL, or wrapping a database object."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from bson import ObjectId
from mongomock_motor import AsyncMongoMockClient

from tasktrek.errors import ConfigError
from tasktrek.store import MongoStore, SqliteStore, store_from_database, store_from_url


def test_sqlite_urls_follow_the_sqlalchemy_convention():
    relative = store_from_url("sqlite:///data/tasktrek.db")
    absolute = store_from_url("sqlite:////var/lib/tasktrek/tasktrek.db")

    assert isinstance(relative, SqliteStore) and relative.path == Path("data/tasktrek.db")
    assert isinstance(absolute, SqliteStore) and absolute.path == Path("/var/lib/tasktrek/tasktrek.db")


@pytest.mark.parametrize("url", ["mongodb://127.0.0.1:1/tt", "mongodb://a,b/tt?replicaSet=rs"])
async def test_mongodb_urls_make_a_mongo_store(url):
    store = store_from_url(url)
    try:
        assert isinstance(store, MongoStore) and store.database.name == "tt"
    finally:
        await store.close()


@pytest.mark.parametrize("url", ["postgres://x/y", "sqlite:///", "tasktrek.db"])
def test_other_urls_are_configuration_errors(url):
    with pytest.raises(ConfigError):
        store_from_url(url)


async def test_store_from_database_wraps_a_motor_compatible_database():
    database = AsyncMongoMockClient()["embedded"]
    store = store_from_database(database)
    await store.open()

    await database["users"].insert_one({
        "_id": ObjectId("a" * 24), "name": "A", "email": "a@example.com", "passwordHash": "x", "createdAt": datetime(2026, 1, 1),
    })

    assert isinstance(store, MongoStore) and store.database is database
    assert (await store.get_user_by_email("a@example.com")).id == "a" * 24
