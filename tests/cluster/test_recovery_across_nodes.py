"""A node dies with SIGKILL: a client of it that opted into recovery reconnects, through the
load balancer, to a live node and gets every event it missed, once and in order (the log and
the sessions live in the database, which every node shares)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.realtime.clients import JsDriver
from tests.realtime.test_recovery import assert_recovered_with_what_it_missed, changes_while_away, logged

from .sticky import StickyProxy


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]], ids=["polling", "websocket"])
async def test_a_client_of_a_killed_node_recovers_on_a_live_one(cluster, aiohttp_server, transports):
    a, b = await cluster(2)
    proxy = StickyProxy({a.name: a.url, b.name: b.url})  # the first new session goes to a
    served = await aiohttp_server(proxy.app)

    class ThroughProxy:
        url = str(served.make_url("")).rstrip("/")
        socketio_path = "/socket.io"

    owner, assignee = await b.register("Owner"), await b.register("Assignee")
    task = await b.create_task(owner, assignedTo=assignee.id)
    driver = await JsDriver.start()
    try:
        client = driver.client(ThroughProxy, transports)
        await client.connect(auth={"token": assignee.token, "recover": True})
        await client.event("notification:count")
        assert (await client.call("join:task", {"taskId": task["_id"]}))["ok"]
        await b.update_task(owner, task["_id"], description="seen before the crash")  # through the other node
        await client.event("notification:new")
        seen = logged(client.frames)
        sid = client.sid
        assert proxy.opened == [a.name]

        a.kill()
        await a.wait()
        await client.wait_disconnect()
        expected = await changes_while_away(b, owner, task)
        await client.reconnect()  # a new session: the proxy finds a down and takes b

        assert proxy.opened == [a.name, b.name]
        await assert_recovered_with_what_it_missed(client, sid, expected, seen)
        await b.set_status(owner, task["_id"], "todo")  # and live events follow, from the live node
        assert (await client.event("task:updated"))["status"] == "todo"
    finally:
        await driver.close()


async def test_in_cluster_mode_a_session_left_marked_connected_is_recovered_and_starting_leaves_it(tmp_path):
    """The rule behind the test above, on the service: a node that died left its session
    marked connected; the client presenting its pid recovers it. A starting node does not
    mark the other nodes' (live) sessions dropped."""
    from tasktrek.services import Services
    from tasktrek.settings import Settings
    from tasktrek.store import SqliteStore

    store = SqliteStore(tmp_path / "core.db")
    await store.open()
    try:
        settings = Settings(jwt_secret="s" * 40, bcrypt_rounds=4)
        alone = Services.build(store, settings).recovery
        shared = Services.build(store, replace(settings, redis_url="redis://127.0.0.1:6379/11")).recovery
        session = await shared.open("6b0f00000000000000000001", "sid-1")
        await shared.started()
        assert (await store.get_session(session.pid)).disconnected_at is None  # left alone
        assert await alone.recover("6b0f00000000000000000001", session.pid, None) is None  # one process: it is live
        replay = await shared.recover("6b0f00000000000000000001", session.pid, None)
        assert replay is not None and replay.session.sid == "sid-1"
        assert await shared.recover("6b0f00000000000000000002", session.pid, None) is None  # never another user's
    finally:
        await store.close()
