"""Render domain records as the JSON the API returns (and the gateway emits): the one place
the REST field names of users, tasks and notifications are spelled."""

from __future__ import annotations

from .domain import iso
from .records import Notification, Task, User


def task_json(task: Task) -> dict:
    return {
        "_id": task.id,
        "user": task.owner,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "priority": task.priority,
        "dueDate": iso(task.due_date),
        "assignedTo": task.assigned_to,
        "isDeleted": task.is_deleted,
        "deletedAt": iso(task.deleted_at),
        "createdAt": iso(task.created_at),
        "updatedAt": iso(task.updated_at),
        "version": task.version,
    }


def notification_json(notification: Notification) -> dict:
    return {
        "_id": notification.id,
        "user": notification.user,
        "type": notification.type,
        "message": notification.message,
        "data": notification.data,
        "read": notification.read,
        "createdAt": iso(notification.created_at),
    }


def notification_data(task: Task, actor: User) -> dict:
    """A notification's `data`: which task, and who acted."""
    return {"taskId": task.id, "title": task.title, "actor": {"_id": actor.id, "name": actor.name}}


def user_json(user: User) -> dict:
    return {**user_summary(user), "createdAt": iso(user.created_at)}


def user_summary(user: User) -> dict:
    return {"_id": user.id, "name": user.name, "email": user.email}
