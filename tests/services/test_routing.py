"""Routing rules, decided once in the core: who sees a task, and who hears of a change."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from tasktrek.domain import new_id
from tasktrek.records import Task
from tasktrek.services.access import is_visible, route, viewers

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)


def task(owner="o", assignee=None, deleted=False) -> Task:
    return Task(
        id=new_id(), owner=owner, title="t", description="", status="todo", priority="medium", due_date=None,
        assigned_to=assignee, is_deleted=deleted, deleted_at=None, created_at=T0, updated_at=T0, version=1,
    )


def test_viewers_are_the_owner_and_the_assignee_while_not_deleted():
    assert viewers(task()) == ("o",)
    assert viewers(task(assignee="a")) == ("o", "a")
    assert viewers(task(assignee="o")) == ("o",)  # assigned to oneself: once
    assert viewers(task(assignee="a", deleted=True)) == ("o",)
    assert is_visible(task(assignee="a"), "a") and not is_visible(task(assignee="a", deleted=True), "a")
    assert not is_visible(task(assignee="a"), "stranger")


def test_creating_reaches_the_new_viewers_and_no_task_room():
    r = route(None, task(assignee="a"))
    assert (r.users, r.task_room, r.lost, r.gained) == (("o", "a"), False, (), ("o", "a"))
    assert r.notified("o") == ("a",)


def test_an_update_reaches_both_parties_and_the_room_and_notifies_the_other():
    before = task(assignee="a")
    r = route(before, replace(before))
    assert (r.users, r.task_room, r.lost, r.gained) == (("o", "a"), True, (), ())
    assert r.notified("a") == ("o",) and r.notified("o") == ("a",)


def test_reassigning_reaches_old_and_new_assignee_and_removes_the_old_one():
    r = route(task(assignee="a"), task(assignee="b"))
    assert (r.users, r.task_room, r.lost, r.gained) == (("o", "b", "a"), True, ("a",), ("b",))
    assert r.notified("o") == ("b", "a")


def test_unassigning_and_assigning_oneself():
    assert route(task(assignee="a"), task()).lost == ("a",)
    r = route(task(), task(assignee="o"))
    assert (r.users, r.lost, r.gained, r.notified("o")) == (("o",), (), (), ())


def test_deleting_removes_the_assignee_and_restoring_brings_them_back_without_the_room():
    deleting = route(task(assignee="a"), task(assignee="a", deleted=True))
    assert (deleting.users, deleting.task_room, deleting.lost, deleting.gained) == (("o", "a"), True, ("a",), ())
    restoring = route(task(assignee="a", deleted=True), task(assignee="a"))
    assert (restoring.users, restoring.task_room, restoring.lost, restoring.gained) == (("o", "a"), False, (), ("a",))
