"""Who may see a task, and who gains and loses that by a change: the one place routing is
decided. Events, notifications and room removals all follow from `route()`."""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Task


def viewers(task: Task) -> tuple[str, ...]:
    """Who may see `task`: its owner, and its assignee while it is not deleted (owner
    first, each once)."""
    owner, assignee = task.owner, task.assigned_to
    if assignee is None or assignee == owner or task.is_deleted:
        return (owner,)
    return (owner, assignee)


def is_visible(task: Task, user_id: str) -> bool:
    return user_id in viewers(task)


@dataclass(frozen=True, slots=True)
class Route:
    """Who hears about one change of a task."""

    users: tuple[str, ...]  # everyone who could see it before or can see it after (user rooms)
    task_room: bool  # whether the task's room hears it: only when it was live before
    lost: tuple[str, ...]  # could see it before and cannot any more: they leave its room
    gained: tuple[str, ...]  # can see it now and could not before

    def notified(self, actor: str) -> tuple[str, ...]:
        """Who is notified of the change: everyone it reaches but whoever made it."""
        return tuple(u for u in self.users if u != actor)


def route(before: Task | None, after: Task) -> Route:
    """The recipients of a change from `before` (None: the task is new) to `after`."""
    was = viewers(before) if before is not None else ()
    now = viewers(after)
    return Route(
        users=tuple(dict.fromkeys(now + was)),
        task_room=before is not None and not before.is_deleted,
        lost=tuple(u for u in was if u not in now),
        gained=tuple(u for u in now if u not in was),
    )
