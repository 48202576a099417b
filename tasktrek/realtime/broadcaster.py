"""The broadcaster: rooms → sockets. It keeps who is in which room and sends one event to
every socket in a set of rooms, each socket once, encoded once, without waiting for any.

It decides nothing: which rooms an event goes to is the caller's (the delivery's) business.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterable, Protocol

from ..events import LogEntry, offset_number
from . import engineio as eio
from . import socketio as sio
from .frames import SharedFrame
from .rooms import RoomRegistry


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def task_room(task_id: str) -> str:
    return TASK_ROOM_PREFIX + task_id


TASK_ROOM_PREFIX = "task:"


def task_ids(rooms: Iterable[str]) -> list[str]:
    """The task ids of the task rooms among `rooms`."""
    return [room[len(TASK_ROOM_PREFIX):] for room in rooms if room.startswith(TASK_ROOM_PREFIX)]


def event_frame(name: str, *args: Any) -> SharedFrame:
    """An event as one ready-to-send Engine.IO text frame (its WebSocket form built once, for
    however many sockets send it)."""
    return SharedFrame(eio.encode(eio.Packet(eio.MESSAGE, sio.encode(sio.event(name, *args)))))


class Member(Hashable, Protocol):
    recovers: bool  # opted into connection state recovery: logged events carry their offset
    skip_through: int  # logged events up to this offset reached it already (a replay)

    def send_frame(self, frame: str) -> bool:
        """Queue one encoded frame without waiting; False if it was not queued."""


class Emitter(Protocol):
    def emit(self, name: str, *args: Any, rooms: Iterable[str]) -> int: ...


class Broadcaster:
    __slots__ = ("rooms",)

    def __init__(self) -> None:
        self.rooms: RoomRegistry[Member] = RoomRegistry()

    def emit(self, name: str, *args: Any, rooms: Iterable[str]) -> int:
        """Send an event to every socket in any of `rooms`, each once. Returns how many sockets
        it was queued for."""
        recipients = self.rooms.recipients(rooms)
        if not recipients:
            return 0
        frame = event_frame(name, *args)
        return sum(1 for member in recipients if member.send_frame(frame))

    def emit_entry(self, entry: LogEntry, rooms: Iterable[str]) -> int:
        """Send a logged event to every socket in any of `rooms`, each once: with its offset
        as the last argument to sockets that opted into recovery, without it to the others
        (each form encoded at most once)."""
        plain = with_offset = None
        sent = 0
        number = offset_number(entry.offset)
        for member in self.rooms.recipients(rooms):
            if number <= member.skip_through:
                continue
            if member.recovers:
                with_offset = with_offset or event_frame(entry.event, entry.payload, entry.offset)
                sent += member.send_frame(with_offset)
            else:
                plain = plain or event_frame(entry.event, entry.payload)
                sent += member.send_frame(plain)
        return sent

    def members(self, room: str) -> frozenset[Member]:
        return self.rooms.members(room)

    def remove_from(self, room: str, user_ids: Iterable[str]) -> None:
        """Take every socket of each of `user_ids` out of `room`."""
        for user_id in user_ids:
            for member in self.rooms.members(user_room(user_id)):
                self.rooms.leave(member, room)
