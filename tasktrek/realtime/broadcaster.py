"""The broadcaster: rooms → sockets. It keeps who is in which room and sends one event to
every socket in a set of rooms, each socket once, encoded once, without waiting for any.

It decides nothing: which rooms an event goes to is the caller's (the delivery's) business.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterable, Protocol

from . import engineio as eio
from . import socketio as sio
from .rooms import RoomRegistry


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def task_room(task_id: str) -> str:
    return f"task:{task_id}"


def event_frame(name: str, *args: Any) -> str:
    """An event as one ready-to-send Engine.IO text frame."""
    return eio.encode(eio.Packet(eio.MESSAGE, sio.encode(sio.event(name, *args))))


class Member(Hashable, Protocol):
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

    def members(self, room: str) -> frozenset[Member]:
        return self.rooms.members(room)

    def remove_from(self, room: str, user_ids: Iterable[str]) -> None:
        """Take every socket of each of `user_ids` out of `room`."""
        for user_id in user_ids:
            for member in self.rooms.members(user_room(user_id)):
                self.rooms.leave(member, room)
