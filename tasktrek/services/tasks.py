"""Tasks: visibility, the permission table, versioning, notifications and task events.

Visibility: a live task is visible to its owner and its current assignee; a deleted task to
its owner only. Anyone else gets 404, so that existence is never revealed.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable

from ..domain import is_id, new_id, utcnow
from ..errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from ..events import EventPublisher, TaskEvent
from ..store import Store, TaskQuery
from .notifications import NotificationService

EDITABLE_FIELDS = ("title", "description", "priority", "dueDate")
CAS_ATTEMPTS = 5
TASK_NOT_FOUND = "task not found"


@dataclass(frozen=True)
class TaskFilter:
    """What the caller asked for in GET /api/tasks, already validated."""

    page: int = 1
    limit: int = 10
    scope: str = "all"
    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    assigned_to: str | None = None
    q: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    deleted: bool = False
    sort: tuple[tuple[str, bool], ...] | None = None


def etag_matches(if_match: str, version: int) -> bool:
    """Strong comparison (RFC 9110) of an If-Match value with the task's ETag "<version>"."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or f'"{version}"' in tags or str(version) in tags


def is_visible(task: dict, user_id: str) -> bool:
    if task["isDeleted"]:
        return task["user"] == user_id
    return user_id in (task["user"], task["assignedTo"])


def participants(task: dict) -> set[str]:
    return {uid for uid in (task["user"], task["assignedTo"]) if uid}


class TaskService:
    def __init__(self, store: Store, events: EventPublisher, notifications: NotificationService):
        self.store = store
        self.events = events
        self.notifications = notifications
        # Writers to one task queue up in this process; compare-and-set still guards
        # against writers in other processes sharing the database.
        self._task_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- reading ----------------------------------------------------------------------

    async def _visible(self, user_id: str, task_id: str) -> dict:
        task = await self.store.get_task(task_id) if is_id(task_id) else None
        if task is None or not is_visible(task, user_id):
            raise NotFound(TASK_NOT_FOUND)
        return task

    async def get(self, user: dict, task_id: str) -> dict:
        return await self._visible(user["_id"], task_id)

    async def page(self, user: dict, wanted: TaskFilter) -> dict:
        me = user["_id"]
        query = TaskQuery(
            deleted=wanted.deleted,
            # The trash holds the caller's own deleted tasks only.
            visible_to=me if wanted.scope == "all" and not wanted.deleted else None,
            owner=me if wanted.scope == "owned" or wanted.deleted else None,
            assigned_to=me if wanted.scope == "assigned" else wanted.assigned_to,
            statuses=wanted.status,
            priorities=wanted.priority,
            title_contains=wanted.q.lower() if wanted.q else None,
            due_from=wanted.due_after,
            due_to=wanted.due_before,
            sort=wanted.sort or (("updatedAt", True),),
            skip=(wanted.page - 1) * wanted.limit,
            limit=wanted.limit,
        )
        contradictory = wanted.scope == "assigned" and wanted.assigned_to not in (None, me)
        tasks, total = ([], 0) if contradictory else await self.store.find_tasks(query)
        return {"page": wanted.page, "limit": wanted.limit, "total": total, "tasks": tasks}

    async def can_join_room(self, user_id: str, task_id: str) -> bool:
        try:
            await self._visible(user_id, task_id)
        except NotFound:
            return False
        return True

    async def contacts(self, user_id: str) -> set[str]:
        return await self.store.task_partners(user_id)

    # -- creating ---------------------------------------------------------------------

    async def _require_user(self, user_id: str, field: str) -> None:
        if await self.store.get_user(user_id) is None:
            raise ValidationFailed("validation failed", errors={field: ["No such user."]})

    async def create(self, user: dict, fields: dict) -> dict:
        assignee = fields.get("assignedTo")
        if assignee is not None:
            await self._require_user(assignee, "assignedTo")
        now = utcnow()
        task = {
            "_id": new_id(),
            "user": user["_id"],
            "title": fields["title"],
            "description": fields.get("description", ""),
            "status": fields.get("status", "todo"),
            "priority": fields.get("priority", "medium"),
            "dueDate": fields.get("dueDate"),
            "assignedTo": assignee,
            "isDeleted": False,
            "deletedAt": None,
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
        await self.store.insert_task(task)
        seeing = frozenset(participants(task))
        await self.events.publish(TaskEvent("created", task, user["_id"], affected=seeing, gained_access=seeing))
        await self.notifications.notify(assignee, "task_assigned", task, user)
        return task

    # -- changing ---------------------------------------------------------------------

    async def _change(
        self, user: dict, task_id: str, decide: Callable[[dict], Awaitable[dict]], if_match: str | None = None
    ) -> tuple[dict, dict | None]:
        """Load the visible task, let `decide` check permissions and return the wanted
        values, and store those that really change with a version bump (compare-and-set,
        retried on a concurrent change). Returns (task before, task after) — after is None
        when nothing changed, in which case nothing is bumped or announced."""
        lock = self._task_locks.setdefault(task_id, asyncio.Lock())
        async with lock:
            for _ in range(CAS_ATTEMPTS):
                before = await self._visible(user["_id"], task_id)
                wanted = await decide(before)
                if if_match is not None and not etag_matches(if_match, before["version"]):
                    raise PreconditionFailed(f"task is at version {before['version']}")
                changes = {k: v for k, v in wanted.items() if before[k] != v}
                if not changes:
                    return before, None
                changes |= {"version": before["version"] + 1, "updatedAt": utcnow()}
                after = await self.store.update_task(task_id, before["version"], changes)
                if after is not None:
                    return before, after
                if if_match is not None:
                    raise PreconditionFailed("task changed concurrently")
        raise Conflict("task is changing too often; retry")

    @staticmethod
    def _owner_only(task: dict, user: dict) -> None:
        if task["user"] != user["_id"]:
            raise Forbidden("only the task's owner may do this")

    @staticmethod
    def _live(task: dict) -> None:
        if task["isDeleted"]:
            raise Forbidden("task is deleted; restore it first")

    async def update(self, user: dict, task_id: str, fields: dict, if_match: str | None = None) -> dict:
        async def decide(task: dict) -> dict:
            # Clients may send editable fields back unchanged; only a real edit is the owner's.
            if any(k in EDITABLE_FIELDS and task[k] != v for k, v in fields.items()):
                self._owner_only(task, user)
            self._live(task)
            return fields

        before, after = await self._change(user, task_id, decide, if_match)
        if after is None:
            return before
        edited = any(before[k] != after[k] for k in EDITABLE_FIELDS)
        await self._announce_update(user, after, "task_updated" if edited else "task_status_changed")
        return after

    async def set_status(self, user: dict, task_id: str, status: str, if_match: str | None = None) -> dict:
        return await self.update(user, task_id, {"status": status}, if_match)

    async def _announce_update(self, user: dict, task: dict, kind: str) -> None:
        await self.events.publish(TaskEvent("updated", task, user["_id"], affected=frozenset(participants(task))))
        # The owner's change informs the assignee; the assignee's informs the owner.
        other = task["assignedTo"] if user["_id"] == task["user"] else task["user"]
        await self.notifications.notify(other, kind, task, user)

    async def assign(self, user: dict, task_id: str, assignee: str | None) -> dict:
        async def decide(task: dict) -> dict:
            self._owner_only(task, user)
            self._live(task)
            if assignee is not None and assignee != task["assignedTo"]:
                await self._require_user(assignee, "assignedTo")
            return {"assignedTo": assignee}

        before, after = await self._change(user, task_id, decide)
        if after is None:
            return before
        previous = before["assignedTo"]
        lost = {previous} - {after["user"], None}
        await self.events.publish(
            TaskEvent(
                "assigned" if assignee else "unassigned",
                after,
                user["_id"],
                previous_assignee=previous,
                affected=frozenset(participants(before) | participants(after)),
                lost_access=frozenset(lost),
                gained_access=frozenset(participants(after) - participants(before)),
            )
        )
        await self.notifications.notify(assignee, "task_assigned", after, user)
        await self.notifications.notify(previous, "task_unassigned", after, user)
        return after

    async def delete(self, user: dict, task_id: str) -> dict:
        async def decide(task: dict) -> dict:
            self._owner_only(task, user)
            return {"isDeleted": True, "deletedAt": task["deletedAt"] or utcnow()}

        before, after = await self._change(user, task_id, decide)
        if after is None:
            return before
        lost = {after["assignedTo"]} - {after["user"], None}
        await self._announce_trash(user, after, "deleted", lost, set())
        return after

    async def restore(self, user: dict, task_id: str) -> dict:
        async def decide(task: dict) -> dict:
            self._owner_only(task, user)
            return {"isDeleted": False, "deletedAt": None}

        before, after = await self._change(user, task_id, decide)
        if after is None:
            return before
        gained = {after["assignedTo"]} - {after["user"], None}  # the owner sees the trash
        await self._announce_trash(user, after, "restored", set(), gained)
        return after

    async def _announce_trash(self, user: dict, task: dict, change: str, lost: set[str], gained: set[str]) -> None:
        await self.events.publish(
            TaskEvent(
                change, task, user["_id"], affected=frozenset(participants(task)),
                lost_access=frozenset(lost), gained_access=frozenset(gained),
            )
        )
        await self.notifications.notify(task["assignedTo"], f"task_{change}", task, user)
