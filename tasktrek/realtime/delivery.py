"""Delivery: the core's log entries and signals, handed to the broadcaster.

Nothing is decided here: a `LogEntry` names its event, payload and recipients (user rooms,
task rooms), the users whose sockets leave the task's room and two users who became
contacts (presence introduces them). A logout disconnects the user's sockets; a read-all sends the
new unread count.

What the services publish is queued and delivered in order by a background task, so that a
request never waits for sockets or for a count query.
"""

from __future__ import annotations

import logging
from collections import deque

from ..events import LogEntry, NotificationsReadAll, Published, UserLoggedOut
from .announcer import PresenceAnnouncer
from .background import Background
from .broadcaster import Broadcaster, task_room, user_room
from .session import NOTIFICATION_COUNT, Sessions

log = logging.getLogger(__name__)


def entry_rooms(entry: LogEntry) -> list[str]:
    return [*map(user_room, entry.users), *map(task_room, entry.tasks)]


class Delivery:
    def __init__(self, services, broadcaster: Broadcaster, sessions: Sessions, announcer: PresenceAnnouncer,
                 background: Background) -> None:
        self.services = services
        self.broadcaster = broadcaster
        self.sessions = sessions
        self.announcer = announcer
        self.background = background
        self._queue: deque[Published] = deque()
        self._draining = False

    async def on_published(self, item: Published) -> None:
        """The publisher's subscriber: queue, and make sure a drain is running."""
        self._queue.append(item)
        if not self._draining:
            self._draining = True
            self.background.spawn(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                item = self._queue.popleft()
                try:
                    await self.deliver(item)
                except Exception:
                    log.exception("delivering %s failed", type(item).__name__)
        finally:
            self._draining = False

    async def deliver(self, item: Published) -> None:
        if isinstance(item, LogEntry):
            self.deliver_entry(item)
        elif isinstance(item, NotificationsReadAll):
            room = user_room(item.user_id)
            if self.broadcaster.members(room):
                unread = await self.services.notifications.unread_count(item.user_id)
                self.broadcaster.emit(NOTIFICATION_COUNT, {"unread": unread}, rooms=[room])
        elif isinstance(item, UserLoggedOut):
            self.sessions.disconnect_user(item.user_id)

    def deliver_entry(self, entry: LogEntry) -> None:
        self.broadcaster.emit_entry(entry, entry_rooms(entry))
        if entry.leaving:
            self.sessions.revoked()
            for task_id in entry.tasks:
                self.broadcaster.remove_from(task_room(task_id), entry.leaving)
        self.announcer.introduce(entry.met)
