"""Render domain records as the JSON the API returns (and the gateway emits)."""

from __future__ import annotations

from .domain import iso

_TASK_DATES = ("dueDate", "deletedAt", "createdAt", "updatedAt")


def task_json(task: dict) -> dict:
    rendered = dict(task)
    for key in _TASK_DATES:
        rendered[key] = iso(task.get(key))
    return rendered


def notification_json(notification: dict) -> dict:
    return {**notification, "createdAt": iso(notification["createdAt"])}


def user_json(user: dict) -> dict:
    return {"_id": user["_id"], "name": user["name"], "email": user["email"], "createdAt": iso(user["createdAt"])}


def user_summary(user: dict) -> dict:
    return {"_id": user["_id"], "name": user["name"], "email": user["email"]}
