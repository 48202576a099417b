"""The room registry on its own."""

from __future__ import annotations

import random

from tasktrek.realtime.rooms import RoomRegistry


class Member:
    """Stands for a connection: hashable by identity."""


def test_join_leave_both_directions():
    rooms: RoomRegistry[Member] = RoomRegistry()
    a, b = Member(), Member()
    assert rooms.join(a, "user:1") is True
    assert rooms.join(a, "user:1") is False
    rooms.join(a, "task:9")
    rooms.join(b, "task:9")
    assert rooms.members("task:9") == {a, b}
    assert rooms.rooms_of(a) == {"user:1", "task:9"}
    assert rooms.is_member(b, "task:9") and not rooms.is_member(b, "user:1")
    assert rooms.leave(b, "task:9") is True
    assert rooms.leave(b, "task:9") is False
    assert rooms.members("task:9") == {a}
    assert rooms.rooms_of(b) == frozenset()
    assert (rooms.room_count, rooms.member_count) == (2, 1)


def test_recipients_across_overlapping_rooms_are_each_once():
    rooms: RoomRegistry[Member] = RoomRegistry()
    owner, assignee, other = Member(), Member(), Member()
    rooms.join(owner, "user:o")
    rooms.join(owner, "task:t")
    rooms.join(assignee, "user:a")
    rooms.join(assignee, "task:t")
    rooms.join(other, "user:x")
    found = rooms.recipients(["task:t", "user:o", "user:a", "user:nobody"])
    assert found == {owner, assignee}
    assert isinstance(found, set) and len(found) == 2
    assert rooms.recipients([]) == set()


def test_leave_all_cleans_up_completely():
    rooms: RoomRegistry[Member] = RoomRegistry()
    a, b = Member(), Member()
    for room in ("user:1", "task:1", "task:2"):
        rooms.join(a, room)
    rooms.join(b, "task:2")
    assert rooms.leave_all(a) == {"user:1", "task:1", "task:2"}
    assert rooms.leave_all(a) == frozenset()
    assert rooms.members("task:2") == {b}
    assert rooms.room_count == 1
    rooms.leave_all(b)
    assert rooms.is_empty()


def test_members_is_a_snapshot():
    rooms: RoomRegistry[Member] = RoomRegistry()
    a = Member()
    rooms.join(a, "r")
    snapshot = rooms.members("r")
    for member in snapshot:  # leaving while iterating the snapshot is safe
        rooms.leave(member, "r")
    assert snapshot == {a} and rooms.is_empty()


def test_random_operations_never_leave_garbage():
    rng = random.Random(7)
    rooms: RoomRegistry[Member] = RoomRegistry()
    members = [Member() for _ in range(50)]
    names = [f"room:{i}" for i in range(20)]
    model: dict[Member, set[str]] = {m: set() for m in members}
    for _ in range(20_000):
        m, r = rng.choice(members), rng.choice(names)
        op = rng.random()
        if op < 0.5:
            rooms.join(m, r)
            model[m].add(r)
        elif op < 0.9:
            rooms.leave(m, r)
            model[m].discard(r)
        else:
            rooms.leave_all(m)
            model[m].clear()
    for m in members:
        assert rooms.rooms_of(m) == model[m]
    for r in names:
        assert rooms.members(r) == {m for m in members if r in model[m]}
    for m in members:
        rooms.leave_all(m)
    assert rooms.is_empty() and rooms.room_count == 0 and rooms.member_count == 0
