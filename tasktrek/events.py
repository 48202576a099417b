"""What the core tells the rest of the system after a change, and the in-process publisher.

- `LogEntry`: one event of the durable event log. The services write it in the same
  transaction as the change that caused it (store `apply`), with everything delivery needs:
  the event's name and payload, and its recipients as the core computed them: user ids
  (their user rooms), task ids (their task rooms), users who lose access to a task (their
  sockets leave its room) and two users who became presence contacts (presence introduces
  them). A small typed
  record with a stable offset, serializable to JSON, so that another delivery backend (a
  shared stream between processes) can carry it unchanged.
- `NotificationsReadAll`, `UserLoggedOut`: signals that are not logged (nothing is replayed
  for them: a recovering client gets a fresh `notification:count`, a logged-out one cannot
  recover).

Services publish after the change committed; subscribers (the real-time delivery, tests)
receive everything in publication order. Nothing here knows about sockets.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Union

log = logging.getLogger(__name__)

TASK_CREATED = "task:created"
TASK_UPDATED = "task:updated"
TASK_ASSIGNED = "task:assigned"
TASK_DELETED = "task:deleted"
TASK_RESTORED = "task:restored"
NOTIFICATION_NEW = "notification:new"
NOTIFICATION_UPDATED = "notification:updated"
LOGGED_EVENTS = (TASK_CREATED, TASK_UPDATED, TASK_ASSIGNED, TASK_DELETED, TASK_RESTORED,
                 NOTIFICATION_NEW, NOTIFICATION_UPDATED)


def offset_number(offset: object) -> int:
    """The sequence number of an offset; anything else (a client's garbage too) counts as
    the log's start."""
    return int(offset) if isinstance(offset, str) and offset.isdigit() and len(offset) < 19 else 0


@dataclass(frozen=True, slots=True)
class LogEntry:
    event: str  # one of LOGGED_EVENTS
    payload: dict[str, Any]  # exactly what clients receive (JSON types only)
    users: tuple[str, ...] = ()  # whose user rooms receive it
    tasks: tuple[str, ...] = ()  # whose task rooms receive it
    leaving: tuple[str, ...] = ()  # users whose sockets leave the rooms of `tasks` afterwards
    met: tuple[str, ...] = ()  # two users who just became contacts (presence introduces them), or none
    offset: str = ""  # given by the store when the entry is written; ordered, opaque to clients
    at: float = 0.0  # when it was written (epoch seconds)

    def reaches(self, user_id: str, task_ids: set[str] | frozenset[str]) -> bool:
        """Whether a socket of `user_id` that is in the rooms of `task_ids` receives it."""
        return user_id in self.users or any(task in task_ids for task in self.tasks)

    def to_json(self) -> str:
        # Spelled out rather than dataclasses.asdict, which deep-copies the payload first
        # (~30 µs of every write); the same keys in the same order, so the same text.
        return json.dumps({
            "event": self.event, "payload": self.payload, "users": self.users, "tasks": self.tasks,
            "leaving": self.leaving, "met": self.met, "offset": self.offset, "at": self.at,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "LogEntry":
        data = json.loads(text)
        # Fields an entry written by another version has and this one lacks are left out
        # (entries logged before `met` carry `gained`), so old logs and mixed clusters read.
        return cls(**{name: tuple(value) if isinstance(value, list) else value
                      for name, value in data.items() if name in _ENTRY_FIELDS})


_ENTRY_FIELDS = frozenset(LogEntry.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class NotificationsReadAll:
    """Every unread notification of `user_id` was marked read at once."""

    user_id: str
    modified: int


@dataclass(frozen=True, slots=True)
class UserLoggedOut:
    user_id: str


Published = Union[LogEntry, NotificationsReadAll, UserLoggedOut]
Subscriber = Callable[[Published], Awaitable[None]]


class EventPublisher:
    """Fans each item out to the subscribers, in order; one failing subscriber does not
    stop the others or the request that caused it. Subscribers must not wait on anything
    slow (the real-time delivery only queues): a request awaits `publish`."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    async def publish(self, item: Published) -> None:
        for subscriber in list(self._subscribers):
            try:
                await subscriber(item)
            except Exception:
                log.exception("event subscriber failed on %s", type(item).__name__)
