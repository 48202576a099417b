"""Persisted notifications: created for the other party of a change, read and unread."""

from __future__ import annotations

from dataclasses import replace

from ..domain import is_id, new_id, utcnow
from ..errors import NotFound
from ..events import NOTIFICATION_NEW, NOTIFICATION_UPDATED, EventPublisher, LogEntry, NotificationsReadAll
from ..records import Notification, Task, User
from ..store import ChangeSet, ReadUpdate, Store
from ..views import notification_data, notification_json

MESSAGES = {
    "task_assigned": '{actor} assigned you "{title}"',
    "task_unassigned": '{actor} unassigned you from "{title}"',
    "task_updated": '{actor} updated "{title}"',
    "task_status_changed": '{actor} moved "{title}" to {status}',
    "task_deleted": '{actor} deleted "{title}"',
    "task_restored": '{actor} restored "{title}"',
}


class NotificationService:
    def __init__(self, store: Store, events: EventPublisher):
        self.store = store
        self.events = events

    @staticmethod
    def build(recipient: str, kind: str, task: Task, actor: User) -> Notification:
        """A new notification about `task` for `recipient` (written by the change that
        causes it, in the same transaction)."""
        return Notification(
            id=new_id(),
            user=recipient,
            type=kind,
            message=MESSAGES[kind].format(actor=actor.name, title=task.title, status=task.status),
            data=notification_data(task, actor),
            read=False,
            created_at=utcnow(),
        )

    @staticmethod
    def entry(notification: Notification, event: str = NOTIFICATION_NEW) -> LogEntry:
        """The log entry announcing `notification` to its recipient."""
        return LogEntry(event, notification_json(notification), users=(notification.user,))

    async def page(self, user_id: str, *, page: int, limit: int, unread_only: bool) -> dict:
        items, total = await self.store.find_notifications(
            user_id, unread_only=unread_only, skip=(page - 1) * limit, limit=limit
        )
        unread = total if unread_only else await self.store.count_unread(user_id)
        return {"page": page, "limit": limit, "total": total, "unread": unread, "notifications": items}

    async def unread_count(self, user_id: str) -> int:
        return await self.store.count_unread(user_id)

    async def mark(self, user_id: str, notification_id: str, *, read: bool) -> Notification:
        notification = await self.store.get_notification(user_id, notification_id) if is_id(notification_id) else None
        if notification is None:
            raise NotFound("notification not found")
        if notification.read == read:
            return notification
        marked = replace(notification, read=read)
        entry = self.entry(marked, NOTIFICATION_UPDATED)
        offsets = await self.store.apply(
            ChangeSet(read_update=ReadUpdate(user_id, notification_id, read), events=(entry,))
        )
        if offsets is None:  # marked so meanwhile by another request, which announced it
            return marked
        await publish_logged(self.events, (entry,), offsets)
        return marked

    async def mark_all_read(self, user_id: str) -> int:
        modified = await self.store.mark_all_read(user_id)
        if modified:
            await self.events.publish(NotificationsReadAll(user_id, modified))
        return modified


async def publish_logged(events: EventPublisher, entries: tuple[LogEntry, ...], offsets: tuple[str, ...]) -> None:
    """Publish committed log entries with the offsets the store gave them."""
    for entry, offset in zip(entries, offsets, strict=True):
        await events.publish(replace(entry, offset=offset))
