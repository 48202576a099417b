"""Reads kept between requests, each dropped exactly when a change may alter it: list pages
per user (`PageCache`), and user records (`UserRecords`).

A user's list page (`GET /api/tasks`, any filter) can only change when a task the user could
see before or can see after changes: every such change writes a log entry naming that user
(`LogEntry.users`: owner and assignee, before and after, so also whoever lost the task) in
the same transaction (`Store.apply`), with consecutive offsets in commit order. The cache
reads the log itself, so it hears of changes made by this process, by another node of a
cluster and by any other process on the same database alike, with no delay:

- before answering from the cache, it asks the store for the log's newest offset (a store
  that can tell it at once: SQLite's `latest_offset_now`); if entries were written since the
  last look, it drops the pages of every user they name (a gap or a long run of entries drops
  everything). It reads those entries from the log unless it heard every one of them
  published in this process (`heard`: the entries this process wrote; another node's or
  process's are read from the log), which spares a read after a local write the trip to
  the database;
- a page read from the database is kept only if no entry was taken in while it was being
  read (`epoch`), so a page read before a change is never kept after that change was taken in.

Every request is answered from a page that reflects every change committed before it
arrived.

User records (the token's user, loaded by every authenticated request to check revocation and
disabling) are kept while no user record was changed since they were read: a trigger counts
every change to the users table in the change's own transaction, whichever process makes it
(this one, another node, `tasktrek users disable`). A logout or a disable is such a change,
so the very next request loads the record again and is refused; the checks themselves still
run on every request. (Task writes leave the count alone: under writes the records stay.)
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Hashable

from ..errors import StoreUnavailable
from ..events import LogEntry, offset_number
from ..records import Task, User

MAX_PAGES = 2048  # about 12 MB of pages with their rendered bodies; the least recently used go first
MAX_USERS = 4096  # user records kept; the least recently used go first
MAX_CATCH_UP = 1000  # more entries than this since the last look: drop everything instead of reading them


@dataclass(slots=True)
class TaskPage:
    """One page of a user's task list and the total of matches. Shared by every request
    the cache answers with it: never changed, except `rendered`, where the HTTP layer keeps
    its rendering of the page (the same for every request) so that a page is rendered once."""

    page: int
    limit: int
    total: int
    tasks: tuple[Task, ...]
    rendered: Any = None


class PageCache:
    def __init__(self, store, *, max_pages: int = MAX_PAGES, max_catch_up: int = MAX_CATCH_UP) -> None:
        """`store` must have `latest_offset_now()` (see `supported`)."""
        self.store = store
        self.max_pages = max_pages
        self.max_catch_up = max_catch_up
        self._pages: OrderedDict[tuple[str, Hashable], TaskPage] = OrderedDict()
        self._keys_by_user: dict[str, set[tuple[str, Hashable]]] = {}
        self._seen: int | None = None  # every log entry up to this offset has been taken in
        self._heard: dict[int, tuple[str, ...]] = {}  # users named by entries published here, by offset
        self.epoch = 0  # grows whenever entries are taken in (pages may have been dropped)
        # One reader takes new entries in at a time; readers that arrive meanwhile wait and
        # find them taken in (64 readers reading the same entries each cost ~20 µs an entry).
        self._taking_in = asyncio.Lock()

    @staticmethod
    def supported(store) -> bool:
        return callable(getattr(store, "latest_offset_now", None))

    def __len__(self) -> int:
        return len(self._pages)

    async def caught_up(self) -> int | None:
        """Take in every log entry written so far; return the epoch to keep a page read from
        now on with (`put`), or None when the log cannot be read now (then use no page)."""
        try:
            newest = self.store.latest_offset_now()
        except StoreUnavailable:
            return None
        if self._seen is None or newest < self._seen:  # first look, or another database
            self._drop_all()
            self._heard.clear()
            self._seen = newest
        elif newest > self._seen:
            async with self._taking_in:
                if newest > self._seen:  # not taken in by whoever held the lock before
                    try:
                        await self._take_in(newest)
                    except StoreUnavailable:
                        return None
        return self.epoch

    async def heard(self, item: object) -> None:
        """An EventPublisher subscriber: note whom each committed log entry names."""
        if isinstance(item, LogEntry) and (number := offset_number(item.offset)) > (self._seen or 0):
            self._heard[number] = item.users
            if len(self._heard) > self.max_catch_up:  # nobody reads: keep the newest only
                del self._heard[next(iter(self._heard))]

    async def _take_in(self, newest: int) -> None:
        start = self._seen
        if newest - start > self.max_catch_up:
            self._drop_all()
        else:
            named = self._heard_between(start, newest)
            if named is None:
                named = await self._read_between(start, newest)
            if named is None:  # pruned or otherwise missing: whatever they said, drop everything
                self._drop_all()
            else:
                for users in named:
                    for user in users:
                        self._drop_user(user)
        for number in [number for number in self._heard if number <= newest]:
            del self._heard[number]
        self.epoch += 1
        self._seen = newest

    def _heard_between(self, start: int, newest: int) -> list[tuple[str, ...]] | None:
        """Whom the entries after `start` up to `newest` name, if all were heard; else None."""
        named = [self._heard.get(number) for number in range(start + 1, newest + 1)]
        return None if None in named else named

    async def _read_between(self, start: int, newest: int) -> list[tuple[str, ...]] | None:
        """The same, read from the log; None when any is missing from it."""
        entries = await self.store.events_after(str(start), newest - start)
        if [offset_number(entry.offset) for entry in entries] != list(range(start + 1, newest + 1)):
            return None
        return [entry.users for entry in entries]

    def get(self, user_id: str, key: Hashable) -> TaskPage | None:
        """The kept page; only valid right after `caught_up` (no await in between)."""
        page = self._pages.get((user_id, key))
        if page is not None:
            self._pages.move_to_end((user_id, key))
        return page

    def put(self, user_id: str, key: Hashable, page: TaskPage, epoch: int) -> None:
        """Keep `page`, read from the database after `caught_up` returned `epoch`, unless
        entries were taken in since (they may postdate what was read)."""
        if epoch != self.epoch:
            return
        full_key = (user_id, key)
        self._pages[full_key] = page
        self._keys_by_user.setdefault(user_id, set()).add(full_key)
        while len(self._pages) > self.max_pages:
            (old_user, old_key), _ = self._pages.popitem(last=False)
            keys = self._keys_by_user[old_user]
            keys.discard((old_user, old_key))
            if not keys:
                del self._keys_by_user[old_user]

    def _drop_user(self, user_id: str) -> None:
        for key in self._keys_by_user.pop(user_id, ()):
            del self._pages[key]

    def _drop_all(self) -> None:
        self._pages.clear()
        self._keys_by_user.clear()


class UserRecords:
    """User records by id, each valid while the store's count of user changes is the one read
    before it was loaded. Needs a store with `users_version_now()` (see `supported`)."""

    def __init__(self, store, *, max_users: int = MAX_USERS) -> None:
        self.store = store
        self.max_users = max_users
        self._users: OrderedDict[str, tuple[int, User]] = OrderedDict()

    @staticmethod
    def supported(store) -> bool:
        return callable(getattr(store, "users_version_now", None))

    def __len__(self) -> int:
        return len(self._users)

    async def get(self, user_id: str) -> User | None:
        """The user's record as the store has it now (None: no such user)."""
        try:
            version = self.store.users_version_now()
        except StoreUnavailable:
            return await self.store.get_user(user_id)  # the slow path says what is wrong
        kept = self._users.get(user_id)
        if kept is not None and kept[0] == version:
            self._users.move_to_end(user_id)
            return kept[1]
        user = await self.store.get_user(user_id)
        if user is None:
            self._users.pop(user_id, None)
        else:
            self._users[user_id] = (version, user)
            self._users.move_to_end(user_id)
            if len(self._users) > self.max_users:
                self._users.popitem(last=False)
        return user
