"""Every event a real client receives, and every ack it gets, conforms to the AsyncAPI
document the app serves: same names, payloads valid against the documented schemas."""

from __future__ import annotations

import jsonschema
import pytest

from .clients import PyClient


def payload_validators(document: dict) -> dict[str, jsonschema.protocols.Validator]:
    """Message name → a validator of its payload, resolving the document's $refs."""
    validators = {}
    for message in document["components"]["messages"].values():
        if "payload" in message and message["name"] != "ack":
            schema = {**message["payload"], "components": document["components"]}
            validators[message["name"]] = jsonschema.Draft7Validator(schema)
    return validators


@pytest.fixture
async def validators(harness) -> dict:
    _, document = await harness.request("GET", "/api/asyncapi.json", expect=200)
    return payload_validators(document)


def assert_conforms(validators: dict, name: str, payload) -> None:
    errors = [e.message for e in validators[name].iter_errors(payload)]
    assert not errors, (name, payload, errors)


async def test_every_event_received_conforms_to_the_document(harness, validators):
    owner, assignee = await harness.register("Owner"), await harness.register("Assignee")
    clients = []
    for user in (owner, assignee):
        client = PyClient(harness)
        await client.connect(user.token)
        clients.append(client)
    o, a = clients
    try:
        task = await harness.create_task(owner, title="documented", dueDate="2026-12-24")
        assert (await o.call("join:task", {"taskId": task["_id"]})) == {"ok": True}
        await harness.assign(owner, task["_id"], assignee)
        assert (await a.call("join:task", {"taskId": task["_id"]})) == {"ok": True}
        await harness.set_status(assignee, task["_id"], "in-progress")
        await harness.update_task(owner, task["_id"], title="documented, renamed")
        await harness.delete_task(owner, task["_id"])
        await harness.restore_task(owner, task["_id"])
        await o.disconnect()  # the assignee, a contact now, hears of it, and of the return
        await a.event("presence:offline")
        o = PyClient(harness)
        clients.append(o)
        await o.connect(owner.token)
        await a.event("presence:online")
        await harness.assign(owner, task["_id"], None)
        notification = (await harness.notifications(owner))["notifications"][0]
        await harness.mark_read(owner, notification["_id"])
        await o.event("notification:updated")
        await harness.request("PATCH", "/api/notifications/read-all", assignee, expect=200)
        presence = await o.call("presence:get", {"userIds": [assignee.id]})
        refused = await o.call("join:task", {"taskId": "0" * 24})
        assert (await o.call("leave:task", {"taskId": task["_id"]})) == {"ok": True}
        for client in clients[1:]:  # the first has left
            await client.barrier()

        received = [event for client in clients for event in client.log.events]
        names = {name for name, _ in received}
        assert {"task:created", "task:assigned", "task:updated", "task:deleted", "task:restored", "notification:new",
                "notification:updated", "notification:count", "presence:list", "presence:offline", "presence:online"} <= names
        for name, payload in received:
            assert_conforms(validators, name, payload)
        assert_conforms(validators, "presence:list", presence)
        assert refused["ok"] is False and isinstance(refused["message"], str)
    finally:
        for client in clients:
            if client.sio.connected:
                await client.disconnect()
