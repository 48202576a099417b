"""Marshmallow schemas of every response body and real-time payload.

They describe what `tasktrek.views` renders: the OpenAPI and AsyncAPI documents are generated
from them, and the fuzz tests hold every answer of the server to them. (Rendering itself stays
in views.py, plain dict work on the hot path.)
"""

from __future__ import annotations

from marshmallow import fields, validate

from ..domain import PRIORITIES, STATUSES
from ..services.notifications import MESSAGES
from .schemas import ObjectIdField, StrictSchema


def _an_id(**kwargs) -> ObjectIdField:
    return ObjectIdField(required=True, **kwargs)


def _instant(**kwargs) -> fields.DateTime:
    """ISO 8601 UTC with milliseconds and Z."""
    return fields.DateTime(required=True, **kwargs)


class ErrorSchema(StrictSchema):
    message = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Present on validation errors: the problems of each field or parameter."},
    )


class UserSchema(StrictSchema):
    _id = _an_id()
    name = fields.String(required=True)
    email = fields.String(required=True)
    createdAt = _instant()


class UserSummarySchema(StrictSchema):
    _id = _an_id()
    name = fields.String(required=True)
    email = fields.String(required=True)


class SessionSchema(UserSummarySchema):
    token = fields.String(required=True, metadata={"description": "A bearer token (JWT) for this user."})


class TaskSchema(StrictSchema):
    _id = _an_id()
    user = _an_id(metadata={"description": "The owner's id."})
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    dueDate = _instant(allow_none=True)
    assignedTo = _an_id(allow_none=True)
    isDeleted = fields.Boolean(required=True)
    deletedAt = _instant(allow_none=True)
    createdAt = _instant()
    updatedAt = _instant()
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class PageSchema(StrictSchema):
    page = fields.Integer(required=True, validate=validate.Range(min=1))
    limit = fields.Integer(required=True, validate=validate.Range(min=1, max=100))
    total = fields.Integer(required=True, validate=validate.Range(min=0))
    results = fields.Integer(required=True, validate=validate.Range(min=0), metadata={"description": "How many items this page holds."})


class TaskPageSchema(PageSchema):
    tasks = fields.List(fields.Nested(TaskSchema), required=True)


class DeletedSchema(StrictSchema):
    id = _an_id(metadata={"description": "The deleted task's id."})


class ActorSchema(StrictSchema):
    _id = _an_id()
    name = fields.String(required=True)


class NotificationDataSchema(StrictSchema):
    taskId = _an_id()
    title = fields.String(required=True)
    actor = fields.Nested(ActorSchema, required=True)


class NotificationSchema(StrictSchema):
    _id = _an_id()
    user = _an_id(metadata={"description": "The recipient's id."})
    type = fields.String(required=True, validate=validate.OneOf(tuple(MESSAGES)))
    message = fields.String(required=True)
    data = fields.Nested(NotificationDataSchema, required=True)
    read = fields.Boolean(required=True)
    createdAt = _instant()


class NotificationPageSchema(PageSchema):
    unread = fields.Integer(required=True, validate=validate.Range(min=0), metadata={"description": "The caller's unread count."})
    notifications = fields.List(fields.Nested(NotificationSchema), required=True)


class ReadAllSchema(StrictSchema):
    success = fields.Boolean(required=True, validate=validate.Equal(True))
    modified = fields.Integer(required=True, validate=validate.Range(min=0))


class HealthSchema(StrictSchema):
    status = fields.String(required=True, validate=validate.Equal("ok"))


class ReadySchema(HealthSchema):
    redis = fields.String(validate=validate.OneOf(["ok", "unavailable"]), metadata={
        "description": "Cluster mode only: whether Redis answers (the node serves the API either way)."})


# --- Real-time payloads (the AsyncAPI document) ------------------------------------------


class TaskEventSchema(TaskSchema):
    taskId = _an_id(metadata={"description": "The task's id (same as _id)."})
    actor = _an_id(metadata={"description": "The user who made the change."})


class TaskAssignedEventSchema(TaskEventSchema):
    assignedBy = _an_id()
    previousAssignee = _an_id(allow_none=True)


class UnreadCountSchema(StrictSchema):
    unread = fields.Integer(required=True, validate=validate.Range(min=0))


class PresenceSchema(StrictSchema):
    userId = _an_id()


class PresenceListSchema(StrictSchema):
    users = fields.List(ObjectIdField(), required=True, metadata={"description": "Online users among the caller and the caller's contacts."})


class TaskRoomSchema(StrictSchema):
    taskId = _an_id()


class PresenceQuerySchema(StrictSchema):
    userIds = fields.List(ObjectIdField(), metadata={"description": "Only these users (default: the caller and all contacts)."})


class AckSchema(StrictSchema):
    ok = fields.Boolean(required=True)
    message = fields.String(metadata={"description": "Why not, when ok is false."})
