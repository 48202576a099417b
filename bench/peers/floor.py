"""The framework floor: bare aiohttp handlers that answer what TaskTrek's REST routes answer.

`GET /api/tasks` returns the captured TaskTrek list page, `POST /api/tasks` reads the JSON
body and returns the captured created task (201), `PUT /api/tasks/{id}` reads the JSON body
and returns the captured updated task: same bytes, encoded per request with the same
json.dumps settings, but no auth, validation or database. Under `/precomputed` the lower
floor still: the same list page (`GET`) and updated task (`PUT`, body read, not parsed) as
bytes encoded once at start-up, so no JSON work at all per request.

    python -m bench.peers.floor --port P --bodies captured.json
"""

from __future__ import annotations

import argparse
import functools
import json

from aiohttp import web

SHUTDOWN_TIMEOUT_S = 1.0  # nothing to drain: a benchmark peer may stop at once
PRECOMPUTED_PREFIX = "/precomputed"
dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def make_app(list_page: dict, created_task: dict, updated_task: dict) -> web.Application:
    list_bytes = dumps(list_page).encode()
    updated_bytes = dumps(updated_task).encode()

    async def list_tasks(request: web.Request) -> web.Response:
        return web.json_response(list_page, dumps=dumps)

    async def list_tasks_precomputed(request: web.Request) -> web.Response:
        return web.Response(body=list_bytes, content_type="application/json", charset="utf-8")

    async def create_task(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response(created_task, status=201, dumps=dumps)

    async def update_task(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response(updated_task, dumps=dumps)

    async def update_task_precomputed(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=updated_bytes, content_type="application/json", charset="utf-8")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, dumps=dumps)

    app = web.Application()
    app.router.add_get("/api/tasks", list_tasks)
    app.router.add_get(PRECOMPUTED_PREFIX + "/api/tasks", list_tasks_precomputed)
    app.router.add_post("/api/tasks", create_task)
    app.router.add_put("/api/tasks/{id}", update_task)
    app.router.add_put(PRECOMPUTED_PREFIX + "/api/tasks/{id}", update_task_precomputed)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", required=True, help='JSON file {"list": ..., "created": ..., "updated": ...}')
    args = parser.parse_args()
    with open(args.bodies) as f:
        bodies = json.load(f)
    web.run_app(make_app(bodies["list"], bodies["created"], bodies["updated"]), host="127.0.0.1", port=args.port,
                access_log=None, print=None,
                shutdown_timeout=SHUTDOWN_TIMEOUT_S)


if __name__ == "__main__":
    main()
