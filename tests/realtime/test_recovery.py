"""Connection state recovery (REALTIME.md) with the official socket.io-client, over
long-polling and over WebSocket, and by hand with bare frames."""

from __future__ import annotations

import json
import time

import pytest

from tasktrek.http.keys import SERVICES

from .clients import JsClient, PyClient
from .harness import Harness
from .rawws import RawSocket, event_payload

LOGGED = ("task:", "notification:new", "notification:updated")


def logged(frames: list[tuple[str, list]]) -> list[tuple[str, list]]:
    return [(name, args) for name, args in frames if name.startswith(LOGGED)]


async def recovering(js_driver, harness: Harness, user, transports) -> JsClient:
    """A socket.io-client socket that opted into recovery, connected as `user`."""
    client = js_driver.client(harness, transports)
    await client.connect(auth={"token": user.token, "recover": True})
    await client.event("notification:count")
    return client


async def changes_while_away(harness: Harness, owner, task: dict) -> list[tuple[str, str]]:
    """Three changes by the owner; each tells the assignee `task:updated` and `notification:new`."""
    await harness.set_status(owner, task["_id"], "in-progress")
    await harness.update_task(owner, task["_id"], title="renamed while away")
    await harness.set_status(owner, task["_id"], "done")
    return [("task:updated", "in-progress"), ("notification:new", "task_status_changed"),
            ("task:updated", "in-progress"), ("notification:new", "task_updated"),
            ("task:updated", "done"), ("notification:new", "task_status_changed")]


def described(frames: list[tuple[str, list]]) -> list[tuple[str, str]]:
    return [(name, args[0]["status"] if name.startswith("task:") else args[0]["type"]) for name, args in frames]


def assert_offsets_follow(frames: list[tuple[str, list]], after: str | None = None) -> None:
    """Every logged event carries a string offset, increasing, after `after`."""
    offsets = [args[-1] for _, args in frames]
    assert all(len(args) == 2 and isinstance(args[-1], str) for _, args in frames), frames
    numbers = [int(o) for o in ([after] if after else []) + offsets]
    assert numbers == sorted(set(numbers)), offsets


async def assert_recovered_with_what_it_missed(client, sid: str, expected: list, seen: list = ()) -> None:
    """Same session, then exactly the three changes' events it missed, in order, with offsets
    following the last one it had `seen`."""
    assert client.recovered is True and client.sid == sid
    for _ in range(3):
        await client.event("notification:new")
    await client.barrier()
    replayed = logged(client.frames)[len(seen):]
    assert described(replayed) == expected
    assert_offsets_follow(replayed, after=seen[-1][1][-1] if seen else None)


@pytest.fixture(params=[["polling"], ["websocket"]], ids=["polling", "websocket"])
def transports(request):
    return request.param


@pytest.fixture
async def scene(harness):
    owner, assignee = await harness.register("Owner"), await harness.register("Assignee")
    task = await harness.create_task(owner, assignedTo=assignee.id)
    return owner, assignee, task


async def test_missed_events_are_replayed_once_in_order_then_live_ones(harness, js_driver, transports, scene):
    owner, assignee, task = scene
    client = await recovering(js_driver, harness, assignee, transports)
    assert (await client.call("join:task", {"taskId": task["_id"]}))["ok"]
    await harness.set_status(owner, task["_id"], "todo")  # no change: nothing is sent
    await harness.update_task(owner, task["_id"], description="seen before the drop")
    await client.event("notification:new")
    seen = logged(client.frames)
    assert_offsets_follow(seen)
    sid = client.sid

    await client.drop()
    expected = await changes_while_away(harness, owner, task)
    await client.reconnect()

    assert client.recovered is True and client.sid == sid
    await harness.set_status(owner, task["_id"], "todo")  # live, after the recovery
    await client.event("notification:new")
    await client.event("notification:new")
    await client.event("notification:new")
    await client.event("notification:new")
    await client.barrier()
    replayed = logged(client.frames)[len(seen):]
    assert described(replayed) == expected + [("task:updated", "todo"), ("notification:new", "task_status_changed")]
    assert_offsets_follow(replayed, after=seen[-1][1][-1])
    (server_side,) = [c for c in harness.gateway.sessions.clients.values() if c.sid == sid]
    assert harness.gateway.rooms.rooms_of(server_side) == {f"user:{assignee.id}", f"task:{task['_id']}"}


async def test_a_client_that_saw_no_event_gets_everything_it_missed(harness, js_driver, transports, scene):
    owner, assignee, task = scene
    client = await recovering(js_driver, harness, assignee, transports)
    sid = client.sid
    await client.drop()
    expected = await changes_while_away(harness, owner, task)
    await client.reconnect()
    await assert_recovered_with_what_it_missed(client, sid, expected)


async def test_recovery_is_refused_past_the_window(harness, js_driver, scene):
    owner, assignee, task = scene
    client = await recovering(js_driver, harness, assignee, ["websocket"])
    sid = client.sid
    await client.drop()
    await harness.set_status(owner, task["_id"], "done")
    recovery = harness.app[SERVICES].recovery
    recovery.now = lambda: time.time() + recovery.window  # the window has just passed
    await client.reconnect()
    assert client.recovered is False and client.sid != sid
    await client.barrier()
    assert logged(client.frames) == []  # the client reloads through the REST API instead


async def test_recovery_is_refused_with_another_users_token(harness, js_driver, scene):
    owner, assignee, task = scene
    client = await recovering(js_driver, harness, assignee, ["websocket"])
    sid = client.sid
    await client.drop()
    await harness.set_status(owner, task["_id"], "done")
    await client.reconnect(auth={"token": owner.token, "recover": True})
    assert client.recovered is False and client.sid != sid
    await client.barrier()
    assert logged(client.frames) == []


async def test_recovery_is_refused_past_the_most_missed_events(make_harness, js_driver):
    harness = await make_harness(recovery_max_events=5)
    owner, assignee = await harness.register("Owner"), await harness.register("Assignee")
    task = await harness.create_task(owner, assignedTo=assignee.id)
    client = await recovering(js_driver, harness, assignee, ["websocket"])
    await client.drop()
    await changes_while_away(harness, owner, task)  # six events for the assignee
    await client.reconnect()
    assert client.recovered is False
    await client.barrier()
    assert logged(client.frames) == []


async def test_a_client_that_disconnects_on_purpose_is_not_recovered(harness, js_driver, scene):
    _, assignee, _ = scene
    client = await recovering(js_driver, harness, assignee, ["websocket"])
    sid = client.sid
    await client.disconnect()  # sends 41: the session ends
    await client.reconnect()
    assert client.recovered is False and client.sid != sid


async def test_clients_that_do_not_opt_in_see_no_pid_and_no_offsets(harness, session, scene):
    owner, assignee, task = scene
    python = PyClient(harness, ["websocket"])
    await python.connect(assignee.token)
    await python.event("notification:count")
    bare = await RawSocket.open(session, harness.ws_url())
    assert set(await bare.connect(assignee.token)) == {"sid"}
    assert event_payload(await bare.recv())[0] == "notification:count"
    await harness.set_status(owner, task["_id"], "done")
    await python.event("notification:new")
    assert [(name, len(args)) for name, args in python.frames if name.startswith(LOGGED)] == [
        ("task:updated", 1), ("notification:new", 1)
    ]
    frames = [await bare.recv() for _ in range(2)]
    assert [len(json.loads(frame[2:])) for frame in frames] == [2, 2]  # name and payload only
    await python.disconnect()
    await bare.close()


async def test_recovery_with_bare_frames(harness, session, scene):
    """What docs/realtime.md shows: the same mechanism by hand on a plain WebSocket."""
    owner, assignee, task = scene
    first = await RawSocket.open(session, harness.ws_url())
    await first.send("40" + json.dumps({"token": assignee.token, "recover": True}))
    connected = json.loads((await first.recv())[2:])
    assert set(connected) == {"sid", "pid"}
    assert event_payload(await first.recv())[0] == "notification:count"
    await harness.set_status(owner, task["_id"], "in-progress")
    name, payload, offset = json.loads((await first.recv())[2:])
    assert (name, payload["status"]) == ("task:updated", "in-progress") and isinstance(offset, str)
    name, _, offset = json.loads((await first.recv())[2:])  # the last offset seen
    assert name == "notification:new"
    await first.close()

    await harness.set_status(owner, task["_id"], "done")
    second = await RawSocket.open(session, harness.ws_url())
    hello = {"token": assignee.token, "recover": True, "pid": connected["pid"], "offset": offset}
    await second.send("40" + json.dumps(hello))
    assert json.loads((await second.recv())[2:]) == connected  # same sid, same pid
    replayed = [json.loads((await second.recv())[2:]) for _ in range(2)]
    assert [frame[0] for frame in replayed] == ["task:updated", "notification:new"]
    assert replayed[0][1]["status"] == "done"
    assert int(offset) < int(replayed[0][-1]) < int(replayed[1][-1])
    assert event_payload(await second.recv())[0] == "notification:count"
    await second.close()


async def test_an_unknown_pid_starts_a_new_session(harness, session, scene):
    _, assignee, _ = scene
    bare = await RawSocket.open(session, harness.ws_url())
    await bare.send("40" + json.dumps({"token": assignee.token, "recover": True, "pid": "no-such-pid", "offset": "1"}))
    connected = json.loads((await bare.recv())[2:])
    assert set(connected) == {"sid", "pid"} and connected["pid"] != "no-such-pid"
    await bare.close()


async def test_a_zero_window_turns_recovery_off(make_harness, session):
    harness = await make_harness(recovery_window_seconds=0)
    owner, assignee = await harness.register("Owner"), await harness.register("Assignee")
    task = await harness.create_task(owner, assignedTo=assignee.id)
    bare = await RawSocket.open(session, harness.ws_url())
    await bare.send("40" + json.dumps({"token": assignee.token, "recover": True}))
    assert set(json.loads((await bare.recv())[2:])) == {"sid"}  # no pid
    assert event_payload(await bare.recv())[0] == "notification:count"
    await harness.set_status(owner, task["_id"], "done")
    assert len(json.loads((await bare.recv())[2:])) == 2  # no offset
    await bare.close()
