"""Domain events and the in-process publisher services use to announce state changes.

Services publish after the change is stored; subscribers (the real-time gateway, tests)
receive every event in publication order. Nothing here knows about sockets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Literal, Union

log = logging.getLogger(__name__)

TaskChange = Literal["created", "updated", "assigned", "unassigned", "deleted", "restored"]
NotificationChange = Literal["created", "updated"]


@dataclass(frozen=True)
class TaskEvent:
    """A task changed. `task` is the task after the change (domain dict, REST field names)."""

    change: TaskChange
    task: dict
    actor: str
    # For assigned/unassigned: who held the task before (None if nobody).
    previous_assignee: str | None = None
    # Users whose view of the task changed: owner, current and previous assignee.
    affected: frozenset[str] = field(default_factory=frozenset)
    # Users who could see the task before this change and cannot any more (an unassigned
    # or replaced assignee; the assignee of a deleted task).
    lost_access: frozenset[str] = field(default_factory=frozenset)
    # Users who cannot have seen the task before this change and can now (its owner and
    # assignee when it is created; a new assignee; the assignee of a restored task).
    gained_access: frozenset[str] = field(default_factory=frozenset)

    @property
    def task_id(self) -> str:
        return self.task["_id"]


@dataclass(frozen=True)
class NotificationEvent:
    """A notification was stored (created) or marked read/unread (updated)."""

    change: NotificationChange
    notification: dict
    actor: str

    @property
    def recipient(self) -> str:
        return self.notification["user"]


@dataclass(frozen=True)
class NotificationsReadAll:
    """Every unread notification of `user_id` was marked read at once."""

    user_id: str
    modified: int

    @property
    def actor(self) -> str:
        return self.user_id


@dataclass(frozen=True)
class UserLoggedOut:
    user_id: str

    @property
    def actor(self) -> str:
        return self.user_id


DomainEvent = Union[TaskEvent, NotificationEvent, NotificationsReadAll, UserLoggedOut]
Subscriber = Callable[[DomainEvent], Awaitable[None]]


class EventPublisher:
    """Fans each event out to the subscribers, in order; one failing subscriber does not
    stop the others or the request that caused the event."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    async def publish(self, event: DomainEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:
                log.exception("event subscriber failed on %s", type(event).__name__)
