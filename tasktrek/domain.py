"""Domain vocabulary shared by every layer: enumerations, ids and timestamps."""

from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId

STATUSES = ("todo", "in-progress", "done")  # workflow order
PRIORITIES = ("low", "medium", "high")  # weight order
STATUS_RANK = {name: rank for rank, name in enumerate(STATUSES)}
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}

TASK_SORT_FIELDS = ("createdAt", "updatedAt", "dueDate", "title", "status", "priority")


def new_id() -> str:
    return str(ObjectId())


def is_id(value: object) -> bool:
    """True for a 24-character lowercase hex string, the only id form we accept."""
    return (
        isinstance(value, str)
        and len(value) == 24
        and all(c in "0123456789abcdef" for c in value)
    )


def utcnow() -> datetime:
    """Now, truncated to milliseconds so that every backend stores the same instant."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_ms(value: datetime) -> datetime:
    value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and Z, e.g. 2026-11-23T22:14:05.123Z."""
    if value is None:
        return None
    v = to_ms(value)
    # Formatted by hand: strftime("%Y") does not zero-pad years before 1000 on glibc.
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond // 1000:03d}Z"
