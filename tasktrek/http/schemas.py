"""Marshmallow schemas: the shape and validity of every request body and query string.

They parse and validate only; what a valid request may do is decided by the services.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

from ..domain import PRIORITIES, STATUSES, TASK_SORT_FIELDS, is_id, to_ms

from ..services.users import MAX_PASSWORD_BYTES as BCRYPT_MAX_PASSWORD_BYTES


class Trimmed(fields.String):
    """A string with surrounding white space removed before length checks."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class LowerEmail(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs).lower()


class ObjectIdField(fields.String):
    default_error_messages = {"invalid_id": "Not a valid id."}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not is_id(value):
            raise self.make_error("invalid_id")
        return value


class DueDate(fields.Field):
    """An ISO 8601 date (midnight UTC) or date-time (naive means UTC), stored in UTC ms."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 date or date-time."}

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = parse_iso_instant(value)
        if parsed is None:
            raise self.make_error("invalid")
        return parsed[0]


def parse_iso_instant(value) -> tuple[datetime, bool] | None:
    """(instant in UTC, whether only a date was given), or None when not ISO 8601."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), timezone.utc), True
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return to_ms(parsed), False
    except (ValueError, OverflowError):  # OverflowError: an offset pushing past year 1 or 9999
        return None


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class RegisterSchema(StrictSchema):
    name = Trimmed(required=True, validate=validate.Length(min=1, max=100))
    email = LowerEmail(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True)

    @validates("password")
    def _password_length(self, value: str, **_kwargs) -> None:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size < 8:
            raise ValidationError("Must be at least 8 characters.")
        if size > BCRYPT_MAX_PASSWORD_BYTES:
            raise ValidationError(f"Must be at most {BCRYPT_MAX_PASSWORD_BYTES} bytes in UTF-8.")


class LoginSchema(StrictSchema):
    # Any string: a malformed address simply does not match (same answer as a wrong one).
    email = fields.String(required=True, validate=validate.Length(max=1000))
    password = fields.String(required=True, validate=validate.Length(max=1000))

    @post_load
    def _normalise(self, data, **_kwargs):
        data["email"] = data["email"].strip().lower()
        return data


class LookupSchema(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=1000))

    @post_load
    def _normalise(self, data, **_kwargs):
        data["email"] = data["email"].strip().lower()
        return data


_title = dict(validate=validate.Length(min=1, max=200))
_description = dict(validate=validate.Length(max=10_000))


class TaskCreateSchema(StrictSchema):
    title = Trimmed(required=True, **_title)
    description = fields.String(load_default="", **_description)
    status = fields.String(load_default="todo", validate=validate.OneOf(STATUSES))
    priority = fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    dueDate = DueDate(load_default=None, allow_none=True)
    assignedTo = ObjectIdField(load_default=None, allow_none=True)


class TaskUpdateSchema(StrictSchema):
    title = Trimmed(**_title)
    description = fields.String(**_description)
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    dueDate = DueDate(allow_none=True)


class StatusSchema(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class AssignSchema(StrictSchema):
    assignedTo = ObjectIdField(required=True, allow_none=True)


class CommaList(fields.String):
    """`a,b` → ("a", "b"), each checked against `choices`."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs):
        items = tuple(s.strip() for s in super()._deserialize(value, attr, data, **kwargs).split(","))
        bad = [s for s in items if s not in self.choices]
        if bad:
            raise ValidationError(f"Must be one or more of {', '.join(self.choices)} (comma-separated).")
        return tuple(dict.fromkeys(items))


class SortKeys(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        keys = []
        for item in super()._deserialize(value, attr, data, **kwargs).split(","):
            item = item.strip()
            descending = item.startswith("-")
            name = item[1:] if descending else item
            if name not in TASK_SORT_FIELDS:
                raise ValidationError(f"Must be fields from {', '.join(TASK_SORT_FIELDS)}, each optionally prefixed '-'.")
            if name in (k for k, _ in keys):
                raise ValidationError(f"Field {name!r} given twice.")
            keys.append((name, descending))
        return tuple(keys)


class QueryBool(fields.Boolean):
    truthy = {"true"}
    falsy = {"false"}


class DueBound(fields.String):
    """Inclusive bound; a bare date covers its whole (UTC) day."""

    def __init__(self, *, upper: bool, **kwargs):
        super().__init__(**kwargs)
        self.upper = upper

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = parse_iso_instant(super()._deserialize(value, attr, data, **kwargs))
        if parsed is None:
            raise ValidationError("Not a valid ISO 8601 date or date-time.")
        instant, date_only = parsed
        if date_only and self.upper:
            instant += timedelta(days=1, milliseconds=-1)
        return instant


class QueryInt(fields.Integer):
    """Plain ASCII digits only (int() would also take "1_0", " 1 " and other scripts' digits)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class PageSchema(StrictSchema):
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    limit = QueryInt(load_default=10, validate=validate.Range(min=1, max=100))


class TaskListSchema(PageSchema):
    scope = fields.String(load_default="all", validate=validate.OneOf(("all", "owned", "assigned")))
    status = CommaList(STATUSES)
    priority = CommaList(PRIORITIES)
    assignedTo = ObjectIdField()
    q = fields.String(validate=[validate.Length(min=1, max=200), validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Must not contain control characters.")])
    dueBefore = DueBound(upper=True)
    dueAfter = DueBound(upper=False)
    deleted = QueryBool(load_default=False)
    sort = SortKeys(load_default=None)


class NotificationListSchema(PageSchema):
    unread = QueryBool(load_default=False)


