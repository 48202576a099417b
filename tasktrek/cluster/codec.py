"""What the core publishes (`tasktrek.events`), as JSON for the bus and back.

Every published item is a dataclass of `tasktrek.events`; it travels as its class name and
fields. Timestamps inside records travel as `{"$dt": ISO 8601}`; sets and tuples as lists,
turned back into the field's declared kind."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from .. import events

KINDS = {
    cls.__name__: cls
    for cls in vars(events).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == events.__name__
}
DATETIME = "$dt"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {DATETIME: value.isoformat()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def _revived(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and DATETIME in value:
            return datetime.fromisoformat(value[DATETIME])
        return {k: _revived(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revived(v) for v in value]
    return value


def encode(item: Any) -> dict:
    return {"kind": type(item).__name__, "fields": {f.name: _plain(getattr(item, f.name)) for f in dataclasses.fields(item)}}


def decode(data: dict) -> Any:
    """The item `encode` made; ValueError for anything else."""
    try:
        cls = KINDS[data["kind"]]
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in data["fields"]:
                continue
            value = _revived(data["fields"][f.name])
            declared = str(f.type)
            if isinstance(value, list) and declared.startswith("frozenset"):
                value = frozenset(value)
            elif isinstance(value, list) and declared.startswith("tuple"):
                value = tuple(value)
            values[f.name] = value
        return cls(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a published item: {exc}") from None
