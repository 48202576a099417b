"""Tasks: visibility, the permission table, versioning, notifications and task events.

Visibility (`access.py`): a live task is visible to its owner and its current assignee; a
deleted task to its owner only. Anyone else gets 404, so that existence is never revealed.
Every change is written with its notifications and log entries in one `ChangeSet`; who hears
of it follows from `access.route(before, after)`.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Awaitable, Callable

from ..domain import is_id, new_id, utcnow
from ..errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from ..events import TASK_ASSIGNED, TASK_CREATED, TASK_DELETED, TASK_RESTORED, TASK_UPDATED, EventPublisher, LogEntry
from ..records import Act, Notification, Task, User
from ..store import ChangeSet, Store, TaskQuery, TaskUpdate
from ..views import task_json
from .access import Route, is_visible, route
from .contacts import Contacts, Joined, acts_of
from .notifications import NotificationService, publish_logged
from .reads import PageCache, TaskPage

EDITABLE_FIELDS = ("title", "description", "priority", "due_date")
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


# What a change is called: its event, and the notification kind each recipient gets.
NotificationKind = Callable[[str, Route], str]


def kind(name: str) -> NotificationKind:
    return lambda recipient, route: name


def assignment_kind(recipient: str, route: Route) -> str:
    return "task_assigned" if recipient in route.gained else "task_unassigned"


def task_entry(event: str, after: Task, actor: str, route: Route, met: tuple[str, ...], **extra) -> LogEntry:
    """The log entry of a task change: the task as the REST API returns it, plus `taskId`
    and `actor` (and what `extra` adds), for everyone `route` names; `met`: the two users
    who became contacts by it."""
    return LogEntry(
        event,
        {**task_json(after), "taskId": after.id, "actor": actor, **extra},
        users=route.users,
        tasks=(after.id,) if route.task_room else (),
        leaving=route.lost,
        met=met,
    )


class TaskService:
    def __init__(self, store: Store, events: EventPublisher, notifications: NotificationService, contacts: Contacts):
        self.store = store
        self.events = events
        self.notifications = notifications
        self.contact_rules = contacts
        # Writers to one task queue up in this process; compare-and-set still guards
        # against writers in other processes sharing the database.
        self._task_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # List pages per user, dropped by the log entries naming the user (reads.py); only
        # with a store that tells the log's newest offset at once.
        self.pages = PageCache(store) if PageCache.supported(store) else None
        if self.pages is not None:
            events.subscribe(self.pages.heard)

    # -- reading ----------------------------------------------------------------------

    async def _visible(self, user_id: str, task_id: str) -> Task:
        task = await self.store.get_task(task_id) if is_id(task_id) else None
        if task is None or not is_visible(task, user_id):
            raise NotFound(TASK_NOT_FOUND)
        return task

    async def get(self, user: User, task_id: str) -> Task:
        return await self._visible(user.id, task_id)

    async def page(self, user: User, wanted: TaskFilter) -> TaskPage:
        epoch = await self.pages.caught_up() if self.pages is not None else None
        if epoch is not None and (kept := self.pages.get(user.id, wanted)) is not None:
            return kept
        me = user.id
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
        page = TaskPage(wanted.page, wanted.limit, total, tuple(tasks))
        if epoch is not None:
            self.pages.put(me, wanted, page, epoch)
        return page

    async def can_join_room(self, user_id: str, task_id: str) -> bool:
        try:
            await self._visible(user_id, task_id)
        except NotFound:
            return False
        return True

    async def join_room(self, user_id: str, task_id: str) -> Joined | None:
        """A socket of `user_id` asks to join the task's room: None when it may not. The
        assignee joining is an act toward the owner (recorded the first time)."""
        try:
            task = await self._visible(user_id, task_id)
        except NotFound:
            return None
        acts = ()
        if task.assigned_to == user_id != task.owner:
            acts = await self.contact_rules.unrecorded((Act(user_id, task.owner),))
        if not acts:
            return Joined()
        met = await self.contact_rules.met(task, task, acts)
        await self.store.apply(ChangeSet(acts=acts))
        return Joined(met)

    async def contacts(self, user_id: str) -> set[str]:
        return await self.contact_rules.of(user_id)

    # -- creating ---------------------------------------------------------------------

    async def _require_user(self, user_id: str, field: str) -> None:
        if await self.store.get_user(user_id) is None:
            raise ValidationFailed("validation failed", errors={field: ["No such user."]})

    async def create(self, user: User, fields: dict) -> Task:
        assignee = fields.get("assigned_to")
        if assignee is not None:
            await self._require_user(assignee, "assignedTo")
            await self.contact_rules.check_assignment(user.id, assignee)
        now = utcnow()
        task = Task(
            id=new_id(),
            owner=user.id,
            title=fields["title"],
            description=fields.get("description", ""),
            status=fields.get("status", "todo"),
            priority=fields.get("priority", "medium"),
            due_date=fields.get("due_date"),
            assigned_to=assignee,
            is_deleted=False,
            deleted_at=None,
            created_at=now,
            updated_at=now,
            version=1,
        )
        acts, met = await self._acts(user, None, task)
        notifications, entries = self._consequences(user, None, task, met, TASK_CREATED, kind("task_assigned"))
        offsets = await self.store.apply(ChangeSet(new_task=task, notifications=notifications, events=entries, acts=acts))
        await publish_logged(self.events, entries, offsets)
        return task

    async def _acts(self, actor: User, before: Task | None, after: Task) -> tuple[tuple[Act, ...], tuple[str, ...]]:
        """The acts a change shows that are not recorded yet, and who becomes contacts by it."""
        acts = await self.contact_rules.unrecorded(acts_of(actor.id, before, after))
        return acts, await self.contact_rules.met(before, after, acts)

    def _consequences(self, actor: User, before: Task | None, after: Task, met: tuple[str, ...], event: str,
                      notification_kind: NotificationKind, **extra) -> tuple[tuple[Notification, ...], tuple[LogEntry, ...]]:
        """What a change writes beside itself: the notifications it causes and the log
        entries announcing the change and each notification."""
        routed = route(before, after)
        notifications = tuple(
            self.notifications.build(recipient, notification_kind(recipient, routed), after, actor)
            for recipient in routed.notified(actor.id)
        )
        entries = (task_entry(event, after, actor.id, routed, met, **extra),
                   *map(self.notifications.entry, notifications))
        return notifications, entries

    # -- changing ---------------------------------------------------------------------

    async def _change(
        self, user: User, task_id: str, decide: Callable[[Task], Awaitable[dict]], if_match: str | None,
        describe: Callable[[Task, Task], tuple[str, NotificationKind, dict]],
    ) -> tuple[Task, Task | None]:
        """Load the visible task, let `decide` check permissions and return the wanted
        values (by attribute), and store those that really change with a version bump (compare-and-set,
        retried on a concurrent change), together with what `describe(before, after)` names:
        the event, the notification kind and the event payload's extra fields. Returns (task
        before, task after) — after is None when nothing changed, in which case nothing is
        bumped or announced."""
        lock = self._task_locks.setdefault(task_id, asyncio.Lock())
        async with lock:
            for _ in range(CAS_ATTEMPTS):
                before = await self._visible(user.id, task_id)
                wanted = await decide(before)
                if if_match is not None and not etag_matches(if_match, before.version):
                    raise PreconditionFailed(f"task is at version {before.version}")
                changes = {k: v for k, v in wanted.items() if getattr(before, k) != v}
                if not changes:
                    return before, None
                changes |= {"version": before.version + 1, "updated_at": utcnow()}
                after = replace(before, **changes)
                event, notification_kind, extra = describe(before, after)
                acts, met = await self._acts(user, before, after)
                notifications, entries = self._consequences(user, before, after, met, event, notification_kind, **extra)
                offsets = await self.store.apply(ChangeSet(
                    task_update=TaskUpdate(task_id, before.version, changes),
                    notifications=notifications,
                    events=entries,
                    acts=acts,
                ))
                if offsets is not None:
                    await publish_logged(self.events, entries, offsets)
                    return before, after
                if if_match is not None:
                    raise PreconditionFailed("task changed concurrently")
        raise Conflict("task is changing too often; retry")

    @staticmethod
    def _owner_only(task: Task, user: User) -> None:
        if task.owner != user.id:
            raise Forbidden("only the task's owner may do this")

    @staticmethod
    def _live(task: Task) -> None:
        if task.is_deleted:
            raise Forbidden("task is deleted; restore it first")

    async def update(self, user: User, task_id: str, fields: dict, if_match: str | None = None) -> Task:
        """`fields`: the wanted values by attribute name."""

        async def decide(task: Task) -> dict:
            # Clients may send editable fields back unchanged; only a real edit is the owner's.
            if any(k in EDITABLE_FIELDS and getattr(task, k) != v for k, v in fields.items()):
                self._owner_only(task, user)
            self._live(task)
            return fields

        def describe(before: Task, after: Task) -> tuple[str, NotificationKind, dict]:
            edited = any(getattr(before, k) != getattr(after, k) for k in EDITABLE_FIELDS)
            return TASK_UPDATED, kind("task_updated" if edited else "task_status_changed"), {}

        before, after = await self._change(user, task_id, decide, if_match, describe)
        return before if after is None else after

    async def set_status(self, user: User, task_id: str, status: str, if_match: str | None = None) -> Task:
        return await self.update(user, task_id, {"status": status}, if_match)

    async def assign(self, user: User, task_id: str, assignee: str | None) -> Task:
        async def decide(task: Task) -> dict:
            self._owner_only(task, user)
            self._live(task)
            if assignee is not None and assignee != task.assigned_to:
                await self._require_user(assignee, "assignedTo")
                await self.contact_rules.check_assignment(user.id, assignee, task.assigned_to)
            return {"assigned_to": assignee}

        def describe(before: Task, after: Task) -> tuple[str, NotificationKind, dict]:
            extra = {"assignedBy": user.id, "previousAssignee": before.assigned_to}
            return TASK_ASSIGNED, assignment_kind, extra

        before, after = await self._change(user, task_id, decide, None, describe)
        return before if after is None else after

    async def delete(self, user: User, task_id: str) -> Task:
        async def decide(task: Task) -> dict:
            self._owner_only(task, user)
            return {"is_deleted": True, "deleted_at": task.deleted_at or utcnow()}

        before, after = await self._change(
            user, task_id, decide, None, lambda *_: (TASK_DELETED, kind("task_deleted"), {})
        )
        return before if after is None else after

    async def restore(self, user: User, task_id: str) -> Task:
        async def decide(task: Task) -> dict:
            self._owner_only(task, user)
            return {"is_deleted": False, "deleted_at": None}

        before, after = await self._change(
            user, task_id, decide, None, lambda *_: (TASK_RESTORED, kind("task_restored"), {})
        )
        return before if after is None else after
