"""Persisted notifications: created for the other party of a change, read and unread."""

from __future__ import annotations

from ..domain import is_id, new_id, utcnow
from ..errors import NotFound
from ..events import EventPublisher, NotificationEvent, NotificationsReadAll
from ..store import Store

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

    async def notify(self, recipient: str | None, kind: str, task: dict, actor: dict) -> None:
        """Store a notification about `task` for `recipient` and announce it; nobody is
        notified of their own action."""
        if recipient is None or recipient == actor["_id"]:
            return
        notification = {
            "_id": new_id(),
            "user": recipient,
            "type": kind,
            "message": MESSAGES[kind].format(actor=actor["name"], title=task["title"], status=task["status"]),
            "data": {"taskId": task["_id"], "title": task["title"], "actor": {"_id": actor["_id"], "name": actor["name"]}},
            "read": False,
            "createdAt": utcnow(),
        }
        await self.store.insert_notification(notification)
        await self.events.publish(NotificationEvent("created", notification, actor["_id"]))

    async def page(self, user_id: str, *, page: int, limit: int, unread_only: bool) -> dict:
        items, total = await self.store.find_notifications(
            user_id, unread_only=unread_only, skip=(page - 1) * limit, limit=limit
        )
        unread = total if unread_only else await self.store.count_unread(user_id)
        return {"page": page, "limit": limit, "total": total, "unread": unread, "notifications": items}

    async def unread_count(self, user_id: str) -> int:
        return await self.store.count_unread(user_id)

    async def mark(self, user_id: str, notification_id: str, *, read: bool) -> dict:
        result = await self.store.set_notification_read(user_id, notification_id, read) if is_id(notification_id) else None
        if result is None:
            raise NotFound("notification not found")
        notification, changed = result
        if changed:
            await self.events.publish(NotificationEvent("updated", notification, user_id))
        return notification

    async def mark_all_read(self, user_id: str) -> int:
        modified = await self.store.mark_all_read(user_id)
        if modified:
            await self.events.publish(NotificationsReadAll(user_id, modified))
        return modified
