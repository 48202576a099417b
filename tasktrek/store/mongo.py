"""The MongoDB store, on PyMongo's async API (or any Motor-compatible database object).

Documents keep ids as ObjectId (`_id`, `user`, `assignedTo`) and timestamps as BSON dates,
the layout of the original Node service; hex strings and aware UTC datetimes at the boundary.
Only the collection API that PyMongo's async driver, Motor and mongomock-motor share is used.

A change set (`apply`) is one transaction when the server supports them (a replica set or a
sharded cluster, reached through PyMongo's async client). Otherwise its writes go in an order
whose commit point is the change itself: log entries first, then the notifications, then the
task (or the notification's read flag) with its precondition. A failed precondition or an
error deletes what was written before it; a crash before the commit point can leave an
entry (and notifications) of a change that never happened, never a change without its entry.
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.errors import ConfigurationError, ConnectionFailure, DuplicateKeyError, InvalidOperation

from ..domain import is_id, iso, to_ms
from ..errors import ConfigError, EmailTaken, StoreUnavailable
from ..events import LogEntry, offset_number
from ..records import Notification, Task, User
from .base import (
    STORED_NAMES, ChangeSet, SessionRecord, TaskQuery, Unmet, from_stored, stored, stored_record,
    task_index_fields, task_sort_keys,
)
from .mongo_schema import LOG_COLLECTIONS, prepare_database

DEFAULT_DATABASE = "tasktrek"
SERVER_SELECTION_TIMEOUT_MS = 5000
_ID_FIELDS = ("_id", "user", "assignedTo")
_NEWEST_FIRST = [("createdAt", DESCENDING), ("_id", DESCENDING)]
# Only record fields are read: the derived index fields never leave the adapter, and what
# documents adopted from the Node service hold beside them (Mongoose's version key `__v`,
# its `updatedAt` on notifications) is kept, never read.
_RECORD_FIELDS = frozenset(name for names in STORED_NAMES.values() for name in names.values())


@contextmanager
def _unavailable_when_unreachable():
    try:
        yield
    except ConnectionFailure as exc:  # also AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
        raise StoreUnavailable() from exc
    except ConfigurationError as exc:  # raised late for mongodb+srv:// when DNS does not answer
        raise StoreUnavailable(f"database unavailable: {exc}") from exc
    except InvalidOperation as exc:
        if "after close" in str(exc):
            raise StoreUnavailable() from exc
        raise


def _translating_errors(method):
    @functools.wraps(method)
    async def wrapper(*args, **kwargs):
        with _unavailable_when_unreachable():
            return await method(*args, **kwargs)

    return wrapper


def _oid(value: str):
    """The ObjectId for a hex id. A malformed id stays a string, which matches no document."""
    return ObjectId(value) if is_id(value) else value


def _to_mongo(record: dict) -> dict:
    """A document (or a `$set`) for a record: ObjectId references, naive UTC dates."""
    doc = {}
    for name, value in record.items():
        if name in _ID_FIELDS and value is not None:
            value = _oid(value)
        elif isinstance(value, datetime):
            value = to_ms(value).replace(tzinfo=None)  # what the driver hands back; mongomock compares naive
        doc[name] = value
    return doc


def _task_doc(fields: dict) -> dict:
    """The document for a task's stored fields (or a `$set` of changes to one)."""
    return _to_mongo({**fields, **task_index_fields(fields)})


def _from_mongo(kind: type, doc: dict):
    record = {}
    for name, value in doc.items():
        if name not in _RECORD_FIELDS:
            continue
        if isinstance(value, ObjectId):
            value = str(value)
        elif isinstance(value, datetime):
            value = to_ms(value)  # naive UTC (or aware, with tz_aware clients) to aware UTC
        elif isinstance(value, dict):
            value = _plain(value)
        record[name] = value
    return from_stored(kind, record)


def _plain(value):
    """A nested value (a notification's `data`) with BSON types as JSON ones: the Node
    service kept ObjectIds and dates in there."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    return value


def _task_filter(query: TaskQuery) -> dict:
    match: dict = {"isDeleted": query.deleted}
    if query.visible_to is not None:
        match["$or"] = [{"user": _oid(query.visible_to)}, {"assignedTo": _oid(query.visible_to)}]
    if query.owner is not None:
        match["user"] = _oid(query.owner)
    if query.assigned_to is not None:
        match["assignedTo"] = _oid(query.assigned_to)
    if query.statuses:
        match["status"] = {"$in": list(query.statuses)}
    if query.priorities:
        match["priority"] = {"$in": list(query.priorities)}
    if query.title_contains is not None:
        match["titleLower"] = {"$regex": re.escape(query.title_contains)}  # literal substring
    due = {}
    if query.due_from is not None:
        due["$gte"] = to_ms(query.due_from).replace(tzinfo=None)
    if query.due_to is not None:
        due["$lte"] = to_ms(query.due_to).replace(tzinfo=None)
    if due:  # comparisons with a date never match null: dateless tasks fall out
        match["dueDate"] = due
    return match


class MongoStore:
    def __init__(self, database, *, client=None, source: str = "database"):
        """`database`: an async database object. `client`: the client to close with this
        store (from_url passes the one it makes); a database given alone stays its owner's.
        `source`: the setting that named the database, for messages."""
        self.database = database
        self._client = client
        self.source = source
        self._users = database["users"]
        self._tasks = database["tasks"]
        self._notifications = database["notifications"]
        self._events, self._counters, self._sessions, self._acts = (database[name] for name in LOG_COLLECTIONS)
        # events: _id is the offset's sequence number; counters: the next one; sessions: _id is
        # the pid; acts: _id is "<actor>:<toward>"
        self._transactions = False  # whether the server runs multi-document transactions

    @classmethod
    def from_url(cls, url: str, variable: str = "TASKTREK_DATABASE_URL") -> "MongoStore":
        options = {"serverSelectionTimeoutMS": SERVER_SELECTION_TIMEOUT_MS}
        if "serverselectiontimeoutms" in url.lower():
            options = {}  # the URL's own value wins (a keyword option would override it)
        try:
            client = AsyncMongoClient(url, **options)
        except (ConfigurationError, ValueError) as exc:  # ValueError: e.g. a port out of range
            raise ConfigError(f"{variable}: {exc}") from None
        return cls(client.get_default_database(default=DEFAULT_DATABASE), client=client, source=variable)

    # lifecycle

    @_translating_errors
    async def open(self) -> None:
        """Recognize the database (refusing one TaskTrek may not use), adopt the Node
        service's documents if need be, then create the indexes."""
        await prepare_database(self.database, self.source)
        await self._users.create_index("email", unique=True)
        await self._users.create_index("disabledAt", sparse=True)
        # Each list index ends with the default sort (updatedAt desc, _id asc) so that a
        # user's pages are read in index order; the "visible to" $or merges the two.
        for party in ("user", "assignedTo"):
            await self._tasks.create_index(
                [(party, ASCENDING), ("isDeleted", ASCENDING), ("updatedAt", DESCENDING), ("_id", ASCENDING)]
            )
        await self._tasks.create_index("status")
        await self._notifications.create_index([("user", ASCENDING), *_NEWEST_FIRST])
        await self._notifications.create_index([("user", ASCENDING), ("read", ASCENDING), *_NEWEST_FIRST])
        await self._events.create_index("at")
        await self._sessions.create_index("disconnectedAt")
        await self._acts.create_index("actor")
        await self._acts.create_index("toward")
        self._transactions = await self._supports_transactions()

    async def _supports_transactions(self) -> bool:
        if not isinstance(getattr(self.database, "client", None), AsyncMongoClient):
            return False  # Motor or mongomock: the ordered writes
        hello = await self.database.command("hello")
        return "setName" in hello or hello.get("msg") == "isdbgrid"

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            closing = client.close()  # a coroutine with PyMongo's async client, plain with Motor's
            if inspect.isawaitable(closing):
                await closing

    @_translating_errors
    async def ping(self) -> None:
        await self.database.command("ping")

    # users

    @_translating_errors
    async def insert_user(self, user: User) -> None:
        try:
            await self._users.insert_one(_to_mongo(stored_record(user)))
        except DuplicateKeyError as exc:
            if "email" in (exc.details or {}).get("keyPattern", {}):
                raise EmailTaken() from exc
            raise

    @_translating_errors
    async def get_user(self, user_id: str) -> User | None:
        doc = await self._users.find_one({"_id": _oid(user_id)})
        return None if doc is None else _from_mongo(User, doc)

    @_translating_errors
    async def get_user_by_email(self, email: str) -> User | None:
        doc = await self._users.find_one({"email": email})
        return None if doc is None else _from_mongo(User, doc)

    @_translating_errors
    async def set_tokens_revoked_at(self, user_id: str, revoked_at: float) -> None:
        await self._users.update_one({"_id": _oid(user_id)}, {"$set": {"tokensRevokedAt": revoked_at}})

    @_translating_errors
    async def update_user(self, user_id: str, changes: dict) -> None:
        await self._users.update_one({"_id": _oid(user_id)}, {"$set": _to_mongo(stored(User, changes))})

    @_translating_errors
    async def users_disabled_after(self, after: float) -> list[tuple[str, float]]:
        cursor = self._users.find({"disabledAt": {"$gt": after}}, {"disabledAt": 1}).sort("disabledAt", ASCENDING)
        return [(str(doc["_id"]), doc["disabledAt"]) async for doc in cursor]

    # tasks

    @_translating_errors
    async def insert_task(self, task: Task) -> None:
        await self._tasks.insert_one(_task_doc(stored_record(task)))

    @_translating_errors
    async def get_task(self, task_id: str) -> Task | None:
        doc = await self._tasks.find_one({"_id": _oid(task_id)})
        return None if doc is None else _from_mongo(Task, doc)

    @_translating_errors
    async def update_task(self, task_id: str, expected_version: int, changes: dict) -> Task | None:
        doc = await self._tasks.find_one_and_update(
            {"_id": _oid(task_id), "version": expected_version},
            {"$set": _task_doc(stored(Task, changes))},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else _from_mongo(Task, doc)

    @_translating_errors
    async def find_tasks(self, query: TaskQuery) -> tuple[list[Task], int]:
        match = _task_filter(query)
        sort = [(field, DESCENDING if descending else ASCENDING) for field, descending in task_sort_keys(query)]
        cursor = self._tasks.find(match).sort(sort).skip(query.skip).limit(query.limit)
        page = [_from_mongo(Task, doc) async for doc in cursor]
        return page, await self._tasks.count_documents(match)

    @_translating_errors
    async def task_pairs(self, user_id: str) -> set[tuple[str, str]]:
        user = _oid(user_id)
        pairs = set()
        for match in ({"user": user, "assignedTo": {"$nin": [None, user]}}, {"assignedTo": user, "user": {"$ne": user}}):
            cursor = self._tasks.find({**match, "isDeleted": False}, {"user": 1, "assignedTo": 1})
            pairs |= {(str(doc["user"]), str(doc["assignedTo"])) async for doc in cursor}
        return pairs

    @_translating_errors
    async def live_assignments(self, owner: str) -> dict[str, int]:
        # Counted here rather than with $group: aggregate is not called alike by every driver this runs on.
        user = _oid(owner)
        cursor = self._tasks.find({"user": user, "isDeleted": False, "assignedTo": {"$nin": [None, user]}}, {"assignedTo": 1})
        return dict(Counter([str(doc["assignedTo"]) async for doc in cursor]))

    @_translating_errors
    async def acted_toward(self, user_id: str) -> set[str]:
        return {str(doc["actor"]) async for doc in self._acts.find({"toward": _oid(user_id)}, {"actor": 1})}

    @_translating_errors
    async def acted_by(self, user_id: str) -> set[str]:
        return {str(doc["toward"]) async for doc in self._acts.find({"actor": _oid(user_id)}, {"toward": 1})}

    # notifications

    @_translating_errors
    async def insert_notification(self, notification: Notification) -> None:
        await self._notifications.insert_one(_to_mongo(stored_record(notification)))

    @_translating_errors
    async def find_notifications(
        self, user_id: str, *, unread_only: bool, skip: int, limit: int
    ) -> tuple[list[Notification], int]:
        match = {"user": _oid(user_id), **({"read": False} if unread_only else {})}
        cursor = self._notifications.find(match).sort(_NEWEST_FIRST).skip(skip).limit(limit)
        page = [_from_mongo(Notification, doc) async for doc in cursor]
        return page, await self._notifications.count_documents(match)

    @_translating_errors
    async def count_unread(self, user_id: str) -> int:
        return await self._notifications.count_documents({"user": _oid(user_id), "read": False})

    @_translating_errors
    async def mark_all_read(self, user_id: str) -> int:
        result = await self._notifications.update_many({"user": _oid(user_id), "read": False}, {"$set": {"read": True}})
        return result.modified_count

    @_translating_errors
    async def get_notification(self, user_id: str, notification_id: str) -> Notification | None:
        doc = await self._notifications.find_one({"_id": _oid(notification_id), "user": _oid(user_id)})
        return None if doc is None else _from_mongo(Notification, doc)

    # changes, atomically: each step is a method of its own (fault-injection tests break one)

    APPLY_STEPS = ("_append_events", "_write_notifications", "_write_change")  # in this order; the last commits

    @_translating_errors
    async def apply(self, change: ChangeSet) -> tuple[str, ...] | None:
        if self._transactions:
            async with self.database.client.start_session() as session:
                try:
                    return await session.with_transaction(lambda s: self._apply(change, s))
                except Unmet:
                    return None
        return await self._apply_in_order(change)

    async def _apply(self, change: ChangeSet, session) -> tuple[str, ...]:
        """Every write of `change` within one transaction (`session`)."""
        offsets = await self._append_events(change.events, session, [])
        await self._write_notifications(change, session)
        if not await self._write_change(change, session):
            raise Unmet()
        await self._write_acts(change, session)
        return offsets

    async def _apply_in_order(self, change: ChangeSet) -> tuple[str, ...] | None:
        logged: list[int] = []  # the entries' sequence numbers, known before they are written
        try:
            offsets = await self._append_events(change.events, None, logged)
            await self._write_notifications(change, None)
            committed = await self._write_change(change, None)
        except BaseException:
            await self._undo(change, logged)
            raise
        if not committed:
            await self._undo(change, logged)
            return None
        # After the commit point: a crash here loses only acts, and the next act records them.
        await self._write_acts(change, None)
        return offsets

    async def _undo(self, change: ChangeSet, logged: list[int]) -> None:
        """Delete what a change set that did not commit wrote before its commit point."""
        if change.notifications:
            await self._notifications.delete_many({"_id": {"$in": [_oid(n.id) for n in change.notifications]}})
        if logged:
            await self._events.delete_many({"_id": {"$in": logged}})

    async def _append_events(self, entries: tuple[LogEntry, ...], session, logged: list[int]) -> tuple[str, ...]:
        """Write the entries with the next sequence numbers, which are added to `logged` first."""
        if not entries:
            return ()
        counter = await self._counters.find_one_and_update(
            {"_id": "events"}, {"$inc": {"seq": len(entries)}}, upsert=True,
            return_document=ReturnDocument.AFTER, **_in(session),
        )
        first = counter["seq"] - len(entries) + 1
        logged += range(first, first + len(entries))
        at = time.time()
        docs = [{"_id": first + i, "at": at, "entry": entry.to_json()} for i, entry in enumerate(entries)]
        await self._events.insert_many(docs, **_in(session))
        return tuple(str(doc["_id"]) for doc in docs)

    async def _write_notifications(self, change: ChangeSet, session) -> None:
        if change.notifications:
            await self._notifications.insert_many([_to_mongo(stored_record(n)) for n in change.notifications], **_in(session))

    async def _write_change(self, change: ChangeSet, session) -> bool:
        """The change itself, with its precondition; False when that does not hold."""
        if change.new_task is not None:
            await self._tasks.insert_one(_task_doc(stored_record(change.new_task)), **_in(session))
        if change.task_update is not None:
            update = change.task_update
            result = await self._tasks.update_one(
                {"_id": _oid(update.task_id), "version": update.expected_version},
                {"$set": _task_doc(stored(Task, update.changes))}, **_in(session),
            )
            if result.matched_count != 1:
                return False
        if change.read_update is not None:
            read = change.read_update
            result = await self._notifications.update_one(
                {"_id": _oid(read.notification_id), "user": _oid(read.user_id), "read": {"$ne": read.read}},
                {"$set": {"read": read.read}}, **_in(session),
            )
            if result.matched_count != 1:
                return False
        return True

    async def _write_acts(self, change: ChangeSet, session) -> None:
        at = time.time()
        for act in change.acts:
            await self._acts.update_one(
                {"_id": f"{act.actor}:{act.toward}"},
                {"$setOnInsert": {"actor": _oid(act.actor), "toward": _oid(act.toward), "at": at}},
                upsert=True, **_in(session),
            )

    # the event log

    @_translating_errors
    async def latest_offset(self) -> str:
        counter = await self._counters.find_one({"_id": "events"})
        return str(counter["seq"]) if counter else "0"

    @_translating_errors
    async def events_after(self, offset: str, limit: int) -> list[LogEntry]:
        cursor = self._events.find({"_id": {"$gt": offset_number(offset)}}).sort("_id", ASCENDING).limit(limit)
        return [replace(LogEntry.from_json(doc["entry"]), offset=str(doc["_id"]), at=doc["at"]) async for doc in cursor]

    @_translating_errors
    async def prune_events(self, before: float, limit: int) -> int:
        cursor = self._events.find({"at": {"$lt": before}}, {"_id": 1}).sort("at", ASCENDING).limit(limit)
        ids = [doc["_id"] async for doc in cursor]
        if not ids:
            return 0
        return (await self._events.delete_many({"_id": {"$in": ids}})).deleted_count

    # recoverable real-time sessions

    @_translating_errors
    async def save_session(self, session: SessionRecord) -> None:
        await self._sessions.replace_one(
            {"_id": session.pid},
            {"sid": session.sid, "user": session.user_id, "offset": session.offset, "rooms": list(session.rooms),
             "disconnectedAt": session.disconnected_at},
            upsert=True,
        )

    @_translating_errors
    async def get_session(self, pid: str) -> SessionRecord | None:
        doc = await self._sessions.find_one({"_id": pid})
        if doc is None:
            return None
        return SessionRecord(pid=doc["_id"], sid=doc["sid"], user_id=doc["user"], offset=doc["offset"],
                             rooms=tuple(doc["rooms"]), disconnected_at=doc["disconnectedAt"])

    @_translating_errors
    async def delete_session(self, pid: str) -> None:
        await self._sessions.delete_one({"_id": pid})

    @_translating_errors
    async def end_open_sessions(self, at: float) -> int:
        result = await self._sessions.update_many({"disconnectedAt": None}, {"$set": {"disconnectedAt": at}})
        return result.modified_count

    @_translating_errors
    async def prune_sessions(self, disconnected_before: float, limit: int) -> int:
        cursor = self._sessions.find({"disconnectedAt": {"$lt": disconnected_before}}, {"_id": 1}).limit(limit)
        pids = [doc["_id"] async for doc in cursor]
        if not pids:
            return 0
        return (await self._sessions.delete_many({"_id": {"$in": pids}})).deleted_count



def _in(session) -> dict:
    """The keyword that puts an operation in a transaction's session (none outside one)."""
    return {"session": session} if session is not None else {}
