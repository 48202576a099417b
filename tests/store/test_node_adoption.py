"""Adopting the Node/Mongoose TaskTrek's MongoDB in place: documents shaped exactly like the
Node service's (bcryptjs $2a$ hashes in `password`, `__v`, ObjectId references, Mongoose
timestamps), loaded into mongomock (and a real MongoDB when TASKTREK_TEST_MONGODB_URI is
set), then used through the HTTP API."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import bcrypt
import jwt
import pytest
from bson import ObjectId
from mongomock_motor import AsyncMongoMockClient
from pymongo import AsyncMongoClient

from tasktrek import Settings, create_app
from tasktrek.errors import ConfigError, IncompatibleDatabase
from tasktrek.store import MongoStore
from tasktrek.store.mongo_schema import META_COLLECTION, SCHEMA_VERSION

from tests.store.conftest import REAL_MONGODB_URI

SECRET = "the-node-service-jwt-secret-" + "x" * 20
T0 = datetime(2025, 6, 1, 9, 30, 0, 123000)  # naive UTC, as the driver stores dates
TASK_KEYS = {"_id", "user", "title", "description", "status", "priority", "dueDate", "assignedTo",
             "isDeleted", "deletedAt", "createdAt", "updatedAt", "version"}
NOTIFICATION_KEYS = {"_id", "user", "type", "message", "data", "read", "createdAt"}


def bcryptjs_hash(password: str, cost: int = 10) -> str:
    """What bcryptjs (the Node service's library) stores: the same algorithm, prefix $2a$."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode().replace("$2b$", "$2a$", 1)


@pytest.fixture(params=["mongomock"] + (["mongodb"] if REAL_MONGODB_URI else []))
async def database(request):
    if request.param == "mongomock":
        yield AsyncMongoMockClient()["node_tasktrek"]
        return
    client = AsyncMongoClient(REAL_MONGODB_URI, serverSelectionTimeoutMS=5000)
    db = client[f"tasktrek_adopt_{uuid.uuid4().hex[:12]}"]
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.fixture
async def node_data(database) -> dict:
    """The Node service's database: two users, two tasks (one with only the fields Mongoose
    required), one notification."""
    ann, bob = ObjectId(), ObjectId()
    shipped, legacy, note = ObjectId(), ObjectId(), ObjectId()
    await database.users.insert_many([
        {"_id": ann, "name": "Ann", "email": "ann@example.com", "password": bcryptjs_hash("ann's old password"),
         "createdAt": T0, "updatedAt": T0, "__v": 0},
        {"_id": bob, "name": "Bob", "email": "Bob@Example.com", "password": bcryptjs_hash("bob's old password", 4),
         "createdAt": T0, "updatedAt": T0, "__v": 0},
    ])
    await database.tasks.insert_many([
        {"_id": shipped, "title": "Ship the Release", "description": "notes", "status": "in-progress",
         "dueDate": T0 + timedelta(days=7), "user": ann, "assignedTo": bob, "isDeleted": False,
         "createdAt": T0, "updatedAt": T0 + timedelta(hours=1), "__v": 0},
        {"_id": legacy, "title": "Old chore", "status": "done", "user": ann,
         "createdAt": T0 - timedelta(days=1), "updatedAt": T0 - timedelta(days=1), "__v": 0},
    ])
    await database.notifications.insert_one(
        {"_id": note, "user": bob, "type": "task_assigned", "message": 'Ann assigned you "Ship the Release"',
         "data": {"taskId": shipped, "title": "Ship the Release", "actor": {"_id": ann, "name": "Ann"}},
         "read": False, "createdAt": T0, "updatedAt": T0, "__v": 0}
    )
    return {"ann": str(ann), "bob": str(bob), "shipped": str(shipped), "legacy": str(legacy), "note": str(note)}


@pytest.fixture
async def client(aiohttp_client, database, node_data):
    settings = Settings(jwt_secret=SECRET, bcrypt_rounds=4)
    return await aiohttp_client(create_app(settings, store=database))


async def login(client, email: str, password: str):
    resp = await client.post("/api/users/login", json={"email": email, "password": password})
    return resp.status, await resp.json()


async def test_node_users_log_in_with_their_old_passwords_which_are_then_rehashed(client, database, node_data):
    status, body = await login(client, "ann@example.com", "ann's old password")
    assert status == 200 and body["_id"] == node_data["ann"] and body["name"] == "Ann"
    stored = await database.users.find_one({"_id": ObjectId(node_data["ann"])})
    assert stored["passwordHash"].startswith("$2b$04$") and "password" not in stored  # the configured cost
    assert (await login(client, "ann@example.com", "ann's old password"))[0] == 200
    assert (await login(client, "ann@example.com", "wrong"))[0] == 401
    # Mixed-case emails of the Node service are found by their lowercase form.
    assert (await login(client, "BOB@example.com", "bob's old password"))[0] == 200


async def test_node_users_cannot_register_again_and_old_tokens_still_work(client, node_data):
    resp = await client.post("/api/users", json={"name": "Ann", "email": "ann@example.com", "password": "a new password"})
    assert resp.status == 409
    now = int(time.time())
    node_token = jwt.encode({"id": node_data["ann"], "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256")
    resp = await client.get("/api/users/me", headers={"Authorization": f"Bearer {node_token}"})
    assert resp.status == 200 and (await resp.json())["email"] == "ann@example.com"


async def test_node_tasks_appear_with_the_contract_defaults(client, node_data):
    _, body = await login(client, "ann@example.com", "ann's old password")
    auth = {"Authorization": f"Bearer {body['token']}"}
    resp = await client.get("/api/tasks", headers=auth)
    listing = await resp.json()
    assert resp.status == 200 and listing["total"] == 2
    shipped, legacy = listing["tasks"]  # newest update first
    assert all(set(task) == TASK_KEYS for task in listing["tasks"])
    assert shipped == {
        "_id": node_data["shipped"], "user": node_data["ann"], "title": "Ship the Release", "description": "notes",
        "status": "in-progress", "priority": "medium", "dueDate": "2025-06-08T09:30:00.123Z",
        "assignedTo": node_data["bob"], "isDeleted": False, "deletedAt": None,
        "createdAt": "2025-06-01T09:30:00.123Z", "updatedAt": "2025-06-01T10:30:00.123Z", "version": 1,
    }
    assert legacy["_id"] == node_data["legacy"]
    assert (legacy["description"], legacy["priority"], legacy["dueDate"], legacy["assignedTo"], legacy["isDeleted"],
            legacy["version"]) == ("", "medium", None, None, False, 1)
    # The derived search and sort fields exist: title search, priority sort, a versioned edit.
    found = await (await client.get("/api/tasks", params={"q": "release"}, headers=auth)).json()
    assert [t["_id"] for t in found["tasks"]] == [node_data["shipped"]]
    ordered = await (await client.get("/api/tasks", params={"sort": "status"}, headers=auth)).json()
    assert [t["status"] for t in ordered["tasks"]] == ["in-progress", "done"]
    resp = await client.put(f"/api/tasks/{node_data['legacy']}", json={"priority": "high"}, headers={**auth, "If-Match": '"1"'})
    assert resp.status == 200 and (await resp.json())["version"] == 2


async def test_node_notifications_are_listed_as_the_contracts(client, node_data):
    _, body = await login(client, "bob@example.com", "bob's old password")
    auth = {"Authorization": f"Bearer {body['token']}"}
    listing = await (await client.get("/api/notifications", headers=auth)).json()
    assert listing["unread"] == 1
    (note,) = listing["notifications"]
    assert set(note) == NOTIFICATION_KEYS
    assert note["data"] == {"taskId": node_data["shipped"], "title": "Ship the Release",
                            "actor": {"_id": node_data["ann"], "name": "Ann"}}
    assert (note["type"], note["read"], note["createdAt"]) == ("task_assigned", False, "2025-06-01T09:30:00.123Z")
    resp = await client.patch(f"/api/notifications/{node_data['note']}/read", headers=auth)
    assert resp.status == 200 and (await resp.json())["read"] is True


async def _snapshot(database) -> dict:
    return {name: [doc async for doc in database[name].find({}).sort("_id", 1)] for name in ("users", "tasks", "notifications")}


async def test_the_upgrade_is_idempotent_and_recorded(database, node_data):
    store = MongoStore(database)
    await store.open()
    meta = await database[META_COLLECTION].find_one({"_id": "schema"})
    assert meta["version"] == SCHEMA_VERSION and meta["found"] == "node"
    adopted = await _snapshot(database)
    assert all(doc["__v"] == 0 for docs in adopted.values() for doc in docs)  # nothing dropped

    await database[META_COLLECTION].delete_many({})  # as if stopped before recording: run again
    await MongoStore(database).open()
    assert await _snapshot(database) == adopted
    await MongoStore(database).open()  # recorded: recognized as TaskTrek's, untouched
    assert await _snapshot(database) == adopted
    assert (await database[META_COLLECTION].find_one({"_id": "schema"}))["version"] == SCHEMA_VERSION


async def test_an_empty_database_is_recorded_as_taskTreks(database):
    await MongoStore(database).open()
    assert (await database[META_COLLECTION].find_one({"_id": "schema"}))["found"] == "empty"


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda db: db.orders.insert_one({"total": 3}), "holds collections TaskTrek does not know (orders)"),
        (lambda db: db.users.insert_one({"username": "x"}), "users documents without email and password"),
        (lambda db: db.tasks.insert_one({"name": "x", "owner": "y"}), "tasks documents without title"),
        (lambda db: db[META_COLLECTION].insert_one({"_id": "schema", "version": SCHEMA_VERSION + 1}), "newer than this TaskTrek"),
    ],
)
async def test_any_other_database_is_refused_with_one_line(database, setup, message):
    await setup(database)
    before = await _snapshot(database)
    with pytest.raises(IncompatibleDatabase) as refused:
        await MongoStore(database).open()
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert await _snapshot(database) == before  # changed nothing


async def test_emails_that_differ_only_in_case_are_refused(database):
    await database.users.insert_many([
        {"_id": ObjectId(), "name": "A", "email": "a@example.com", "password": bcryptjs_hash("x", 4), "__v": 0},
        {"_id": ObjectId(), "name": "A", "email": "A@example.com", "password": bcryptjs_hash("x", 4), "__v": 0},
    ])
    with pytest.raises(IncompatibleDatabase, match="differ only in case"):
        await MongoStore(database).open()


async def test_the_app_refuses_to_start_on_a_foreign_database(aiohttp_client, database):
    await database.orders.insert_one({"total": 3})
    with pytest.raises(ConfigError, match="does not know"):
        await aiohttp_client(create_app(Settings(jwt_secret=SECRET), store=database))
