"""/api/tasks: create, list, read, update, status, assign, delete, restore.

Bodies and queries arrive parsed (`routes.ROUTES` names their schemas)."""

from aiohttp import web

from ..records import Task
from ..services import TaskFilter
from ..views import task_json
from .io import json_response
from .keys import BODY, QUERY, SERVICES, USER

_FILTER_NAMES = {"assignedTo": "assigned_to", "dueBefore": "due_before", "dueAfter": "due_after"}


def one_task(task: Task, status: int = 200) -> web.Response:
    return json_response(task_json(task), status, headers={"ETag": f'"{task.version}"'})


def if_match(request: web.Request) -> str | None:
    return request.headers.get("If-Match")


async def create(request: web.Request) -> web.Response:
    body = request[BODY]
    return one_task(await request.app[SERVICES].tasks.create(request[USER], body), status=201)


async def list_tasks(request: web.Request) -> web.Response:
    query = request[QUERY]
    wanted = TaskFilter(**{_FILTER_NAMES.get(k, k): v for k, v in query.items()})
    page = await request.app[SERVICES].tasks.page(request[USER], wanted)
    tasks = [task_json(t) for t in page.pop("tasks")]
    return json_response({**page, "results": len(tasks), "tasks": tasks})


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
