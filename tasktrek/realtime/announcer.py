"""Presence announcements: `presence:online` / `presence:offline` to a user's contacts.

It turns what the presence backend reports (a user came online, went offline) into events for
the contacts' user rooms, once per change, and introduces users who just became contacts of
each other. Who is whose contact is asked of the task service.
"""

from __future__ import annotations

import logging
from typing import Iterable

from .background import Background
from .broadcaster import Broadcaster, Emitter, user_room
from .presence import Presence

log = logging.getLogger(__name__)

PRESENCE_ONLINE = "presence:online"
PRESENCE_OFFLINE = "presence:offline"


class PresenceAnnouncer:
    def __init__(self, tasks_service, presence: Presence, broadcaster: Broadcaster, background: Background,
                 *, everywhere: Emitter | None = None) -> None:
        self.tasks = tasks_service
        self.presence = presence
        self.broadcaster = broadcaster  # this node's sockets
        self.background = background
        # Where an announcement goes: every node's sockets. Each change is announced by one
        # node (take_change); introductions are made by every node for its own sockets, as
        # every node delivers the change that causes them.
        self.everywhere = everywhere or broadcaster

    # --- what the session layer reports (run in order, in the background) ---------------

    def arrived(self, user_id: str) -> None:
        """One more socket of `user_id` is connected."""
        self.background.spawn(self._arrived(user_id))

    def left(self, user_id: str) -> None:
        """One socket of `user_id` is no longer connected."""
        self.background.spawn(self._left(user_id))

    def grace_over(self, user_id: str) -> None:
        """The presence backend's offline callback."""
        self.background.spawn(self.announce(user_id))

    async def _arrived(self, user_id: str) -> None:
        if await self.presence.connect(user_id):
            await self.announce(user_id)

    async def _left(self, user_id: str) -> None:
        if await self.presence.disconnect(user_id):
            await self.announce(user_id)

    # --- announcing ----------------------------------------------------------------------

    async def contacts(self, user_id: str) -> set[str]:
        try:
            return await self.tasks.contacts(user_id)
        except Exception:
            log.warning("could not load contacts of %s", user_id, exc_info=True)
            return set()

    async def announce(self, user_id: str) -> None:
        """Tell the user's current contacts about a change of their presence, once per change.
        The state is read after asking for the contacts, so that racing announcements settle
        on the truth and are never repeated."""
        contacts = await self.contacts(user_id)
        if await self.presence.take_change(user_id):
            name = PRESENCE_ONLINE if await self.presence.is_online(user_id) else PRESENCE_OFFLINE
            self.everywhere.emit(name, {"userId": user_id}, rooms=map(user_room, contacts))

    def introduce(self, affected: Iterable[str], gained_access: frozenset[str]) -> None:
        """Users who just gained access to a task may just have become contacts of the others
        it affects: tell each online pair of contacts with a newcomer in it that the other is
        online. (Contacts that part are told nothing.)"""
        if gained_access:
            self.background.spawn(self._introduce(tuple(affected), gained_access))

    async def _introduce(self, affected: tuple[str, ...], gained_access: frozenset[str]) -> None:
        online = [u for u in affected if await self.presence.is_online(u)]
        for user_id in online:
            others = [u for u in online if u != user_id and gained_access & {u, user_id}]
            if not others:
                continue
            contacts = await self.contacts(user_id)
            if await self.presence.is_online(user_id):  # still, after the wait
                self.broadcaster.emit(
                    PRESENCE_ONLINE, {"userId": user_id}, rooms=[user_room(u) for u in others if u in contacts]
                )
