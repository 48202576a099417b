"""Connection state recovery across a server killed with SIGKILL and started again on the same
database: sessions and the log live in the store, not in the process."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import aiohttp
import pytest

from tasktrek import create_app
from tasktrek.http.keys import SERVICES, STORE
from tasktrek.store import SessionRecord, SqliteStore
from tests.cluster.nodes import SECRET, NodeProcess

from .conftest import make_settings
from .test_recovery import assert_recovered_with_what_it_missed, changes_while_away, logged, recovering


class ServerProcess(NodeProcess):
    """One TaskTrek process (run.py) without cluster mode: ready once it serves."""

    async def _read_log(self, ready: asyncio.Future) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.log.append(text)
            if "serving on" in text and not ready.done():
                ready.set_result(None)
        if not ready.done():
            ready.set_exception(AssertionError("server exited: " + "\n".join(self.log[-20:])))


@pytest.fixture
async def server(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKTREK_", "PORT", "MONGO_URI", "JWT_SECRET"))}
    env.update(
        TASKTREK_DATABASE_URL=f"sqlite:///{tmp_path / 'restart.db'}",
        TASKTREK_JWT_SECRET=SECRET,
        TASKTREK_BCRYPT_ROUNDS="4",
        TASKTREK_PRESENCE_GRACE_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    async with aiohttp.ClientSession() as session:
        process = ServerProcess("server", env, session)
        await process.start()
        yield process
        if process.proc.returncode is None:
            await process.stop()


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]], ids=["polling", "websocket"])
async def test_recovery_across_a_sigkill_restart(server, js_driver, transports):
    owner, assignee = await server.register("Owner"), await server.register("Assignee")
    task = await server.create_task(owner, assignedTo=assignee.id)
    client = await recovering(js_driver, server, assignee, transports)
    assert (await client.call("join:task", {"taskId": task["_id"]}))["ok"]
    await server.set_status(owner, task["_id"], "todo")  # no change
    await server.update_task(owner, task["_id"], description="seen before the crash")
    await client.event("notification:new")
    seen = logged(client.frames)
    sid = client.sid

    server.kill()
    await server.wait()
    await client.wait_disconnect()
    await server.start()  # same port, same database
    expected = await changes_while_away(server, owner, task)
    await client.reconnect()

    await assert_recovered_with_what_it_missed(client, sid, expected, seen)


async def test_sessions_cut_by_a_crash_are_marked_dropped_once_a_late_database_answers(tmp_path, aiohttp_client):
    """A database that does not answer at start-up: the sessions the crash left marked
    connected are marked dropped (so recoverable, and pruned in time) when it comes back."""
    path = tmp_path / "late.db"
    store = SqliteStore(path)
    await store.open()
    await store.save_session(SessionRecord(pid="p1", sid="s1", user_id="u1", offset="0"))  # cut by a crash
    await store.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the database: it does not answer

    app = create_app(make_settings(tmp_path, "late"))
    ended = asyncio.Event()
    recovery = app[SERVICES].recovery
    real_started = recovery.started

    async def started() -> None:
        await real_started()
        ended.set()

    recovery.started = started
    client = await aiohttp_client(app)
    assert (await client.get("/readyz")).status == 503
    holder.rollback()
    holder.close()
    await asyncio.wait_for(ended.wait(), 30)  # the first retry comes after a second
    assert (await app[STORE].get_session("p1")).disconnected_at is not None
