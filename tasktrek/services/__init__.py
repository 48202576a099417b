"""The service layer: every business rule lives here, behind these services."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import EventPublisher
from ..settings import Settings
from ..store import Store
from .contacts import Contacts
from .notifications import NotificationService
from .recovery import RecoveryService
from .limits import LimiterFactory, memory_limiters
from .tasks import TaskFilter, TaskService
from .users import UserService

__all__ = ["Services", "TaskFilter", "TaskService", "UserService", "NotificationService", "RecoveryService"]


@dataclass(frozen=True)
class Services:
    users: UserService
    tasks: TaskService
    notifications: NotificationService
    recovery: RecoveryService
    events: EventPublisher

    @classmethod
    def build(cls, store: Store, settings: Settings, *, limiters: LimiterFactory | None = None) -> "Services":
        """`limiters`: where login and sign-up attempts are counted (this process by default)."""
        events = EventPublisher()
        notifications = NotificationService(store, events)
        tasks = TaskService(store, events, notifications,
                            Contacts(store, max_unanswered=settings.max_unanswered_assignments))
        return cls(
            users=UserService(store, events, settings, limiters=limiters or memory_limiters),
            tasks=tasks,
            notifications=notifications,
            recovery=RecoveryService(
                store, tasks, window_seconds=settings.recovery_window_seconds, max_events=settings.recovery_max_events,
                shared=settings.redis_url is not None,
            ),
            events=events,
        )
