"""Connecting with the official clients: where the token may come from, and every refusal."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from tasktrek.domain import new_id
from tasktrek.http.keys import SERVICES, STORE

from .conftest import SECRET
from .clients import ConnectRefused
from .harness import Pause
from .rawws import RawSocket


def token_for(user_id: str, *, iat: float | None = None, exp: float | None = None) -> str:
    now = time.time()
    claims = {"id": user_id, "sub": user_id, "iat": iat if iat is not None else now,
              "exp": int(exp if exp is not None else now + 3600)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def test_token_in_connect_payload(harness, clients):
    alice = await harness.register("Alice")
    client = await clients.new()
    await client.connect(alice.token)
    assert client.sid
    assert await client.event("notification:count") == {"unread": 0}
    assert await client.call("presence:get") == {"users": [alice.id]}


async def test_token_in_authorization_header(harness, clients):
    alice = await harness.register()
    client = await clients.new()
    await client.connect(headers={"Authorization": f"Bearer {alice.token}"})
    assert await client.call("presence:get") == {"users": [alice.id]}


async def test_token_in_query(harness, clients):
    alice = await harness.register()
    client = await clients.new()
    await client.connect(query={"token": alice.token})
    assert await client.call("presence:get") == {"users": [alice.id]}


async def test_payload_token_wins_over_header(harness, clients):
    alice = await harness.register()
    client = await clients.new()
    with pytest.raises(ConnectRefused, match="^invalid token$"):
        await client.connect("not-a-jwt", headers={"Authorization": f"Bearer {alice.token}"})


async def test_no_token(harness, clients):
    client = await clients.new()
    with pytest.raises(ConnectRefused, match="^no token provided$"):
        await client.connect()


@pytest.mark.parametrize("kind", ["garbage", "bad signature", "expired", "unknown user", "no exp"])
async def test_bad_tokens(harness, clients, kind):
    alice = await harness.register()
    token = {
        "garbage": "not.a.jwt",
        "bad signature": jwt.encode({"sub": alice.id, "iat": time.time(), "exp": int(time.time()) + 60}, "y" * 40, algorithm="HS256"),
        "expired": token_for(alice.id, iat=time.time() - 7200, exp=time.time() - 3600),
        "unknown user": token_for(new_id()),
        "no exp": jwt.encode({"sub": alice.id, "iat": time.time()}, SECRET, algorithm="HS256"),
    }[kind]
    client = await clients.new()
    with pytest.raises(ConnectRefused, match="^invalid token$"):
        await client.connect(token)


async def test_revoked_token(harness, clients):
    alice = await harness.register()
    old = alice.token
    await harness.logout(alice)
    client = await clients.new()
    with pytest.raises(ConnectRefused, match="^invalid token$"):
        await client.connect(old)


async def test_a_logout_while_the_token_is_checked_refuses_the_connect(harness, clients):
    """The server has found the token good; before the socket is in its user room (where a
    logout looks for sockets to disconnect) the user logs out. The connect is refused."""
    alice = await harness.register()
    pause = Pause(harness.app[SERVICES].users, "authenticate_until")
    client = await clients.new()
    connecting = asyncio.create_task(client.connect(alice.token))
    await pause.wait()
    await harness.logout(alice)
    pause.release()
    with pytest.raises(ConnectRefused, match="^invalid token$"):
        await connecting
    await harness.settled()
    assert harness.gateway.stats()["connected"] == 0


async def test_database_down_while_connecting(harness, session):
    alice = await harness.register()
    await harness.app[STORE].close()  # every query now fails with StoreUnavailable
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.send('40{"token":"%s"}' % alice.token)
    assert await sock.recv() == '44{"message":"database unavailable"}'


async def test_refused_connection_is_closed_and_leaves_nothing(harness, clients):
    client = await clients.new()
    with pytest.raises(ConnectRefused):
        await client.connect("nope")
    await harness.settled()
    stats = harness.gateway.stats()
    assert stats["connected"] == 0 and stats["rooms"] == 0
