"""Limits that keep a storm of logins or sign-ups from exhausting the CPU: per address
across emails, per address on registration, and the bcrypt work queue's fast 429."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest

from tasktrek import create_app
from tasktrek.http.keys import SERVICES
from tests.conftest import Api


@pytest.fixture
async def limited(aiohttp_client, settings):
    async def make(**limits) -> tuple[Api, object]:
        app = create_app(replace(settings, **limits))
        return Api(await aiohttp_client(app)), app

    return make


async def test_failed_logins_for_many_emails_from_one_address_are_limited(limited):
    api, _ = await limited(login_max_failures_per_address=5)
    user = await api.register()
    for i in range(5):
        resp, _ = await api.call("POST", "/api/users/login", json={"email": f"nobody{i}@example.com", "password": "x" * 8})
        assert resp.status == 401
    for email in ("another@example.com", user.email):  # a new email, and even a real one, from that address
        resp, body = await api.call("POST", "/api/users/login", json={"email": email, "password": "correct horse"})
        assert resp.status == 429 and body == {"message": "too many failed logins, try again later"}
        assert 1 <= int(resp.headers["Retry-After"]) <= 15 * 60 + 1


async def test_a_successful_login_does_not_clear_the_address_count(limited):
    api, _ = await limited(login_max_failures_per_address=3)
    user = await api.register()
    for i in range(2):
        await api.call("POST", "/api/users/login", json={"email": f"nobody{i}@example.com", "password": "x" * 8})
    resp, _ = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "correct horse"})
    assert resp.status == 200
    await api.call("POST", "/api/users/login", json={"email": "nobody9@example.com", "password": "x" * 8})
    resp, _ = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "correct horse"})
    assert resp.status == 429


async def test_registrations_per_address_are_limited(limited):
    api, _ = await limited(registrations_per_address=3)
    for _ in range(3):
        await api.register()
    resp, body = await api.call("POST", "/api/users", json={"name": "n", "email": "late@example.com", "password": "correct horse"})
    assert resp.status == 429 and body == {"message": "too many sign-ups from this address, try again later"}
    assert int(resp.headers["Retry-After"]) >= 1
    resp, _ = await api.call("POST", "/api/users/login", json={"email": "late@example.com", "password": "correct horse"})
    assert resp.status == 401  # nothing was created


async def test_a_full_bcrypt_queue_answers_429_at_once(limited):
    api, app = await limited(bcrypt_workers=1, bcrypt_max_waiting=0)
    user = await api.register()
    passwords = app[SERVICES].users.passwords
    release = threading.Event()
    busy = asyncio.create_task(passwords.run("someone else", release.wait, 10))  # holds the only worker
    while not passwords.stats()["running"]:
        await asyncio.sleep(0)
    try:
        async with asyncio.timeout(2):  # answered without waiting for the worker
            resp, body = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "correct horse"})
        assert resp.status == 429 and body == {"message": "too many logins in progress, try again later"}
        assert int(resp.headers["Retry-After"]) >= 1
    finally:
        release.set()
        await busy
    resp, _ = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "correct horse"})
    assert resp.status == 200
