"""Presence announcements: `presence:online` / `presence:offline` to a user's contacts.

It turns what the presence backend reports (a user came online, went offline) into events for
the contacts' user rooms, once per change, and introduces users who just became contacts of
each other. Who is whose contact, and who just met, is decided by the task service.
"""

from __future__ import annotations

import logging
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

    def introduce(self, pair: tuple[str, ...], *, everywhere: bool = False) -> None:
        """Two users just became contacts (the core says so: a log entry's `met`, or a room
        join): tell each that the other is online, when both are. `everywhere`: to their
        sockets on every node (a room join); otherwise to this node's (a log entry, which
        every node delivers)."""
        if pair:
            self.background.spawn(self._introduce(pair, self.everywhere if everywhere else self.broadcaster))

    async def _introduce(self, pair: tuple[str, ...], emitter: Emitter) -> None:
        first, second = pair
        if await self.presence.is_online(first) and await self.presence.is_online(second):
            emitter.emit(PRESENCE_ONLINE, {"userId": first}, rooms=[user_room(second)])
            emitter.emit(PRESENCE_ONLINE, {"userId": second}, rooms=[user_room(first)])
