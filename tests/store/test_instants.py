"""Timestamps read back from SQLite keep their stored text (`StoredInstant`), so rendering them
is a look-up; `iso` formats everything else with `isoformat`. Both are held to the slow twin
they replaced: the hand formatting of `to_ms`'d values."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from tasktrek.domain import StoredInstant, iso, to_ms
from tasktrek.store import TaskQuery
from tasktrek.views import task_json


def iso_by_hand(value: datetime) -> str:
    """The formatting `iso` used before (the slow twin)."""
    v = to_ms(value)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond // 1000:03d}Z"


def instants(count: int = 2000) -> list[datetime]:
    rnd = random.Random(12)
    zones = [timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None]
    edges = [datetime(1, 1, 1, tzinfo=timezone.utc), datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
             datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc), datetime(2026, 2, 28, 23, 59, 59, 999500),
             datetime(2024, 2, 29, 0, 0, 0, 1000, tzinfo=timezone.utc)]
    spread = [datetime(1000, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=rnd.randrange(10**17))
              for _ in range(count)]
    return edges + [v.replace(tzinfo=rnd.choice(zones)) if v.year > 1 else v for v in spread]


def test_iso_formats_as_the_hand_formatting_did():
    for value in instants():
        assert iso(value) == iso_by_hand(value), value


def test_a_stored_instant_renders_as_its_text_which_is_what_iso_made_of_it():
    for value in instants():
        text = iso_by_hand(value)
        stored = StoredInstant.parse(text)
        assert type(stored) is StoredInstant
        assert stored == datetime.fromisoformat(text) and stored.tzinfo == timezone.utc
        assert iso(stored) == text
        assert iso(datetime.fromisoformat(text)) == text  # the parsed value, formatted again


@pytest.mark.parametrize("text", ["2026-11-23T22:14:05Z", "2026-11-23T22:14:05.123+00:00",
                                  "2026-11-23 22:14:05.123Z", "2026-11-23T22:14:05.123456Z"])
def test_other_iso_forms_parse_as_plain_datetimes_and_render_canonically(text):
    parsed = StoredInstant.parse(text)
    assert type(parsed) is datetime and parsed == datetime.fromisoformat(text)
    assert iso(parsed) == iso_by_hand(parsed)


def test_values_derived_from_a_stored_instant_do_not_keep_its_text():
    stored = StoredInstant.parse("2026-11-23T22:14:05.123Z")
    later = stored + timedelta(days=1)
    earlier = stored.replace(year=2025)
    assert iso(later) == "2026-11-24T22:14:05.123Z" and iso(earlier) == "2025-11-23T22:14:05.123Z"


async def test_a_task_read_back_renders_as_the_task_that_was_stored(store, new_user, new_task):
    owner = await new_user()
    due = datetime(2027, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    task = await new_task(owner, due_date=due, is_deleted=True, deleted_at=due + timedelta(hours=1))
    read = await store.get_task(task.id)
    (listed,), total = await store.find_tasks(TaskQuery(owner=owner.id, deleted=True))
    assert task_json(read) == task_json(listed) == task_json(task) and total == 1
