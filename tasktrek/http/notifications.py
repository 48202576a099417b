"""/api/notifications: list, mark read/unread, mark all read."""

from aiohttp import web

from ..views import notification_json
from .io import json_response
from .keys import QUERY, SERVICES, USER


async def list_notifications(request: web.Request) -> web.Response:
    query = request[QUERY]
    page = await request.app[SERVICES].notifications.page(
        request[USER].id, page=query["page"], limit=query["limit"], unread_only=query["unread"]
    )
    items = [notification_json(n) for n in page.pop("notifications")]
    return json_response({**page, "results": len(items), "notifications": items})


async def mark_read(request: web.Request) -> web.Response:
    return await _mark(request, read=True)


async def mark_unread(request: web.Request) -> web.Response:
    return await _mark(request, read=False)


async def _mark(request: web.Request, *, read: bool) -> web.Response:
    notifications = request.app[SERVICES].notifications
    notification = await notifications.mark(request[USER].id, request.match_info["id"], read=read)
    return json_response(notification_json(notification))


async def read_all(request: web.Request) -> web.Response:
    modified = await request.app[SERVICES].notifications.mark_all_read(request[USER].id)
    return json_response({"success": True, "modified": modified})
