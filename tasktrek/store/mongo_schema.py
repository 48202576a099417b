"""Which MongoDB database TaskTrek is pointed at, and bringing it to TaskTrek's schema.

At start-up a database is one of:
- empty (no documents in `users`, `tasks`, `notifications`, no other collection);
- TaskTrek's: the `tasktrek_meta` collection records its schema version;
- the Node/Mongoose TaskTrek's: the same three collections holding Mongoose documents
  (users with a bcryptjs hash in `password`, `__v` keys, ObjectId references, Mongoose
  timestamps), and no version recorded.
Anything else is refused with one line (IncompatibleDatabase). The Node service's
documents are upgraded in place: every step only fills in what is missing, so a run that
stops half-way is finished by the next start; then the version is recorded.
"""

from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId

from ..domain import PRIORITY_RANK, STATUS_RANK, utcnow
from ..errors import IncompatibleDatabase
from .base import task_index_fields

SCHEMA_VERSION = 1
META_COLLECTION = "tasktrek_meta"
DATA_COLLECTIONS = ("users", "tasks", "notifications")
# TaskTrek's own bookkeeping beside the data (the event log, its counter, recoverable
# real-time sessions, who has acted toward whom): never the Node service's, and holding no
# user data to adopt.
LOG_COLLECTIONS = ("events", "counters", "sessions", "acts")
_SCHEMA_ID = "schema"

# Defaults for fields a Node task or notification may lack (`updatedAt` and the derived
# index fields are computed per document).
_TASK_DEFAULTS = {
    "description": "", "status": "todo", "priority": "medium", "dueDate": None, "assignedTo": None,
    "isDeleted": False, "deletedAt": None, "version": 1,
}
_NOTIFICATION_DEFAULTS = {"data": {}, "read": False}


async def prepare_database(database, source: str) -> str:
    """Recognize `database`, upgrade it if needed, record the schema version. Returns
    "empty", "tasktrek" or "node". `source` names the setting for messages."""
    meta = database[META_COLLECTION]
    recorded = await meta.find_one({"_id": _SCHEMA_ID})
    if recorded is not None:
        version = recorded.get("version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise IncompatibleDatabase(
                f"{source}: database {database.name!r} has TaskTrek schema version {version!r}, newer than this "
                f"TaskTrek's ({SCHEMA_VERSION}): run a newer TaskTrek"
            )
        return "tasktrek"  # version 1 is the only one so far: nothing to upgrade

    names = {name for name in await database.list_collection_names() if not name.startswith("system.")}
    strangers = sorted(names - set(DATA_COLLECTIONS) - set(LOG_COLLECTIONS) - {META_COLLECTION})
    if strangers:
        raise IncompatibleDatabase(
            f"{source}: database {database.name!r} holds collections TaskTrek does not know ({', '.join(strangers)}); "
            "point it at an empty database, TaskTrek's, or the Node TaskTrek service's"
        )
    samples = {name: await database[name].find_one({}) for name in DATA_COLLECTIONS}
    if all(sample is None for sample in samples.values()):
        found = "empty"
    else:
        problem = _unrecognized(samples)
        if problem:
            raise IncompatibleDatabase(
                f"{source}: database {database.name!r} is neither empty, TaskTrek's, nor the Node TaskTrek "
                f"service's ({problem}); point it at one of those"
            )
        await _upgrade_documents(database, source)
        user = samples["users"] or {}
        found = "node" if "password" in user or any("__v" in (s or {}) for s in samples.values()) else "tasktrek"
    await meta.update_one(
        {"_id": _SCHEMA_ID},
        {"$set": {"version": SCHEMA_VERSION}, "$setOnInsert": {"found": found, "recordedAt": utcnow().replace(tzinfo=None)}},
        upsert=True,
    )
    return found


def _unrecognized(samples: dict) -> str | None:
    """Why these sample documents are not the Node service's, or None when they are."""
    user, task, notification = (samples[name] for name in DATA_COLLECTIONS)
    if user is not None and not (isinstance(user.get("email"), str) and isinstance(user.get("password", user.get("passwordHash")), str)):
        return "users documents without email and password"
    if task is not None and not (isinstance(task.get("title"), str) and isinstance(task.get("user"), ObjectId)):
        return "tasks documents without title and an ObjectId user"
    if notification is not None and not (isinstance(notification.get("user"), ObjectId) and "message" in notification):
        return "notifications documents without an ObjectId user and a message"
    return None


async def _upgrade_documents(database, source: str) -> None:
    users, tasks, notifications = (database[name] for name in DATA_COLLECTIONS)

    # Users: the bcryptjs hash is kept as it is (login accepts it and rehashes it at the
    # configured cost on the next success); emails are compared lowercased.
    await users.update_many(
        {"password": {"$exists": True}, "passwordHash": {"$exists": False}}, {"$rename": {"password": "passwordHash"}}
    )
    await users.update_many({"tokensRevokedAt": {"$exists": False}}, {"$set": {"tokensRevokedAt": None}})
    await _lowercase_emails(users, source)
    await _created_from_id(users)

    for name, default in _TASK_DEFAULTS.items():
        await tasks.update_many({name: {"$exists": False}}, {"$set": {name: default}})
    await _created_from_id(tasks)
    async for task in tasks.find({"$or": [{"titleLower": {"$exists": False}}, {"updatedAt": {"$exists": False}}]}):
        if task["status"] not in STATUS_RANK or task["priority"] not in PRIORITY_RANK:
            raise IncompatibleDatabase(
                f"{source}: task {task['_id']} has status {task['status']!r} and priority {task['priority']!r}; "
                f"TaskTrek knows {', '.join(STATUS_RANK)} and {', '.join(PRIORITY_RANK)}"
            )
        derived = task_index_fields(task)
        if "updatedAt" not in task:
            derived["updatedAt"] = task["createdAt"]
        await tasks.update_one({"_id": task["_id"]}, {"$set": derived})

    for name, default in _NOTIFICATION_DEFAULTS.items():
        await notifications.update_many({name: {"$exists": False}}, {"$set": {name: default}})
    await _created_from_id(notifications)


async def _lowercase_emails(users, source: str) -> None:
    async for user in users.find({}, {"email": 1}):
        email = user["email"].strip().lower()
        if email == user["email"]:
            continue
        if await users.find_one({"email": email, "_id": {"$ne": user["_id"]}}, {"_id": 1}):
            raise IncompatibleDatabase(
                f"{source}: users {user['email']!r} and {email!r} differ only in case; TaskTrek treats emails "
                "case-insensitively: merge or rename one of them first"
            )
        await users.update_one({"_id": user["_id"]}, {"$set": {"email": email}})


async def _created_from_id(collection) -> None:
    """A document without `createdAt` gets its ObjectId's creation time."""
    async for doc in collection.find({"createdAt": {"$exists": False}}, {"_id": 1}):
        created = doc["_id"].generation_time if isinstance(doc["_id"], ObjectId) else datetime.now(timezone.utc)
        await collection.update_one({"_id": doc["_id"]}, {"$set": {"createdAt": created.replace(tzinfo=None)}})
