"""A socket lives as long as its token: it is disconnected when the token expires, and may
present a fresh token (`auth:refresh`, acked) to live on without reconnecting."""

from __future__ import annotations

import json
import time

from .rawws import RawSocket
from .test_auth import token_for


async def connected(harness, user, token: str) -> RawSocket:
    sock = await RawSocket.open(harness.session, harness.ws_url())
    await sock.connect(token)
    assert json.loads((await sock.recv())[2:])[0] == "notification:count"
    return sock


async def test_a_socket_is_disconnected_when_its_token_expires(harness):
    alice = await harness.register()
    owner = await harness.register()
    task = await harness.create_task(owner, assignedTo=alice.id)
    expires = time.time() + 1.5
    sock = await connected(harness, alice, token_for(alice.id, exp=expires))
    await sock.send('421["join:task",{"taskId":"%s"}]' % task["_id"])
    assert await sock.recv() == '431[{"ok":true}]'
    frames = []
    while True:  # events until the token expires, then the reason, then the close
        try:
            frames.append(await sock.recv())
        except Exception:
            break
    assert time.time() >= int(expires)
    assert frames[-1] == '44{"message":"token expired"}'
    assert not harness.gateway.rooms.members(f"task:{task['_id']}")


async def test_a_refreshed_token_keeps_the_socket_until_the_new_expiry(harness):
    alice = await harness.register()
    first_expiry = time.time() + 1.5
    sock = await connected(harness, alice, token_for(alice.id, exp=first_expiry))
    second_expiry = int(first_expiry) + 2
    await sock.send('425["auth:refresh",{"token":"%s"}]' % token_for(alice.id, exp=second_expiry))
    reply = json.loads((await sock.recv())[3:])[0]
    assert reply["ok"] is True and reply["expiresAt"].endswith("Z")
    assert await sock.recv(timeout=10) == '44{"message":"token expired"}'
    assert time.time() >= second_expiry  # not at the first expiry


async def test_a_refresh_must_be_a_valid_token_of_the_same_user(harness):
    alice, bob = await harness.register(), await harness.register()
    sock = await connected(harness, alice, alice.token)
    for payload, message in [
        ({"token": bob.token}, "token is for another user"),
        ({"token": "not-a-jwt"}, "invalid token"),
        ({"token": token_for(alice.id, exp=time.time() - 10)}, "invalid token"),
        ({}, "token is required"),
        ("just a string", "token is required"),
    ]:
        await sock.send("427" + json.dumps(["auth:refresh", payload]))
        assert json.loads((await sock.recv())[3:]) == [{"ok": False, "message": message}]
    await sock.send('428["presence:get"]')  # still connected, on its first token
    while not (frame := await sock.recv()).startswith("438"):
        pass
    assert json.loads(frame[3:]) == [{"users": [alice.id]}]


async def test_the_official_client_refreshes_with_an_ack(harness, clients):
    alice = await harness.register()
    client = await clients.new()
    await client.connect(token_for(alice.id, exp=time.time() + 600))
    reply = await client.call("auth:refresh", {"token": alice.token})
    assert reply["ok"] is True
