"""Connection state recovery (REALTIME.md): the rules of recovering a dropped socket session.

A socket that opts in gets a session: a secret pid, its sid, and the log's newest offset when
it started. The session lives in the store (so it survives a restart and is seen by every
node) with the task rooms it is in and, once it dropped, when. It is recovered when the pid
belongs to the token's user and it dropped less than the window ago, with every logged event
after the client's last offset that would have reached it, oldest first, unless there are
more than `max_events` of them. Its task rooms are kept where the user may still see the task.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import Callable

from ..events import LogEntry, offset_number
from ..store import SessionRecord, Store

log = logging.getLogger(__name__)

PAGE = 500  # log entries read per query while replaying
PRUNE_BATCH = 1000  # rows deleted per statement while pruning
PRUNE_BATCHES = 20  # statements per pruning round: a round stays short however much is due
MIN_LOG_SECONDS = 60.0  # the log is kept at least this long, even with recovery off
PID_BYTES = 18


@dataclass(frozen=True, slots=True)
class Replay:
    """A recovery granted: the session, the events it missed (in order), the task rooms it
    goes back into, and the newest offset of the log when it was read (events up to that one
    have been replayed, or did not concern it)."""

    session: SessionRecord
    missed: tuple[LogEntry, ...]
    rooms: tuple[str, ...]
    through: int


class RecoveryService:
    def __init__(self, store: Store, tasks, *, window_seconds: float, max_events: int,
                 now: Callable[[], float] = time.time, shared: bool = False) -> None:
        self.store = store
        # Cluster mode: several processes hold sessions, and one that dies without a word
        # leaves its sessions marked connected. A client that presents the pid of one has lost
        # that connection (the pid is a secret of the session): it recovers as though the
        # session dropped now. A starting node leaves the others' sessions alone.
        self.shared = shared
        self.tasks = tasks
        self.window = window_seconds
        self.max_events = max_events
        self.now = now  # the wall clock (sessions drop and are recovered on different processes)

    @property
    def enabled(self) -> bool:
        return self.window > 0

    async def open(self, user_id: str, sid: str) -> SessionRecord:
        """A new session for a socket that opted in, stored before the client learns its pid."""
        session = SessionRecord(
            pid=secrets.token_urlsafe(PID_BYTES), sid=sid, user_id=user_id, offset=await self.store.latest_offset()
        )
        await self.store.save_session(session)
        return session

    async def recover(self, user_id: str, pid: object, offset: object) -> Replay | None:
        """The replay for `pid`, or None when it cannot be recovered (another user's, unknown,
        never dropped, dropped too long ago, or too many missed events): nothing tells these
        apart."""
        session = await self.store.get_session(pid) if isinstance(pid, str) and pid else None
        if (
            session is None
            or session.user_id != user_id
            or (session.disconnected_at is None and not self.shared)
            or self.now() - (session.disconnected_at or self.now()) >= self.window
        ):
            return None
        start = max(offset_number(offset), offset_number(session.offset))
        # Every entry after `start` must still be in the log, whatever the window says: the log
        # is pruned by when entries were written, the window counts from when the drop was
        # noticed (up to a heartbeat later, or at the restart after a crash), and a dead node's
        # session has no drop time at all. Offsets are consecutive, so a gap is a pruned (or
        # not yet visible) entry: the session is not recovered, and the client reloads.
        newest = offset_number(await self.store.latest_offset())
        allowed = {task_id for task_id in session.rooms if await self.tasks.can_join_room(user_id, task_id)}
        held = set(session.rooms)
        missed: list[LogEntry] = []
        through, after = start, str(start)
        while True:
            page = await self.store.events_after(after, PAGE)
            for entry in page:
                if offset_number(entry.offset) != through + 1:
                    return None
                through += 1
                if entry.reaches(user_id, held):
                    missed.append(entry)
                    if len(missed) > self.max_events:
                        return None
                if user_id in entry.leaving:
                    held -= set(entry.tasks)
            if page:
                after = page[-1].offset
            if len(page) < PAGE:
                break
        if through < newest:
            return None
        rooms = tuple(task_id for task_id in session.rooms if task_id in held and task_id in allowed)
        return Replay(replace(session, rooms=rooms, disconnected_at=None), tuple(missed), rooms, through)

    async def save(self, session: SessionRecord) -> None:
        await self.store.save_session(session)

    async def dropped(self, session: SessionRecord) -> None:
        """The session's socket dropped in a way a client may recover from."""
        await self.store.save_session(replace(session, disconnected_at=self.now()))

    async def end(self, pid: str) -> None:
        """The session ended for good (the client disconnected, or was disconnected)."""
        await self.store.delete_session(pid)

    async def started(self) -> None:
        """This process starts: sessions left marked connected by a crash dropped now (in
        cluster mode they may be another node's live ones: see `shared`)."""
        if self.shared:
            return
        ended = await self.store.end_open_sessions(self.now())
        if ended:
            log.info("%d real-time sessions were cut by the last stop; they can be recovered", ended)

    async def prune(self) -> int:
        """Delete log entries and sessions older than the window, a bounded amount per call."""
        horizon = self.now() - max(self.window, MIN_LOG_SECONDS)
        removed = 0
        for _ in range(PRUNE_BATCHES):
            count = await self.store.prune_events(horizon, PRUNE_BATCH)
            count += await self.store.prune_sessions(self.now() - self.window, PRUNE_BATCH)
            removed += count
            if count == 0:
                break
        return removed
