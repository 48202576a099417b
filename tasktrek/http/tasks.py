"""/api/tasks: create, list, read, update, status, assign, delete, restore.

Bodies and queries arrive parsed (`routes.ROUTES` names their schemas)."""

import hashlib

from aiohttp import hdrs, web

from ..records import Task
from ..services import TaskFilter
from ..services.reads import TaskPage
from ..views import task_json
from .io import encoded_json_response, json_response, json_text
from .keys import BODY, QUERY, SERVICES, USER

_FILTER_NAMES = {"assignedTo": "assigned_to", "dueBefore": "due_before", "dueAfter": "due_after"}


def one_task(task: Task, status: int = 200) -> web.Response:
    return json_response(task_json(task), status, headers={"ETag": f'"{task.version}"'})


def if_match(request: web.Request) -> str | None:
    return request.headers.get("If-Match")


async def create(request: web.Request) -> web.Response:
    body = request[BODY]
    return one_task(await request.app[SERVICES].tasks.create(request[USER], body), status=201)


def rendered_page(page: TaskPage) -> tuple[bytes, str]:
    """A list page's body and its ETag: a digest of the body, so that it changes exactly
    when the body does."""
    tasks = [task_json(t) for t in page.tasks]
    body = json_text({"page": page.page, "limit": page.limit, "total": page.total, "results": len(tasks),
                      "tasks": tasks}).encode()
    return body, f'"{hashlib.blake2b(body, digest_size=8).hexdigest()}"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """False when If-None-Match names `etag` (weak comparison, RFC 9110 13.1.2) or is *."""
    if if_none_match is None:
        return True
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" not in tags and etag not in tags


async def list_tasks(request: web.Request) -> web.Response:
    query = request[QUERY]
    wanted = TaskFilter(**{_FILTER_NAMES.get(k, k): v for k, v in query.items()})
    page = await request.app[SERVICES].tasks.page(request[USER], wanted)
    if page.rendered is None:  # a page the cache keeps is rendered by its first request only
        page.rendered = rendered_page(page)
    body, etag = page.rendered
    if not none_match(request.headers.get(hdrs.IF_NONE_MATCH), etag):
        return web.Response(status=304, headers={"ETag": etag})
    return encoded_json_response(body, headers={"ETag": etag})


async def get(request: web.Request) -> web.Response:
    return one_task(await request.app[SERVICES].tasks.get(request[USER], request.match_info["id"]))


async def update(request: web.Request) -> web.Response:
    body = request[BODY]
    tasks = request.app[SERVICES].tasks
    return one_task(await tasks.update(request[USER], request.match_info["id"], body, if_match(request)))


async def set_status(request: web.Request) -> web.Response:
    body = request[BODY]
    tasks = request.app[SERVICES].tasks
    return one_task(await tasks.set_status(request[USER], request.match_info["id"], body["status"], if_match(request)))


async def assign(request: web.Request) -> web.Response:
    body = request[BODY]
    return one_task(await request.app[SERVICES].tasks.assign(request[USER], request.match_info["id"], body["assignedTo"]))


async def delete(request: web.Request) -> web.Response:
    task = await request.app[SERVICES].tasks.delete(request[USER], request.match_info["id"])
    return json_response({"id": task.id})


async def restore(request: web.Request) -> web.Response:
    return one_task(await request.app[SERVICES].tasks.restore(request[USER], request.match_info["id"]))
