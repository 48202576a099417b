"""The storage port: the one small interface every adapter implements.

Adapters store and fetch; they hold no business rule. Users, tasks and notifications go in
and come out as the records of `tasktrek.records`, with `datetime` values (UTC, millisecond
precision) for timestamps and 24-character hex strings for ids. Both adapters store them
under the REST field names (`STORED_NAMES`), the layout of the original Node service.
Changes to a record (`TaskUpdate.changes`, `update_user`) are keyed by attribute name.

Beside them the store keeps the durable event log (`tasktrek.events.LogEntry`, offsets are
decimal strings of an increasing integer) and the real-time sessions that may be recovered
(`SessionRecord`). A change is written with `apply(ChangeSet)`: the task, the notifications
it causes and its log entries in one transaction (MongoDB without transactions: in the order
documented in docs/architecture.md).

Adapters raise `tasktrek.errors.StoreUnavailable` when the database does not answer and
`tasktrek.errors.EmailTaken` on a duplicate email; nothing else escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence

from ..events import LogEntry
from ..records import Act, Notification, Task, User


@dataclass(frozen=True)
class TaskQuery:
    """A literal filter over tasks; every given criterion must hold (AND).

    `visible_to` matches tasks whose owner OR assignee is that user. `title_contains` is a
    lowercase literal substring of the lowercased title (no pattern syntax). `due_from` and
    `due_to` are inclusive bounds; a task without a dueDate never matches a due bound.
    `sort` is a sequence of (field, descending); status and priority sort by their rank in
    `tasktrek.domain.STATUSES` / `PRIORITIES`, titles by code point, null dueDates below
    every date; `_id` ascending is always appended as the final tie-breaker.
    """

    deleted: bool = False
    visible_to: str | None = None
    owner: str | None = None
    assigned_to: str | None = None
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    title_contains: str | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    sort: tuple[tuple[str, bool], ...] = (("updatedAt", True),)
    skip: int = 0
    limit: int = 10


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    """Set `changes` on the task only if its stored version is `expected_version`. The caller
    includes `version` and `updatedAt` in `changes`."""

    task_id: str
    expected_version: int
    changes: dict  # attribute name -> value


@dataclass(frozen=True, slots=True)
class ReadUpdate:
    """Set `read` on the user's notification only if it is not so already."""

    user_id: str
    notification_id: str
    read: bool


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Everything one change writes, all or nothing. `apply` returns the offsets given to
    `events` (in order), or None when a precondition (the task's version, a notification's
    read flag) did not hold: then nothing was written."""

    new_task: Task | None = None
    task_update: TaskUpdate | None = None
    read_update: ReadUpdate | None = None
    notifications: tuple[Notification, ...] = ()
    events: tuple[LogEntry, ...] = ()
    acts: tuple[Act, ...] = ()  # recorded once each: an act already recorded is kept as it is


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A real-time session that opted into recovery. `offset` is the log's newest offset when
    it started (where its missed events begin when the client saw none); `rooms` the task ids
    whose rooms it was in and `disconnected_at` (epoch seconds) when it dropped, None while
    it is connected."""

    pid: str
    sid: str
    user_id: str
    offset: str
    rooms: tuple[str, ...] = ()
    disconnected_at: float | None = None


class Unmet(Exception):
    """Raised inside an adapter's `apply` when a precondition of the change set does not
    hold, so that its transaction rolls back; `apply` then returns None."""


class Store(Protocol):
    async def open(self) -> None:
        """Connect, create the schema or indexes, apply migrations."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Return when the database answers; raise StoreUnavailable otherwise."""

    # users
    async def insert_user(self, user: User) -> None: ...
    async def get_user(self, user_id: str) -> User | None: ...
    async def get_user_by_email(self, email: str) -> User | None: ...
    async def set_tokens_revoked_at(self, user_id: str, revoked_at: float) -> None: ...

    async def update_user(self, user_id: str, changes: dict) -> None:
        """Set the given user attributes (e.g. password_hash, disabled_at)."""

    async def users_disabled_after(self, after: float) -> list[tuple[str, float]]:
        """(id, disabledAt) of the users disabled after `after` (epoch seconds), oldest first."""

    # tasks
    async def insert_task(self, task: Task) -> None: ...
    async def get_task(self, task_id: str) -> Task | None: ...

    async def update_task(self, task_id: str, expected_version: int, changes: dict) -> Task | None:
        """Apply `changes` only if the stored version is `expected_version` (compare-and-set).
        Returns the task after the change, or None when the version (or task) did not match.
        The caller includes `version` and `updatedAt` in `changes`."""

    async def find_tasks(self, query: TaskQuery) -> tuple[list[Task], int]:
        """One page of matching tasks and the total count of matches."""

    async def task_pairs(self, user_id: str) -> set[tuple[str, str]]:
        """(owner, assignee) of every non-deleted task that `user_id` owns or is assigned,
        whose assignee is someone other than its owner; each pair once."""

    async def live_assignments(self, owner: str) -> dict[str, int]:
        """How many of `owner`'s non-deleted tasks each other user is assigned."""

    # who has acted toward whom (`tasktrek.records.Act`; written by `apply`)
    async def acted_toward(self, user_id: str) -> set[str]:
        """The users who have acted toward `user_id`."""

    async def acted_by(self, user_id: str) -> set[str]:
        """The users `user_id` has acted toward."""

    # notifications
    async def insert_notification(self, notification: Notification) -> None: ...

    async def find_notifications(
        self, user_id: str, *, unread_only: bool, skip: int, limit: int
    ) -> tuple[list[Notification], int]:
        """A page of the user's notifications, newest first (createdAt desc, _id desc), and
        the total count matching the filter."""

    async def count_unread(self, user_id: str) -> int: ...

    async def mark_all_read(self, user_id: str) -> int:
        """Mark every unread notification of the user read; return how many changed."""

    async def get_notification(self, user_id: str, notification_id: str) -> Notification | None: ...

    # changes, atomically
    async def apply(self, change: ChangeSet) -> tuple[str, ...] | None: ...

    # the event log
    async def latest_offset(self) -> str:
        """The newest entry's offset ("0" while the log is empty)."""

    async def events_after(self, offset: str, limit: int) -> list[LogEntry]:
        """Up to `limit` entries with an offset after `offset`, oldest first."""

    async def prune_events(self, before: float, limit: int) -> int:
        """Delete up to `limit` of the oldest entries written before `before` (epoch seconds);
        return how many."""

    # recoverable real-time sessions
    async def save_session(self, session: SessionRecord) -> None:
        """Insert or replace the session with this pid."""

    async def get_session(self, pid: str) -> SessionRecord | None: ...

    async def delete_session(self, pid: str) -> None: ...

    async def end_open_sessions(self, at: float) -> int:
        """Mark every session still marked connected as disconnected `at` (a process starting
        after a crash: its sockets are gone); return how many."""

    async def prune_sessions(self, disconnected_before: float, limit: int) -> int:
        """Delete up to `limit` sessions that disconnected before `disconnected_before`."""


# Storage derivations shared by the adapters (no business rule: only how records are indexed).

from ..domain import PRIORITY_RANK, STATUS_RANK, TASK_SORT_FIELDS  # noqa: E402

# Fields each adapter stores beside a task so that title search and rank sorting use indexes;
# they never leave the adapter.
TASK_INDEX_FIELDS = ("titleLower", "statusRank", "priorityRank")
_SORT_FIELD_STORED_AS = {"status": "statusRank", "priority": "priorityRank"}


# Where each record attribute is stored (both adapters use the REST names as column or
# document field names).
STORED_NAMES: dict[type, dict[str, str]] = {
    User: {
        "id": "_id", "name": "name", "email": "email", "password_hash": "passwordHash",
        "tokens_revoked_at": "tokensRevokedAt", "created_at": "createdAt", "disabled_at": "disabledAt",
    },
    Task: {
        "id": "_id", "owner": "user", "title": "title", "description": "description", "status": "status",
        "priority": "priority", "due_date": "dueDate", "assigned_to": "assignedTo", "is_deleted": "isDeleted",
        "deleted_at": "deletedAt", "created_at": "createdAt", "updated_at": "updatedAt", "version": "version",
    },
    Notification: {
        "id": "_id", "user": "user", "type": "type", "message": "message", "data": "data", "read": "read",
        "created_at": "createdAt",
    },
}


def stored(kind: type, values: dict) -> dict:
    """Attribute-keyed values (a whole record's or changes to one) keyed by stored name."""
    names = STORED_NAMES[kind]
    return {names[attribute]: value for attribute, value in values.items()}


def stored_record(record: User | Task | Notification) -> dict:
    return stored(type(record), {attribute: getattr(record, attribute) for attribute in STORED_NAMES[type(record)]})


def from_stored(kind: type, fields: dict):
    """The record of `kind` for stored fields; an absent optional field takes its default
    (documents adopted from the Node service may lack newer fields)."""
    return kind(**{attribute: fields[name] for attribute, name in STORED_NAMES[kind].items() if name in fields})


def task_index_fields(fields: dict) -> dict:
    """The derived fields for a task's stored fields, or for stored changes to one (only
    those it affects)."""
    derived = {}
    if "title" in fields:
        derived["titleLower"] = fields["title"].lower()
    if "status" in fields:
        derived["statusRank"] = STATUS_RANK[fields["status"]]
    if "priority" in fields:
        derived["priorityRank"] = PRIORITY_RANK[fields["priority"]]
    return derived


def task_sort_keys(query: TaskQuery) -> list[tuple[str, bool]]:
    """The query's sort as (stored field, descending), ending with the `_id` tie-breaker.
    Raises ValueError on a field outside `TASK_SORT_FIELDS` (adapters may build
    query text from these names)."""
    keys = []
    for field, descending in query.sort:
        if field not in TASK_SORT_FIELDS:
            raise ValueError(f"unknown task sort field {field!r}")
        keys.append((_SORT_FIELD_STORED_AS.get(field, field), bool(descending)))
    return keys + [("_id", False)]
