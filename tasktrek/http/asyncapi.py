"""The AsyncAPI 3 document of the real-time endpoint: its events, their payloads and rooms.

Payloads come from the marshmallow schemas in `responses.py`, converted by the same apispec
converter as the OpenAPI document: a task event is the REST API's task, plus its extras.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from .. import __version__, events
from ..realtime import announcer, session
from . import responses as out

DESCRIPTION = """TaskTrek's real-time endpoint speaks the Socket.IO v5 protocol over Engine.IO v4
(long-polling and WebSocket): connect with socket.io-client 4.x or python-socketio 5.x, the
token in the CONNECT packet's auth (`{"token": "<jwt>"}`), an `Authorization: Bearer` header or
a `token` query parameter. Each event is a Socket.IO event whose name is the message's `name`
and whose first argument is the payload. A client that connects with `"recover": true` gets
every `task:*` and `notification:*` event with one more argument, its offset, and gets the
events it missed when it reconnects within the recovery window (see docs/realtime.md)."""


@dataclass(frozen=True)
class Event:
    name: str
    key: str  # the message's id in the document
    payload: type[Schema] | None
    summary: str
    channels: tuple[str, ...]  # channel ids: where a server event is delivered / where a client sends
    reply: type[Schema] | None = None  # the ack, for client events


SERVER_EVENTS = (
    Event(events.TASK_CREATED, "taskCreated", out.TaskEventSchema, "A task was created.", ("user",)),
    Event(events.TASK_UPDATED, "taskUpdated", out.TaskEventSchema, "A task's fields or status changed.", ("task", "user")),
    Event(events.TASK_ASSIGNED, "taskAssigned", out.TaskAssignedEventSchema, "A task's assignee was set, changed or removed.", ("task", "user")),
    Event(events.TASK_DELETED, "taskDeleted", out.TaskEventSchema, "A task was moved to the trash.", ("task", "user")),
    Event(events.TASK_RESTORED, "taskRestored", out.TaskEventSchema, "A task was restored.", ("user",)),
    Event(events.NOTIFICATION_NEW, "notificationNew", out.NotificationSchema, "A notification was stored for the user.", ("user",)),
    Event(events.NOTIFICATION_UPDATED, "notificationUpdated", out.NotificationSchema, "A notification was marked read or unread.", ("user",)),
    Event(session.NOTIFICATION_COUNT, "notificationCount", out.UnreadCountSchema, "The unread count, right after connecting (and after read-all).", ("socket", "user")),
    Event(announcer.PRESENCE_ONLINE, "presenceOnline", out.PresenceSchema, "A contact's first socket connected.", ("user",)),
    Event(announcer.PRESENCE_OFFLINE, "presenceOffline", out.PresenceSchema, "A contact's last socket is gone (after a grace period).", ("user",)),
    Event(session.PRESENCE_LIST, "presenceList", out.PresenceListSchema, "The answer to presence:get.", ("socket",)),
)
CLIENT_EVENTS = (
    Event(session.JOIN_TASK, "joinTask", out.TaskRoomSchema, "Join a task's room (owner or assignee only).", ("socket",), reply=out.AckSchema),
    Event(session.LEAVE_TASK, "leaveTask", out.TaskRoomSchema, "Leave a task's room.", ("socket",), reply=out.AckSchema),
    Event(session.PRESENCE_GET, "presenceGet", out.PresenceQuerySchema, "Ask who is online; answered with presence:list.", ("socket",), reply=out.PresenceListSchema),
)

CHANNELS = {
    "user": {
        "address": "user:{userId}",
        "title": "A user's room",
        "description": "Every socket of one user joins it on connect.",
        "parameters": {"userId": {"description": "The user's id (24 hex digits)."}},
    },
    "task": {
        "address": "task:{taskId}",
        "title": "A task's room",
        "description": "Joined on request (join:task) by the task's owner or assignee while they may see it; left when they lose access.",
        "parameters": {"taskId": {"description": "The task's id (24 hex digits)."}},
    },
    "socket": {
        "address": None,
        "title": "One socket",
        "description": "Events between one client and the server, outside any room.",
    },
}


def asyncapi_document(schemas: dict, host: str, pathname: str, *, secure: bool) -> dict:
    """The document; `schemas` are the JSON schemas of every payload by name (see
    `payload_schemas`), the server is at `host` + `pathname`."""
    channels = {key: {**channel, "messages": {}} for key, channel in CHANNELS.items()}
    messages, operations = {}, {}
    for event in SERVER_EVENTS + CLIENT_EVENTS:
        messages[event.key] = _message(event)
        for channel in event.channels:
            channels[channel]["messages"][event.key] = {"$ref": f"#/components/messages/{event.key}"}
    for event in SERVER_EVENTS:  # an operation has one channel: one per room it reaches
        for channel in event.channels:
            operations[f"send_{event.key}_to_{channel}"] = _operation("send", event, channel)
    for event in CLIENT_EVENTS:
        operation = _operation("receive", event, "socket")
        if event.reply is not None:
            messages[event.key + "Ack"] = {"name": "ack", "title": f"Ack of {event.name}", "payload": _ref(event.reply)}
            channels["socket"]["messages"][event.key + "Ack"] = {"$ref": f"#/components/messages/{event.key}Ack"}
            operation["reply"] = {
                "channel": {"$ref": "#/channels/socket"},
                "messages": [{"$ref": f"#/channels/socket/messages/{event.key}Ack"}],
            }
        operations[f"receive_{event.key}"] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "TaskTrek real-time", "version": __version__, "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {
            "tasktrek": {
                "host": host,
                "pathname": pathname,
                "protocol": "wss" if secure else "ws",
                "description": "Socket.IO v5 over Engine.IO v4; HTTP long-polling at the same path upgrades to WebSocket.",
                "security": [{"$ref": "#/components/securitySchemes/bearer"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The token from register or login, in the CONNECT packet's auth {token}, the Authorization header or a token query parameter.",
                }
            },
        },
    }


def payload_schemas() -> list[type[Schema]]:
    events = SERVER_EVENTS + CLIENT_EVENTS
    return list(dict.fromkeys([e.payload for e in events if e.payload] + [e.reply for e in events if e.reply]))


def schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def _ref(schema: type[Schema]) -> dict:
    return {"$ref": f"#/components/schemas/{schema_name(schema)}"}


def _message(event: Event) -> dict:
    message = {"name": event.name, "title": event.name, "summary": event.summary}
    if event.payload is not None:
        message["payload"] = _ref(event.payload)
    return message


def _operation(action: str, event: Event, channel: str) -> dict:
    return {
        "action": action,
        "title": event.name,
        "summary": event.summary,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{event.key}"}],
    }
