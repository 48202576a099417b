"""Several TaskTrek nodes as separate processes (run.py, own ports), one SQLite file, one
Redis: each is indistinguishable from one server to its clients."""

from __future__ import annotations

import asyncio
import time

TIMEOUT = 10.0


async def until(client, name: str, **wanted):
    """The next `name` event whose payload has the `wanted` values. A socket that connected
    right after a change may still receive that change's event: it is delivered
    asynchronously, after the REST answer."""
    while True:
        payload = await client.event(name)
        if all(payload.get(k) == v for k, v in wanted.items()):
            return payload


async def test_a_change_through_one_node_reaches_sockets_on_every_node_once(cluster):
    a, b, c = await cluster(3)
    owner = await a.register("owner")
    helper = await a.register("helper")
    on_a = await cluster.online(owner, a)
    on_c = await cluster.online(owner, c)
    helper_on_a = await cluster.online(helper, a)
    task = await b.create_task(owner, title="from b", assignedTo=helper.id)
    for client in (on_a, on_c, helper_on_a):
        created = await client.event("task:created")
        assert created["taskId"] == task["_id"] and created["title"] == "from b"
    assert (await helper_on_a.event("notification:new"))["type"] == "task_assigned"
    await c.set_status(helper, task["_id"], "in-progress")  # through a third node
    for client in (on_a, on_c):
        updated = await client.event("task:updated")
        assert updated["status"] == "in-progress" and updated["actor"] == helper.id
    for client in (on_a, on_c, helper_on_a):
        await client.barrier()
        assert client.log.names().count("task:created") == 1
    assert on_a.log.names().count("task:updated") == 1


async def test_the_events_of_one_task_arrive_in_the_order_of_its_changes(cluster):
    a, b = await cluster(2)
    owner = await a.register("owner")
    watcher = await cluster.online(owner, a)
    task = await a.create_task(owner, title="v1")
    await watcher.event("task:created")
    for n in range(2, 12):  # alternate the node each change goes through
        await (a if n % 2 else b).update_task(owner, task["_id"], title=f"v{n}")
    titles = [(await watcher.event("task:updated"))["title"] for _ in range(10)]
    assert titles == [f"v{n}" for n in range(2, 12)]


async def test_presence_spans_the_nodes(cluster):
    a, b = await cluster(2)
    owner = await a.register("owner")
    helper = await a.register("helper")
    task = await a.create_task(owner, assignedTo=helper.id)
    await a.set_status(helper, task["_id"], "in-progress")  # now they are contacts
    owner_on_a = await cluster.online(owner, a)
    helper_on_b = await cluster.online(helper, b)
    assert await owner_on_a.event("presence:online") == {"userId": helper.id}
    assert (await owner_on_a.call("presence:get"))["users"] == sorted([owner.id, helper.id])
    second_tab = await cluster.online(helper, a)  # a second socket, on the other node: no news
    await second_tab.disconnect()
    await helper_on_b.disconnect()
    assert await owner_on_a.event("presence:offline") == {"userId": helper.id}
    assert owner_on_a.log.names().count("presence:online") == 1
    assert (await owner_on_a.call("presence:get"))["users"] == [owner.id]


async def test_logout_through_one_node_disconnects_the_sockets_on_every_node(cluster):
    a, b = await cluster(2)
    user = await a.register("leaver")
    other = await a.register("stayer")
    on_a = await cluster.online(user, a)
    on_b = await cluster.online(user, b)
    stays = await cluster.online(other, a)
    await b.logout(user)
    await on_a.wait_disconnect()
    await on_b.wait_disconnect()
    await stays.barrier()
    assert stays.sio.connected


async def test_unassignment_on_one_node_removes_the_socket_from_the_task_room_on_another(cluster):
    a, b = await cluster(2)
    owner = await a.register("owner")
    helper = await a.register("helper")
    task = await a.create_task(owner, assignedTo=helper.id)
    helper_on_a = await cluster.online(helper, a)
    assert await helper_on_a.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    await b.assign(owner, task["_id"], None)
    assert (await helper_on_a.event("task:assigned"))["assignedTo"] is None
    await b.update_task(owner, task["_id"], title="secret now")  # task room and owner only
    later = await b.create_task(owner, title="marker", assignedTo=helper.id)
    await until(helper_on_a, "task:created", taskId=later["_id"])
    assert "task:updated" not in helper_on_a.log.names()


async def test_a_room_join_on_one_node_introduces_new_contacts_on_the_other(cluster):
    a, b = await cluster(2)
    owner = await a.register("owner")
    helper = await a.register("helper")
    task = await a.create_task(owner, assignedTo=helper.id)  # not contacts yet
    owner_on_a = await cluster.online(owner, a)
    helper_on_b = await cluster.online(helper, b)
    assert (await owner_on_a.call("presence:get"))["users"] == [owner.id]
    assert await helper_on_b.call("join:task", {"taskId": task["_id"]}) == {"ok": True}  # the helper acts
    assert await owner_on_a.event("presence:online") == {"userId": helper.id}
    assert await helper_on_b.event("presence:online") == {"userId": owner.id}


async def test_a_killed_node_has_its_users_offline_within_ttl_plus_grace(cluster):
    ttl, grace = 1.5, 0.3
    a, b = await cluster(2, TASKTREK_NODE_TTL_SECONDS=str(ttl), TASKTREK_PRESENCE_GRACE_SECONDS=str(grace))
    owner = await a.register("owner")
    helper = await a.register("helper")
    task = await a.create_task(owner, assignedTo=helper.id)
    await a.set_status(helper, task["_id"], "in-progress")
    owner_on_b = await cluster.online(owner, b)
    await cluster.online(helper, a)
    assert await owner_on_b.event("presence:online") == {"userId": helper.id}
    a.kill()
    killed = time.monotonic()
    assert await owner_on_b.event("presence:offline", timeout=ttl + grace + TIMEOUT) == {"userId": helper.id}
    assert time.monotonic() - killed <= ttl + grace + 1.0  # one second for scheduling on a busy machine
    await a.wait()
    # the survivor serves on
    await b.set_status(helper, task["_id"], "done")
    await until(owner_on_b, "task:updated", status="done")


async def test_a_node_shut_down_leaves_the_others_serving(cluster):
    a, b = await cluster(2, TASKTREK_PRESENCE_GRACE_SECONDS="0.2")
    owner = await a.register("owner")
    helper = await a.register("helper")
    task = await a.create_task(owner, assignedTo=helper.id)
    await a.set_status(helper, task["_id"], "in-progress")
    owner_on_b = await cluster.online(owner, b)
    helper_on_a = await cluster.online(helper, a)
    assert await owner_on_b.event("presence:online") == {"userId": helper.id}
    assert await a.stop() == 0
    await helper_on_a.wait_disconnect()
    assert await owner_on_b.event("presence:offline") == {"userId": helper.id}  # announced by b
    await b.update_task(owner, task["_id"], title="still here")
    await until(owner_on_b, "task:updated", title="still here")


async def test_cutting_a_nodes_redis_connection_mid_stream_loses_nothing(cluster, redis_proxy, redis_url):
    from .conftest import db_of

    a = await cluster.start("a", redis_proxy.url(db_of(redis_url)))  # a reaches Redis through the proxy
    b = await cluster.start("b")
    owner = await a.register("owner")
    watcher = await cluster.online(owner, a)
    task = await b.create_task(owner, title="t0")
    await until(watcher, "task:created", taskId=task["_id"])
    for n in range(1, 31):
        await b.update_task(owner, task["_id"], title=f"t{n}")
        if n % 10 == 5:
            redis_proxy.cut()  # a's blocking read and its publisher connection break
    titles = [(await watcher.event("task:updated"))["title"] for _ in range(30)]
    assert titles == [f"t{n}" for n in range(1, 31)]
    await watcher.barrier()
    assert len(watcher.received("task:updated")) == 30


async def test_while_redis_is_away_rest_serves_and_delivery_resumes_with_nothing_lost(cluster, redis_proxy, redis_url):
    from .conftest import db_of

    via_proxy = redis_proxy.url(db_of(redis_url))
    a, b = await cluster(2, via_proxy)
    owner = await a.register("owner")
    on_a = await cluster.online(owner, a)
    on_b = await cluster.online(owner, b)
    task = await b.create_task(owner, title="before")
    for client in (on_a, on_b):
        await until(client, "task:created", taskId=task["_id"])
    await redis_proxy.stop()  # Redis unreachable for every node
    status, ready = await a.request("GET", "/readyz")
    assert status == 200 and ready == {"status": "ok", "redis": "unavailable"}
    for n in range(5):
        await (a if n % 2 else b).update_task(owner, task["_id"], title=f"during {n}")  # REST keeps working
    await redis_proxy.start()
    for client in (on_a, on_b):
        titles = [(await client.event("task:updated"))["title"] for _ in range(5)]
        assert titles == [f"during {n}" for n in range(5)]  # both nodes' queues, in the order of the changes
    await b.update_task(owner, task["_id"], title="after")
    for client in (on_a, on_b):
        assert (await client.event("task:updated"))["title"] == "after"
        await client.barrier()
        assert len(client.received("task:updated")) == 6


async def test_the_login_limit_is_shared_by_the_nodes(cluster):
    a, b = await cluster(2)
    user = await a.register("target")
    wrong = {"email": user.email, "password": "not the password"}
    for n in range(10):  # the limit: 10 failures per email and address, half through each node
        status, _ = await (a if n % 2 else b).request("POST", "/api/users/login", json=wrong)
        assert status == 401
    for node in (a, b):
        status, body = await node.request("POST", "/api/users/login", json=wrong)
        assert status == 429, body


async def test_socketio_client_over_polling_through_a_sticky_proxy_in_front_of_two_nodes(cluster, aiohttp_server):
    from tests.realtime.clients import JsDriver

    from .sticky import StickyProxy

    a, b = await cluster(2)
    proxy = StickyProxy({a.name: a.url, b.name: b.url})
    served = await aiohttp_server(proxy.app)

    class ThroughProxy:
        url = str(served.make_url("")).rstrip("/")
        socketio_path = "/socket.io"

    owner = await a.register("owner")
    helper = await a.register("helper")
    task = await a.create_task(owner, assignedTo=helper.id)
    await a.set_status(helper, task["_id"], "in-progress")
    driver = await JsDriver.start()
    try:
        polling = driver.client(ThroughProxy, ["polling"])  # stays on long-polling
        default = driver.client(ThroughProxy, None)  # socket.io-client's defaults: polling, then the upgrade
        await polling.connect(owner.token)
        await default.connect(helper.token)
        assert {node for _, node in proxy.routed} == {a.name, b.name}  # a session on each node, in turn
        assert await polling.transport() == "polling"
        assert await polling.event("presence:online") == {"userId": helper.id}
        await a.update_task(owner, task["_id"], title="through a")
        await b.update_task(owner, task["_id"], title="through b")
        for client in (polling, default):
            await until(client, "task:updated", title="through a")
            assert (await client.event("task:updated"))["title"] == "through b"
        assert (await polling.call("presence:get"))["users"] == sorted([owner.id, helper.id])
        await default.upgraded  # the WebSocket upgrade went to the node of the session
        assert all(node in proxy.upstreams for _, node in proxy.routed)  # every sid named its node
        await b.logout(helper)
        await default.wait_disconnect()
    finally:
        await driver.close()
