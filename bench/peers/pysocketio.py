"""The python-socketio peer: an AsyncServer on aiohttp doing what the fan-out and idle-socket
workloads ask of TaskTrek, and nothing else.

- connect with auth `{"token": t}` (refused without one; not verified) joins room `user:<t>`;
- `join:task` `{"taskId"}` joins `task:<taskId>` and acks `{"ok": true}`;
- `POST /emit` `{"event", "rooms", "data"}` emits once per socket across the rooms (the HTTP
  trigger standing in for TaskTrek's PATCH) and answers the data back.

    python -m bench.peers.pysocketio --port P
"""

from __future__ import annotations

import argparse
import functools
import json

import socketio
from aiohttp import web

PING_INTERVAL_S = 25  # TaskTrek's defaults
PING_TIMEOUT_S = 20
SHUTDOWN_TIMEOUT_S = 1.0  # nothing to drain: a benchmark peer may stop at once
dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def make_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"], cors_allowed_origins=[],
                               ping_interval=PING_INTERVAL_S, ping_timeout=PING_TIMEOUT_S)

    @sio.event
    async def connect(sid, environ, auth):
        token = (auth or {}).get("token")
        if not token:
            raise socketio.exceptions.ConnectionRefusedError("no token provided")
        await sio.enter_room(sid, f"user:{token}")

    @sio.on("join:task")
    async def join_task(sid, payload):
        await sio.enter_room(sid, f"task:{payload['taskId']}")
        return {"ok": True}

    async def emit(request: web.Request) -> web.Response:
        body = await request.json()
        await sio.emit(body["event"], body["data"], to=body["rooms"])
        return web.json_response(body["data"], dumps=dumps)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, dumps=dumps)

    app = web.Application()
    sio.attach(app)
    app.router.add_post("/emit", emit)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, access_log=None, print=None,
                shutdown_timeout=SHUTDOWN_TIMEOUT_S)


if __name__ == "__main__":
    main()
