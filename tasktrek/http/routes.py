"""Every HTTP route, declared once.

`ROUTES` is the one table: method, path, handler, the schemas of the body and query that the
route accepts, the schema of each answer, and whether it needs a token. It drives the router
(`setup_routes`), authentication (each authenticated route checks the bearer token before
its handler runs, so there is no whitelist to keep in step, and a path that matches no route
is a plain 404) and the OpenAPI document (`tasktrek.http.openapi`).

To add a public page or a folder of static files, add a `Route(..., public=True,
documented=False)` or a `Static(prefix, files)` entry: a route that is not in the table would
need no token either, so every route belongs here (the real-time endpoint, which
authenticates its own connections, is the one exception: `tasktrek.realtime`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Mapping

from aiohttp import web
from marshmallow import Schema

from . import board, docs, health, notifications, tasks, users
from . import responses as out
from . import schemas as inp
from .auth import authenticate
from .io import ParsedQueries, load_body
from .keys import BODY, DOCUMENTS, QUERY, USER
from .openapi import Documents

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: a follow-up operation and where its parameters come from."""

    operation_id: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    request_body: object = None


@dataclass(frozen=True)
class Route:
    """One operation. `public`: no token needed. `documented`: part of the OpenAPI document
    (pages and the documents themselves are not)."""

    method: str
    path: str
    handler: Handler
    operation_id: str = ""
    summary: str = ""
    # Status → schema of the body (None: no body). Error statuses that follow from the
    # route's shape (400, 401, 404, 413, 503) are added by `statuses`.
    responses: Mapping[int, type[Schema] | None] = field(default_factory=dict)
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    public: bool = False
    documented: bool = True
    tag: str = ""
    if_match: bool = False  # honours If-Match (412 when stale)
    etag: bool = False  # the answer carries ETag: "<version>"
    # The answer carries ETag: a digest of its body, and If-None-Match naming it gets 304.
    not_modified: bool = False
    links: Mapping[str, Link] = field(default_factory=dict)  # on the success answer
    touches_store: bool = True

    def statuses(self) -> dict[int, type[Schema] | None]:
        """Every status this route may answer, with its body schema."""
        found = dict(self.responses)
        if self.not_modified:
            found[304] = None
        errors = []
        if self.body or self.query:
            errors.append(400)
        if not self.public:
            errors.append(401)
        if "{id}" in self.path:
            errors.append(404)
        if self.if_match:
            errors.append(412)
        if self.body:
            errors += [408, 413, 415]  # body too slow, too large, in an encoding not accepted
        if self.touches_store:
            errors.append(503)
        return found | {status: out.ErrorSchema for status in errors if status not in found}


@dataclass(frozen=True)
class Static:
    """Files served without a token at `prefix` + their name. `files()` lists them (name →
    path) when the app is built: a request's name is looked up there and never reaches the
    file system. `respond` makes the answer for a path (headers, content type)."""

    prefix: str
    files: Callable[[], Mapping[str, Path]]
    respond: Callable[[Path], web.StreamResponse] = web.FileResponse

    def handler(self) -> Handler:
        files = dict(self.files())
        respond = self.respond

        async def serve(request: web.Request) -> web.StreamResponse:
            found = files.get(request.match_info["name"])
            if found is None:
                raise web.HTTPNotFound()
            return respond(found)

        return serve


def _task_links(*, restore: bool = False) -> dict[str, Link]:
    """What can follow an answer about one task: read it, change it, assign it, delete it."""
    this = {"id": "$response.body#/_id"}
    links = {
        "GetTask": Link("getTask", this),
        "UpdateTask": Link("updateTask", this),
        "SetTaskStatus": Link("setTaskStatus", this),
        "AssignTask": Link("assignTask", this, {"assignedTo": "$response.body#/user"}),
        "DeleteTask": Link("deleteTask", this),
    }
    if restore:
        links["RestoreTask"] = Link("restoreTask", this)
    return links


def _notification_links(pointer: str) -> dict[str, Link]:
    this = {"id": f"$response.body#{pointer}"}
    return {"MarkRead": Link("markNotificationRead", this), "MarkUnread": Link("markNotificationUnread", this)}


_ONE_TASK = dict(responses={200: out.TaskSchema}, etag=True, links=_task_links())
# A change of a task: 403 when not allowed (or the task is in the trash), 409 when it keeps
# changing under concurrent writers.
_CHANGED_TASK = {200: out.TaskSchema, 403: out.ErrorSchema, 409: out.ErrorSchema}
_TASKS = dict(tag="tasks")
_NOTIFICATIONS = dict(tag="notifications")
_USERS = dict(tag="users")

ROUTES: tuple[Route | Static, ...] = (
    # Users
    Route("POST", "/api/users", users.register, "register", "Register a user",
          {201: out.SessionSchema, 403: out.ErrorSchema, 409: out.ErrorSchema, 429: out.ErrorSchema},
          body=inp.RegisterSchema, public=True,
          links={"LogIn": Link("login", request_body={"email": "$request.body#/email", "password": "$request.body#/password"})},
          **_USERS),
    Route("POST", "/api/users/login", users.login, "login", "Log in", {200: out.SessionSchema, 401: out.ErrorSchema, 429: out.ErrorSchema},
          body=inp.LoginSchema, public=True, **_USERS),
    Route("GET", "/api/users/me", users.me, "getMe", "The caller's profile", {200: out.UserSchema}, **_USERS),
    Route("GET", "/api/users/lookup", users.lookup, "lookupUser", "Find a user by exact email",
          {200: out.UserSummarySchema, 404: out.ErrorSchema}, query=inp.LookupSchema, **_USERS),
    Route("POST", "/api/users/logout", users.logout, "logout", "Revoke every token issued to the caller until now", {204: None}, **_USERS),
    # Tasks
    Route("POST", "/api/tasks", tasks.create, "createTask", "Create a task", {201: out.TaskSchema, 400: out.ErrorSchema, 403: out.ErrorSchema},
          body=inp.TaskCreateSchema, etag=True, links=_task_links(), **_TASKS),
    Route("GET", "/api/tasks", tasks.list_tasks, "listTasks", "List visible tasks", {200: out.TaskPageSchema},
          query=inp.TaskListSchema, not_modified=True, links={"GetTask": Link("getTask", {"id": "$response.body#/tasks/0/_id"})}, **_TASKS),
    Route("GET", "/api/tasks/{id}", tasks.get, "getTask", "Read a task", **_ONE_TASK, **_TASKS),
    Route("PUT", "/api/tasks/{id}", tasks.update, "updateTask", "Change a task's fields", _CHANGED_TASK,
          body=inp.TaskUpdateSchema, if_match=True, etag=True, links=_task_links(), **_TASKS),
    Route("DELETE", "/api/tasks/{id}", tasks.delete, "deleteTask", "Move a task to the trash", _CHANGED_TASK | {200: out.DeletedSchema},
          links={"RestoreTask": Link("restoreTask", {"id": "$request.path.id"}), "GetTask": Link("getTask", {"id": "$request.path.id"})},
          **_TASKS),
    Route("PATCH", "/api/tasks/{id}/status", tasks.set_status, "setTaskStatus", "Change a task's status", _CHANGED_TASK,
          body=inp.StatusSchema, if_match=True, etag=True, links=_task_links(), **_TASKS),
    Route("PATCH", "/api/tasks/{id}/assign", tasks.assign, "assignTask", "Assign or unassign a task", _CHANGED_TASK | {400: out.ErrorSchema},
          body=inp.AssignSchema, etag=True, links=_task_links(), **_TASKS),
    Route("PATCH", "/api/tasks/{id}/restore", tasks.restore, "restoreTask", "Take a task out of the trash", _CHANGED_TASK,
          etag=True, links=_task_links(), **_TASKS),
    # Notifications
    Route("GET", "/api/notifications", notifications.list_notifications, "listNotifications", "List the caller's notifications, newest first",
          {200: out.NotificationPageSchema}, query=inp.NotificationListSchema, links=_notification_links("/notifications/0/_id"),
          **_NOTIFICATIONS),
    Route("PATCH", "/api/notifications/read-all", notifications.read_all, "readAllNotifications", "Mark every notification read",
          {200: out.ReadAllSchema}, **_NOTIFICATIONS),
    Route("PATCH", "/api/notifications/{id}/read", notifications.mark_read, "markNotificationRead", "Mark a notification read",
          {200: out.NotificationSchema}, links=_notification_links("/_id"), **_NOTIFICATIONS),
    Route("PATCH", "/api/notifications/{id}/unread", notifications.mark_unread, "markNotificationUnread", "Mark a notification unread",
          {200: out.NotificationSchema}, links=_notification_links("/_id"), **_NOTIFICATIONS),
    # Health
    Route("GET", "/healthz", health.healthz, "healthz", "Liveness", {200: out.HealthSchema}, public=True, touches_store=False, tag="health"),
    Route("GET", "/readyz", health.readyz, "readyz", "Readiness: the database answers", {200: out.ReadySchema}, public=True, tag="health"),
    # Discovery
    Route("GET", docs.OPENAPI_PATH, docs.openapi_json, public=True, documented=False),
    Route("GET", docs.ASYNCAPI_PATH, docs.asyncapi_json, public=True, documented=False),
    Route("GET", docs.DOCS_PATH, docs.docs_page, public=True, documented=False),
    Static(docs.ASSETS_PATH, docs.swagger_ui_files),
    # The web board
    Route("GET", "/", board.page, public=True, documented=False),
    Static(board.ASSETS_PATH, board.board_files, board.file_response),
)


def operations(table=ROUTES) -> list[Route]:
    return [r for r in table if isinstance(r, Route) and r.documented]


def setup_routes(app: web.Application, table=ROUTES) -> None:
    app[DOCUMENTS] = Documents(operations(table))
    for entry in table:
        if isinstance(entry, Static):
            app.router.add_get(entry.prefix + "{name:.+}", entry.handler())
        else:
            app.router.add_route(entry.method, entry.path, _endpoint(entry))


def _endpoint(route: Route) -> Handler:
    """The route's handler behind its checks: the token (unless public), then the query
    and the body, parsed with the route's schemas into `request[QUERY]`, `request[BODY]`."""
    queries = ParsedQueries(route.query()) if route.query else None
    body_schema = route.body() if route.body else None
    handler = route.handler

    async def endpoint(request: web.Request) -> web.StreamResponse:
        if not route.public:
            request[USER] = await authenticate(request)
        if queries is not None:
            request[QUERY] = queries.load(request)
        if body_schema is not None:
            request[BODY] = await load_body(request, body_schema)
        return await handler(request)

    endpoint.__name__ = endpoint.__qualname__ = route.handler.__name__
    return endpoint

