"""Request bodies an attacker controls: content encodings, bombs, slow and vanishing senders.
Each is answered with the contract's JSON error, and nothing is logged above INFO."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import zlib
from dataclasses import replace

import pytest

from tasktrek import create_app

BODY_ROUTES = [
    ("POST", "/api/users"),
    ("POST", "/api/users/login"),
    ("POST", "/api/tasks"),
    ("PUT", "/api/tasks/{id}"),
    ("PATCH", "/api/tasks/{id}/status"),
    ("PATCH", "/api/tasks/{id}/assign"),
]


async def arriving_late(data: bytes):
    """A body whose bytes reach the server after the request head (as curl sends one)."""
    await asyncio.sleep(0)
    yield data


@pytest.fixture
async def route_target(api):
    user = await api.register()
    task = await api.create_task(user)
    return user, task["_id"]


@pytest.mark.parametrize("method, path", BODY_ROUTES)
@pytest.mark.parametrize(
    "encoding, data",
    [("deflate", b"x"), ("deflate", b"\x78\x9c garbage"), ("gzip", b"\x1f\x8b\x08\x00 not gzip"),
     ("gzip", gzip.compress(b'{"title": "cut short"}')[:-6]), ("gzip", gzip.compress(b"{}") + b"trailing")],
    ids=["deflate-1-byte", "deflate-garbage", "gzip-garbage", "gzip-truncated", "gzip-trailing-data"],
)
@pytest.mark.parametrize("late", [False, True], ids=["one-packet", "body-later"])
async def test_a_malformed_compressed_body_is_400(api, route_target, logs, method, path, encoding, data, late):
    user, task_id = route_target
    body = arriving_late(data) if late else data
    resp, answer = await api.call(method, path.format(id=task_id), user, data=body,
                                  headers={"Content-Type": "application/json", "Content-Encoding": encoding})
    assert resp.status == 400 and answer["message"].startswith("malformed request body")
    assert logs.at_least(logging.WARNING) == []


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br", "identity, gzip"])
async def test_an_unsupported_content_encoding_is_415(api, logs, encoding):
    resp, answer = await api.call("POST", "/api/users/login", data=b"\x28\xb5\x2f\xfd whatever",
                                  headers={"Content-Type": "application/json", "Content-Encoding": encoding})
    assert resp.status == 415
    assert answer == {"message": "unsupported Content-Encoding: use gzip, deflate or none"}
    assert logs.at_least(logging.WARNING) == []


@pytest.mark.parametrize("encoding, compress", [("gzip", gzip.compress), ("deflate", zlib.compress),
                                                ("deflate", lambda d: zlib.compress(d)[2:-4])],
                         ids=["gzip", "deflate", "raw-deflate"])
async def test_a_compressed_body_is_read(api, encoding, compress):
    user = await api.register()
    data = compress(json.dumps({"title": "compressed"}).encode())
    resp, task = await api.call("POST", "/api/tasks", user, data=data,
                                headers={"Content-Type": "application/json", "Content-Encoding": encoding})
    assert resp.status == 201 and task["title"] == "compressed"


async def test_a_compression_bomb_is_413_without_inflating_it(api):
    user = await api.register()
    bomb = gzip.compress(b'{"title": "' + b" " * (64 * 1024 * 1024))  # 64 MiB in ~64 KiB
    assert len(bomb) < 1024 * 1024
    resp, answer = await api.call("POST", "/api/tasks", user, data=bomb,
                                  headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert resp.status == 413 and answer == {"message": "request body too large"}


async def test_a_body_must_arrive_within_the_deadline(aiohttp_client, settings, logs):
    client = await aiohttp_client(create_app(replace(settings, body_timeout_seconds=0.2)))
    never = asyncio.Event()

    async def trickle():
        yield b'{"name": "slow",'
        await never.wait()

    async with asyncio.timeout(5):
        resp = await client.post("/api/users", data=trickle(), headers={"Content-Type": "application/json"})
        assert resp.status == 408
        assert await resp.json() == {"message": "request body not received in time"}
        assert resp.headers["Connection"] == "close"
    assert logs.at_least(logging.WARNING) == []


async def test_a_client_leaving_mid_body_is_logged_at_debug_only(served, logs):
    reader, writer = await asyncio.open_connection(served.host, served.port)
    writer.write(b"POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
    assert (await reader.readline()).startswith(b"HTTP/1.1 100")  # the route took the request
    writer.write(b'{"name":')
    await writer.drain()
    writer.close()
    await logs.wait_for(lambda r: "client went away" in r.getMessage())
    assert logs.at_least(logging.WARNING) == [] and logs.tracebacks == []


@pytest.mark.parametrize("encoding, compress", [("", lambda d: d), ("gzip", gzip.compress)], ids=["plain", "gzip"])
@pytest.mark.parametrize("size", [10, 9_000, 2 * 1024 * 1024], ids=["small", "large", "too-large"])
async def test_a_body_reads_alike_at_once_or_trickled(api, encoding, compress, size):
    """The fast path (the whole body arrived with the headers) against the slow one (it
    arrives in pieces): the same task, or the same 413, either way."""
    user = await api.register()
    data = compress(json.dumps({"title": "same", "description": "d" * size}).encode())
    headers = {"Content-Type": "application/json", **({"Content-Encoding": encoding} if encoding else {})}

    async def trickled():
        for start in range(0, len(data), 4096):
            yield data[start:start + 4096]
            await asyncio.sleep(0)

    answers = []
    for body in (data, trickled()):
        resp, answer = await api.call("POST", "/api/tasks", user, data=body, headers=headers)
        answers.append((resp.status, answer if resp.status != 201 else (answer["title"], len(answer["description"]))))
    assert answers[0] == answers[1]
    assert answers[0] == ((201, ("same", size)) if size < 1024 * 1024 else (413, {"message": "request body too large"}))
