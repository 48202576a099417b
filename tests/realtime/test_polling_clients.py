"""The official clients over long-polling: socket.io-client with its default options (polling
first, then the upgrade to WebSocket) and python-socketio with transports=["polling"] (which
stays on polling). Same events, rooms and presence as over WebSocket."""

from __future__ import annotations

import asyncio

from .clients import ConnectRefused, JsDriver, PyClient
from .harness import TIMEOUT


def task_payload(task: dict, actor) -> dict:
    return {**task, "taskId": task["_id"], "actor": actor.id}


async def test_default_js_client_starts_on_polling_and_upgrades(harness, js_driver):
    owner, assignee = await harness.register("Owner"), await harness.register("Assignee")
    task = await harness.create_task(owner, assignedTo=assignee.id)
    client = js_driver.client(harness, transports=None)  # io(url, {auth: {token}}): nothing else
    await client.connect(owner.token)
    assert await client.opened == "polling"  # the first transport
    assert await client.event("notification:count") == {"unread": 0}
    assert await client.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    updated = await harness.update_task(owner, task["_id"], title="over REST")
    assert await client.event("task:updated") == task_payload(updated, owner)
    # ... and it upgrades, unchanged for the layers above.
    assert await asyncio.wait_for(client.upgraded, TIMEOUT) == "websocket"
    assert await client.transport() == "websocket"
    engine = next(c.engine for c in harness.gateway.rooms.members(f"task:{task['_id']}"))
    assert engine.transport_name == "websocket"
    moved = await harness.set_status(assignee, task["_id"], "done")
    assert await client.event("task:updated") == task_payload(moved, assignee)
    assert await client.call("presence:get") == {"users": [owner.id]}
    await client.disconnect()
    await asyncio.wait_for(harness.gateway.until_no_sockets(), TIMEOUT)
    assert harness.gateway.stats()["polling_sessions"] == 0


async def test_python_client_on_polling_only_end_to_end(harness):
    owner, assignee = await harness.register("Owner"), await harness.register("Assignee")
    task = await harness.create_task(owner, assignedTo=assignee.id)
    client = PyClient(harness, transports=["polling"])
    await client.connect(owner.token)
    assert await client.transport() == "polling"
    assert await client.event("notification:count") == {"unread": 0}
    engine = harness.engine(client.engine_sid)
    assert engine.transport_name == "polling"

    # acks
    assert await client.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    assert await client.call("join:task", {"taskId": "nope"}) == {"ok": False, "message": "task not found or not yours"}
    assert await client.call("presence:get") == {"users": [owner.id]}
    assert await client.event("presence:list") == {"users": [owner.id]}
    # server events: to the task room and to the user room
    updated = await harness.set_status(assignee, task["_id"], "in-progress")
    assert await client.event("task:updated") == task_payload(updated, assignee)
    mine = await harness.create_task(owner, title="mine")
    assert await client.event("task:created") == task_payload(mine, owner)
    notification = await client.event("notification:new")  # the assignee changed the owner's task
    assert notification == (await harness.notifications(owner))["notifications"][0]
    assert notification["data"]["taskId"] == task["_id"]
    # a burst of client events in flight at once: batched into POST bodies, all answered
    replies = await asyncio.gather(*(client.call("presence:get") for _ in range(50)))
    assert replies == [{"users": [owner.id]}] * 50
    # an event without an ack, then a barrier
    await client.emit("leave:task", {"taskId": task["_id"]})
    await client.barrier()
    assert harness.gateway.rooms.members(f"task:{task['_id']}") == set()

    assert await client.transport() == "polling"  # it never left polling
    assert engine.transport_name == "polling"
    await client.disconnect()
    await asyncio.wait_for(harness.gateway.until_no_sockets(), TIMEOUT)
    await harness.settled()
    stats = harness.gateway.stats()
    assert (stats["polling_sessions"], stats["connected"], stats["rooms"]) == (0, 0, 0), stats


async def test_python_client_with_default_transports_upgrades(harness):
    user = await harness.register()
    client = PyClient(harness, transports=None)  # python-socketio's default: polling, then upgrade
    await client.connect(user.token)
    assert await client.transport() == "websocket"
    engine = harness.engine(client.engine_sid)
    assert (type(engine).__name__, engine.transport_name) == ("PollingEngineSocket", "websocket")
    assert await client.event("notification:count") == {"unread": 0}
    assert await client.call("presence:get") == {"users": [user.id]}
    await client.disconnect()
    await asyncio.wait_for(harness.gateway.until_no_sockets(), TIMEOUT)


async def test_refused_connect_over_polling(polling_clients):
    client = await polling_clients.new()
    try:
        await client.connect("not a token")
    except ConnectRefused as refused:
        assert refused.args[0] == "invalid token"
    else:
        raise AssertionError("connected with a bad token")


async def test_presence_and_rooms_across_transports(harness, polling_clients, clients):
    """A polling client and a WebSocket client see each other exactly as two WebSocket ones."""
    alice, bob = await harness.register("Alice"), await harness.register("Bob")
    task = await harness.create_task(alice, assignedTo=bob.id)
    await harness.make_contacts(alice, bob)  # contacts, still once `task` is deleted
    a = await clients.online(alice)  # over WebSocket
    b = await polling_clients.online(bob)  # over polling (and maybe upgraded)
    assert await a.event("presence:online") == {"userId": bob.id}
    assert await b.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    assert await a.call("join:task", {"taskId": task["_id"]}) == {"ok": True}
    await harness.delete_task(alice, task["_id"])
    deleted = await harness.get_task(alice, task["_id"])
    for client in (a, b):
        assert await client.event("task:deleted") == task_payload(deleted, alice)
    await b.disconnect()
    assert await a.event("presence:offline") == {"userId": bob.id}


async def test_logout_disconnects_a_polling_client(harness, polling_clients):
    user = await harness.register()
    client = await polling_clients.online(user)
    await harness.logout(user)
    expected = "io server disconnect" if polling_clients.library == "js" else "server disconnect"
    assert await client.wait_disconnect() == expected
    await asyncio.wait_for(harness.gateway.until_no_sockets(), TIMEOUT)


async def test_mounted_under_a_prefix_over_polling(make_harness, polling_clients):
    harness = await make_harness(prefix="/tasktrek", name="mounted")
    user = await harness.register()
    client = await polling_clients.online(user, harness)
    assert await client.call("presence:get") == {"users": [user.id]}


async def test_burst_across_the_upgrade_arrives_exactly_once(harness):
    """socket.io-client upgrades while the server emits: every event arrives once, in order.

    The client's upgrade request is held until a first batch went over polling; then a batch
    is emitted per round trip to the client until it reports the WebSocket, and a few more."""
    user = await harness.register()
    gateway = harness.gateway
    loop = asyncio.get_running_loop()
    upgrade_requested = loop.create_future()
    release = asyncio.Event()
    serve_websocket = gateway._transports["websocket"]

    async def held(request, cors):
        if "sid" in request.query:
            if not upgrade_requested.done():
                upgrade_requested.set_result(None)
            await release.wait()
        return await serve_websocket(request, cors)

    gateway._transports["websocket"] = held
    driver = await JsDriver.start()
    try:
        client = driver.client(harness, transports=None)
        await client.connect(user.token)
        await asyncio.wait_for(upgrade_requested, TIMEOUT)
        room = [f"user:{user.id}"]
        sent = 0

        def batch(size: int = 10) -> None:
            nonlocal sent
            for _ in range(size):
                assert gateway.emit("bulk", {"n": sent}, rooms=room) == 1
                sent += 1

        batch()
        for _ in range(10):
            await client.event("bulk")  # the first batch arrived over polling
        assert await client.transport() == "polling"
        release.set()
        before_upgrade = 0
        while await client.transport() != "websocket":
            batch()
            before_upgrade += 1
            assert before_upgrade < 1000, "the client never upgraded"
        for _ in range(3):
            batch()
            await client.transport()
        for _ in range(sent - 10):
            await client.event("bulk")
        await client.barrier()
        assert [p["n"] for p in client.received("bulk")] == list(range(sent))
        assert await client.upgraded == "websocket"
    finally:
        gateway._transports["websocket"] = serve_websocket
        await driver.close()
