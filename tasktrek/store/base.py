"""The storage port: the one small interface every adapter implements.

Adapters store and fetch; they hold no business rule. Every record is a plain dict keyed by
the REST field names, with `datetime` values (UTC, millisecond precision) for timestamps and
24-character hex strings for ids:

- user:         {"_id", "name", "email", "passwordHash", "tokensRevokedAt", "createdAt",
                 "disabledAt"}
                (`email` already lowercased by the service; `tokensRevokedAt` and
                `disabledAt` float epoch seconds or None)
- task:         {"_id", "user", "title", "description", "status", "priority", "dueDate",
                 "assignedTo", "isDeleted", "deletedAt", "createdAt", "updatedAt", "version"}
- notification: {"_id", "user", "type", "message", "data": {...}, "read", "createdAt"}

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
    changes: dict


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

    new_task: dict | None = None
    task_update: TaskUpdate | None = None
    read_update: ReadUpdate | None = None
    notifications: tuple[dict, ...] = ()
    events: tuple[LogEntry, ...] = ()


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
    async def insert_user(self, user: dict) -> None: ...
    async def get_user(self, user_id: str) -> dict | None: ...
    async def get_user_by_email(self, email: str) -> dict | None: ...
    async def set_tokens_revoked_at(self, user_id: str, revoked_at: float) -> None: ...

    async def update_user(self, user_id: str, changes: dict) -> None:
        """Set the given user fields (e.g. passwordHash, disabledAt)."""

    async def users_disabled_after(self, after: float) -> list[tuple[str, float]]:
        """(id, disabledAt) of the users disabled after `after` (epoch seconds), oldest first."""

    # tasks
    async def insert_task(self, task: dict) -> None: ...
    async def get_task(self, task_id: str) -> dict | None: ...

    async def update_task(self, task_id: str, expected_version: int, changes: dict) -> dict | None:
        """Apply `changes` only if the stored version is `expected_version` (compare-and-set).
        Returns the task after the change, or None when the version (or task) did not match.
        The caller includes `version` and `updatedAt` in `changes`."""

    async def find_tasks(self, query: TaskQuery) -> tuple[list[dict], int]:
        """One page of matching tasks and the total count of matches."""

    async def task_partners(self, user_id: str) -> set[str]:
        """Ids of the users who share a non-deleted task with `user_id` as its owner or
        assignee (the other party of each such task), excluding `user_id` itself."""

    # notifications
    async def insert_notification(self, notification: dict) -> None: ...

    async def find_notifications(
        self, user_id: str, *, unread_only: bool, skip: int, limit: int
    ) -> tuple[list[dict], int]:
        """A page of the user's notifications, newest first (createdAt desc, _id desc), and
        the total count matching the filter."""

    async def count_unread(self, user_id: str) -> int: ...

    async def mark_all_read(self, user_id: str) -> int:
        """Mark every unread notification of the user read; return how many changed."""

    async def get_notification(self, user_id: str, notification_id: str) -> dict | None: ...

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


def task_index_fields(fields: dict) -> dict:
    """The derived fields for a task, or for `changes` to one (only those it affects)."""
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
