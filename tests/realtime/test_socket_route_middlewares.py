"""What the app's middleware chain does for `/socket.io/` too (tasktrek.http.middlewares): the
WebSocket handler stays inside it for the connection's life (docs/performance.md says what
that costs and why it stays), and these answers must not change if it ever moves out."""

from __future__ import annotations

import aiohttp
import pytest

from tasktrek.http.keys import SETTINGS

APP, EVIL = "https://app.example", "https://evil.example"


async def test_socket_route_answers_keep_the_request_id_the_body_limit_and_cors(make_harness, session):
    harness = await make_harness(cors_origins=(APP,))
    # A request id on every answer that is not a WebSocket, chosen by the client or made up.
    async with session.get(harness.polling_url("EIO=3&transport=polling"), headers={"X-Request-Id": "r-1"}) as resp:
        assert (resp.status, resp.headers["X-Request-Id"]) == (400, "r-1")
    async with session.get(harness.ws_url("EIO=4&transport=websocket&sid=nope")) as resp:
        assert resp.status == 400 and len(resp.headers["X-Request-Id"]) == 16
    # A declared body over the app's limit is refused before the gateway even looks up the
    # session (which would answer 400 "Session ID unknown").
    too_large = b"x" * (harness.app[SETTINGS].max_body_bytes + 1)
    async with session.post(harness.polling_url("EIO=4&transport=polling&sid=nope"), data=too_large) as resp:
        assert resp.status == 413 and resp.content_type == "application/json"
    # CORS: an unlisted origin's preflight and WebSocket are refused, a listed one's allowed.
    preflight = {"Origin": EVIL, "Access-Control-Request-Method": "GET"}
    async with session.options(harness.polling_url(), headers=preflight) as resp:
        assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(harness.ws_url(), headers={"Origin": EVIL})
    assert refused.value.status == 403
    ws = await session.ws_connect(harness.ws_url(), headers={"Origin": APP})
    assert (await ws.receive_str()).startswith("0{")
    await ws.close()
