"""Presence contacts and the assignment cap: the one place both rules live.

Two users are *contacts* when they share a live task (one owns it, the other is its
assignee) and that assignee has acted toward the owner: changed the status of, or joined the
room of, one of the owner's tasks, or assigned the owner a task of their own (REALTIME.md).
Assigning someone work is acting toward them, but it makes no contact by itself, so nobody
can watch a stranger's presence by assigning them a task. And an owner may keep at most
`max_unanswered` live tasks assigned to users who have never acted toward them, so nobody can
flood a stranger with assignments and their notifications (docs/security.md).

What acted toward whom is recorded once per pair (`tasktrek.records.Act`), in the same
change set as the change that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Forbidden
from ..records import Act, Task
from ..store import Store


def acts_of(actor: str, before: Task | None, after: Task) -> tuple[Act, ...]:
    """The acts a change of a task by `actor` shows (before None: the task is new)."""
    owner, assignee = after.owner, after.assigned_to
    acts = []
    if assignee not in (None, owner) and (before is None or before.assigned_to != assignee):
        acts.append(Act(owner, assignee))  # only the owner assigns
    if actor == assignee != owner and before is not None and before.status != after.status:
        acts.append(Act(actor, owner))
    return tuple(acts)


def contacts_among(user_id: str, pairs: set[tuple[str, str]], toward_user: set[str], by_user: set[str]) -> set[str]:
    """`user_id`'s contacts, given the (owner, assignee) pairs of the live tasks it takes part
    in, who has acted toward it and whom it has acted toward."""
    return ({assignee for owner, assignee in pairs if owner == user_id and assignee in toward_user}
            | {owner for owner, assignee in pairs if assignee == user_id and owner in by_user})


@dataclass(frozen=True, slots=True)
class Joined:
    """A socket may join a task's room; `met`: the two users who became contacts by it."""

    met: tuple[str, ...] = ()


class Contacts:
    def __init__(self, store: Store, *, max_unanswered: int):
        self.store = store
        self.max_unanswered = max_unanswered

    async def of(self, user_id: str) -> set[str]:
        pairs = await self.store.task_pairs(user_id)
        if not pairs:
            return set()
        return contacts_among(user_id, pairs, await self.store.acted_toward(user_id), await self.store.acted_by(user_id))

    async def unrecorded(self, acts: tuple[Act, ...]) -> tuple[Act, ...]:
        """Those of `acts` not recorded yet."""
        return tuple([act for act in acts if act.toward not in await self.store.acted_by(act.actor)])

    async def met(self, before: Task | None, after: Task, new_acts: tuple[Act, ...]) -> tuple[str, ...]:
        """The task's owner and assignee when the change from `before` to `after`, which
        records `new_acts`, makes them contacts (they were not before); else ()."""
        owner, assignee = after.owner, after.assigned_to
        if after.is_deleted or assignee in (None, owner):
            return ()
        newly_shared = before is None or before.is_deleted or before.assigned_to != assignee
        if not (new_acts or newly_shared):
            return ()
        pairs = await self.store.task_pairs(owner)
        toward, by = await self.store.acted_toward(owner), await self.store.acted_by(owner)
        if assignee in contacts_among(owner, pairs, toward, by):
            return ()
        pairs.add((owner, assignee))
        toward |= {act.actor for act in new_acts if act.toward == owner}
        by |= {act.toward for act in new_acts if act.actor == owner}
        return (owner, assignee) if assignee in contacts_among(owner, pairs, toward, by) else ()

    async def check_assignment(self, owner: str, assignee: str | None, current: str | None = None) -> None:
        """Refuse to assign `assignee` a live task of `owner`'s (assigned to `current` now) when
        the owner keeps `max_unanswered` such tasks assigned to users who never acted toward them."""
        if assignee in (None, owner, current):
            return
        answered = await self.store.acted_toward(owner)
        if assignee in answered:
            return
        counts = await self.store.live_assignments(owner)
        unanswered = sum(count for user, count in counts.items() if user not in answered)
        if current not in (None, owner) and current not in answered:
            unanswered -= 1  # this task is one of them, and stays one
        if unanswered >= self.max_unanswered:
            raise Forbidden(
                f"too many tasks assigned to users who have not acted on any of yours yet (at most {self.max_unanswered})"
            )
