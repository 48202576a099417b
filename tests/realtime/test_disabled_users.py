"""`tasktrek users disable`, run in another process, closes the user's live sockets."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.ops.conftest import clean_env

from .conftest import SECRET
from .clients import TIMEOUT, ConnectRefused


async def run_cli(*args: str, database: str) -> int:
    env = clean_env(TASKTREK_DATABASE_URL=database, TASKTREK_JWT_SECRET=SECRET)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "tasktrek", *args, env=env)
    return await asyncio.wait_for(process.wait(), TIMEOUT * 3)


async def test_disabling_from_the_command_line_disconnects_every_socket_of_the_user(make_harness, clients, tmp_path):
    # The command runs in another process: the server learns of it by its poll.
    harness = await make_harness(name="admin", disabled_poll_seconds=0.05)
    ann, bob = await harness.register(), await harness.register()
    ann_sockets = [await clients.online(ann, harness), await clients.online(ann, harness)]
    bob_socket = await clients.online(bob, harness)

    assert await run_cli("users", "disable", "--email", ann.email, database=f"sqlite:///{tmp_path}/admin.db") == 0

    for socket in ann_sockets:
        assert await socket.wait_disconnect() in ("io server disconnect", "server disconnect")
    await bob_socket.barrier()  # another user's socket stays connected and served
    again = await clients.new(harness)
    with pytest.raises(ConnectRefused, match="^invalid token$"):
        await again.connect(ann.token)
