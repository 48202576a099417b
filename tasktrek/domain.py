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


ISO_LENGTH = len("2026-11-23T22:14:05.123Z")


class StoredInstant(datetime):
    """An instant read back from storage that keeps the text it was stored as, when that
    text is exactly what `iso` makes of it: rendering it again is a look-up, not parsing and
    formatting (a list page renders 30-40 of them). Otherwise an ordinary UTC datetime;
    values derived from it (`replace`, arithmetic) do not keep the text."""

    __slots__ = ("text",)

    @classmethod
    def parse(cls, text: str) -> datetime:
        """`text` (ISO 8601) as an aware datetime; a `StoredInstant` when it is in `iso`'s form."""
        if len(text) == ISO_LENGTH and text[10] == "T" and text[19] == "." and text[-1] == "Z":
            instant = cls.fromisoformat(text)
            instant.text = text
            return instant
        return datetime.fromisoformat(text)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and Z, e.g. 2026-11-23T22:14:05.123Z."""
    if value is None:
        return None
    if type(value) is StoredInstant:
        try:
            return value.text
        except AttributeError:  # derived from a stored instant: formatted below
            pass
    v = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    # isoformat (not strftime: "%Y" does not zero-pad years before 1000 on glibc) truncates
    # to milliseconds, as `to_ms` does; in UTC it ends with "+00:00".
    return v.isoformat(timespec="milliseconds")[:-6] + "Z"
