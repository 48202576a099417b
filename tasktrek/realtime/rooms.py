"""The room registry: rooms → members and members → rooms, kept consistent both ways.

Members are any hashable objects (the gateway uses its per-connection client objects). A room
exists only while it has members and a member is tracked only while it is in a room, so that
leaving everything leaves nothing behind.
"""

from __future__ import annotations

from typing import Generic, Hashable, Iterable, TypeVar

M = TypeVar("M", bound=Hashable)


class RoomRegistry(Generic[M]):
    __slots__ = ("_members", "_rooms")

    def __init__(self) -> None:
        self._members: dict[str, set[M]] = {}
        self._rooms: dict[M, set[str]] = {}

    def join(self, member: M, room: str) -> bool:
        """Put `member` in `room`; False if it was already there."""
        rooms = self._rooms.setdefault(member, set())
        if room in rooms:
            return False
        rooms.add(room)
        self._members.setdefault(room, set()).add(member)
        return True

    def leave(self, member: M, room: str) -> bool:
        """Take `member` out of `room`; False if it was not there."""
        rooms = self._rooms.get(member)
        if rooms is None or room not in rooms:
            return False
        rooms.discard(room)
        if not rooms:
            del self._rooms[member]
        members = self._members[room]
        members.discard(member)
        if not members:
            del self._members[room]
        return True

    def leave_all(self, member: M) -> frozenset[str]:
        """Take `member` out of every room; returns the rooms it was in."""
        rooms = self._rooms.pop(member, None)
        if not rooms:
            return frozenset()
        for room in rooms:
            members = self._members[room]
            members.discard(member)
            if not members:
                del self._members[room]
        return frozenset(rooms)

    def members(self, room: str) -> frozenset[M]:
        return frozenset(self._members.get(room, ()))

    def recipients(self, rooms: Iterable[str]) -> set[M]:
        """Every member of any of `rooms`, each once."""
        found: set[M] = set()
        for room in rooms:
            members = self._members.get(room)
            if members:
                found |= members
        return found

    def rooms_of(self, member: M) -> frozenset[str]:
        return frozenset(self._rooms.get(member, ()))

    def count_of(self, member: M) -> int:
        """How many rooms `member` is in."""
        return len(self._rooms.get(member, ()))

    def is_member(self, member: M, room: str) -> bool:
        return room in self._rooms.get(member, ())

    @property
    def room_count(self) -> int:
        return len(self._members)

    @property
    def member_count(self) -> int:
        return len(self._rooms)

    def is_empty(self) -> bool:
        return not self._members and not self._rooms
