"""The records every layer passes around: store → services → views. Attribute names are
Python's; the REST shape is made from them in one place (`tasktrek.views`) and each store
adapter maps them to its own columns or document fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class User:
    id: str
    name: str
    email: str  # lowercased by the service
    password_hash: str
    created_at: datetime
    tokens_revoked_at: float | None = None  # epoch seconds
    disabled_at: float | None = None  # epoch seconds


@dataclass(slots=True)
class Task:
    id: str
    owner: str  # the user who created it
    title: str
    description: str
    status: str
    priority: str
    due_date: datetime | None
    assigned_to: str | None
    is_deleted: bool
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(slots=True)
class Notification:
    id: str
    user: str  # the recipient
    type: str
    message: str
    data: dict  # JSON as the API returns it ({"taskId", "title", "actor": {"_id", "name"}})
    read: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Act:
    """`actor` has acted toward `toward`: as the assignee of one of toward's tasks (changed
    its status, joined its room) or by assigning toward a task. Presence contacts and the
    assignment cap follow from these (`tasktrek.services.contacts`)."""

    actor: str
    toward: str
