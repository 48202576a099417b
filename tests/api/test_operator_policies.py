"""Operator policies over HTTP: closed registration, reverse proxies and the login limit."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network

import pytest

from tasktrek import create_app
from tasktrek.http.proxies import forwarded_client
from tests.conftest import Api

LOOPBACK = (ip_network("127.0.0.0/8"), ip_network("::1/128"))


async def test_closed_registration_is_403_and_creates_nobody(settings, aiohttp_client):
    client = await aiohttp_client(create_app(replace(settings, registration="closed")))
    account = {"name": "Eve", "email": "eve@example.com", "password": "12345678"}
    resp = await client.post("/api/users", json=account)
    assert resp.status == 403 and await resp.json() == {"message": "registration is closed"}
    resp = await client.post("/api/users/login", json={"email": account["email"], "password": account["password"]})
    assert resp.status == 401
    document = await (await client.get("/api/openapi.json")).json()
    assert "403" in document["paths"]["/api/users"]["post"]["responses"]  # the answer is documented


async def _fail_logins(api: Api, email: str, times: int, forwarded_for: str | None = None) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    statuses = []
    for _ in range(times):
        resp, _ = await api.call("POST", "/api/users/login", json={"email": email, "password": "wrong password"}, headers=headers)
        statuses.append(resp.status)
    return statuses


async def test_behind_a_trusted_proxy_each_client_has_its_own_login_limit(settings, aiohttp_client):
    api = Api(await aiohttp_client(create_app(replace(settings, trusted_proxies=LOOPBACK))))
    user = await api.register()
    assert await _fail_logins(api, user.email, 10, "203.0.113.5") == [401] * 10
    assert await _fail_logins(api, user.email, 1, "203.0.113.5") == [429]
    # Another client behind the same proxy is not locked out by the first one.
    assert await _fail_logins(api, user.email, 1, "198.51.100.7") == [401]
    # A forged entry left of the proxy's own is not believed: still the first client.
    assert await _fail_logins(api, user.email, 1, "10.9.9.9, 203.0.113.5") == [429]


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(api):
    user = await api.register()
    for n in range(10):  # each claims another address; all are the peer's failures
        assert await _fail_logins(api, user.email, 1, f"203.0.113.{n}") == [401]
    assert await _fail_logins(api, user.email, 1, "198.51.100.99") == [429]


@pytest.mark.parametrize(
    "peer, forwarded_for, trusted, client",
    [
        ("127.0.0.1", ["203.0.113.5"], LOOPBACK, "203.0.113.5"),
        ("127.0.0.1", ["203.0.113.5"], (), "127.0.0.1"),  # no trusted proxies: the peer
        ("192.0.2.1", ["203.0.113.5"], LOOPBACK, "192.0.2.1"),  # peer not trusted
        ("127.0.0.1", ["6.6.6.6, 203.0.113.5, 10.0.0.2"], (*LOOPBACK, ip_network("10.0.0.0/8")), "203.0.113.5"),
        ("127.0.0.1", ["6.6.6.6", "203.0.113.5"], LOOPBACK, "203.0.113.5"),  # several headers = one list
        ("127.0.0.1", ["10.0.0.2, 10.0.0.3"], (*LOOPBACK, ip_network("10.0.0.0/8")), "10.0.0.2"),  # all trusted: the first
        ("127.0.0.1", [], LOOPBACK, "127.0.0.1"),
        ("::ffff:127.0.0.1", ["2001:db8::1"], LOOPBACK, "2001:db8::1"),
        ("::1", [" 203.0.113.5 "], LOOPBACK, "203.0.113.5"),
        (None, ["203.0.113.5"], LOOPBACK, "unknown"),
        ("127.0.0.1", ["not-an-address"], LOOPBACK, "not-an-address"),
    ],
)
def test_forwarded_client(peer, forwarded_for, trusted, client):
    assert forwarded_client(peer, forwarded_for, trusted) == client
