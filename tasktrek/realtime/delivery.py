"""Delivery: the core's events, handed to the broadcaster.

Each domain event becomes the contract's server event for the rooms that event names; users
who lost access to a task leave its room, users who gained it are introduced to each other
(presence), a logout disconnects the user's sockets.
"""

from __future__ import annotations

import logging
from typing import Callable

from ..events import NotificationEvent, NotificationsReadAll, TaskEvent, UserLoggedOut
from .announcer import PresenceAnnouncer
from .broadcaster import Broadcaster, task_room, user_room
from .session import NOTIFICATION_COUNT, Sessions

log = logging.getLogger(__name__)

TASK_CREATED = "task:created"
TASK_UPDATED = "task:updated"
TASK_ASSIGNED = "task:assigned"
TASK_DELETED = "task:deleted"
TASK_RESTORED = "task:restored"
NOTIFICATION_NEW = "notification:new"
NOTIFICATION_UPDATED = "notification:updated"

TASK_EVENT_NAMES = {
    "created": TASK_CREATED,
    "updated": TASK_UPDATED,
    "assigned": TASK_ASSIGNED,
    "unassigned": TASK_ASSIGNED,
    "deleted": TASK_DELETED,
    "restored": TASK_RESTORED,
}

Renderer = Callable[[dict], dict]


class Delivery:
    def __init__(self, services, broadcaster: Broadcaster, sessions: Sessions, announcer: PresenceAnnouncer, *,
                 render_task: Renderer, render_notification: Renderer) -> None:
        self.services = services
        self.broadcaster = broadcaster
        self.sessions = sessions
        self.announcer = announcer
        self.render_task = render_task
        self.render_notification = render_notification

    async def on_domain_event(self, event) -> None:
        if isinstance(event, TaskEvent):
            self._task_event(event)
        elif isinstance(event, NotificationEvent):
            name = NOTIFICATION_NEW if event.change == "created" else NOTIFICATION_UPDATED
            self.broadcaster.emit(name, self.render_notification(event.notification), rooms=[user_room(event.recipient)])
        elif isinstance(event, NotificationsReadAll):
            room = user_room(event.user_id)
            if self.broadcaster.members(room):
                unread = await self.services.notifications.unread_count(event.user_id)
                self.broadcaster.emit(NOTIFICATION_COUNT, {"unread": unread}, rooms=[room])
        elif isinstance(event, UserLoggedOut):
            self.sessions.disconnect_user(event.user_id)

    def _task_event(self, event: TaskEvent) -> None:
        name = TASK_EVENT_NAMES.get(event.change)
        if name is None:
            log.warning("no real-time event for task change %r", event.change)
            return
        task = event.task
        task_id = event.task_id
        payload = {**self.render_task(task), "taskId": task_id, "actor": event.actor}
        users = [task["user"], task.get("assignedTo")]
        with_task_room = event.change not in ("created", "restored")
        if name == TASK_ASSIGNED:
            payload["assignedBy"] = event.actor
            payload["previousAssignee"] = event.previous_assignee
            users.append(event.previous_assignee)
        rooms = [user_room(u) for u in users if u]
        if with_task_room:
            rooms.append(task_room(task_id))
        self.broadcaster.emit(name, payload, rooms=rooms)
        if event.lost_access:
            self.sessions.revoked()
            self.broadcaster.remove_from(task_room(task_id), event.lost_access)
        self.announcer.introduce(event.affected, event.gained_access)
