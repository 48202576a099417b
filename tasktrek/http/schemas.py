"""Marshmallow schemas: the shape and validity of every request body and query string.

They parse and validate only; what a valid request may do is decided by the services.
A custom field states its exact JSON Schema in `json_schema` (merged over what its base class
maps to) so that the OpenAPI document describes what it accepts.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

from ..domain import PRIORITIES, STATUSES, TASK_SORT_FIELDS, is_id, to_ms

from ..services.users import MAX_PASSWORD_BYTES as BCRYPT_MAX_PASSWORD_BYTES


# White space as JSON Schema's (ECMA-262) regular expressions define \s, which differs from
# Python's str.isspace() (U+0085 and U+001C-U+001F are not white space there, U+FEFF is):
# trimming uses exactly this set, so that the document's patterns and the server agree.
WHITE_SPACE_CLASS = r"\t\n\u000b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
WHITE_SPACE = "\t\n\x0b\f\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"


class Trimmed(fields.String):
    """A string of 1 to `max_length` characters once surrounding white space is removed."""

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)
        # The lengths apply after trimming: say so with a pattern, not minLength/maxLength.
        space, other = f"[{WHITE_SPACE_CLASS}]", f"[^{WHITE_SPACE_CLASS}]"
        pattern = rf"^{space}*{other}([\s\S]{{0,{max_length - 2}}}{other})?{space}*$"
        self.json_schema = {"pattern": pattern, "minLength": None, "maxLength": None}

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip(WHITE_SPACE)


class LowerEmail(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs).lower()


ID_PATTERN = "^[0-9a-f]{24}$"
# A date-time on the first or last storable day with an offset that may push it out of the
# years 1-9999 is refused as a whole, overflowing or not, so that the document can say which.
EDGE_OF_TIME = r"^(0001-01-01.+\+|9999-12-31.+-)"
ISO_DATE_OR_DATE_TIME = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    "not": {"type": "string", "pattern": EDGE_OF_TIME},
}


def choice_list_pattern(choices, prefix: str = "") -> str:
    """A regular expression for comma-separated `choices`, each optionally after `prefix`."""
    one = prefix + "(" + "|".join(choices) + ")"
    return f"^{one}(,{one})*$"


class ObjectIdField(fields.String):
    json_schema = {"pattern": ID_PATTERN}
    default_error_messages = {"invalid_id": "Not a valid id."}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not is_id(value):
            raise self.make_error("invalid_id")
        return value


class DueDate(fields.Field):
    """An ISO 8601 date (midnight UTC) or date-time (naive means UTC), stored in UTC ms."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 date or date-time."}
    json_schema = ISO_DATE_OR_DATE_TIME

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
    if re.match(EDGE_OF_TIME, text):
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), timezone.utc), True
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return to_ms(parsed), False
    except (ValueError, OverflowError):  # OverflowError: cannot happen past EDGE_OF_TIME; kept as a guard
        return None


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class RegisterSchema(StrictSchema):
    name = Trimmed(required=True, max_length=100, metadata={"examples": ["Ada"]})
    email = LowerEmail(required=True, validate=validate.Length(max=254), metadata={"examples": ["ada@example.com"]})
    # 8 to 72 bytes in UTF-8, checked below; in characters that is at least 2 and at most 72.
    password = fields.String(required=True, metadata={
        "description": "8 to 72 bytes in UTF-8.", "minLength": 2, "maxLength": 72, "examples": ["correct horse"]
    })

    @validates("password")
    def _password_length(self, value: str, **_kwargs) -> None:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size < 8:
            raise ValidationError("Must be at least 8 characters.")
        if size > BCRYPT_MAX_PASSWORD_BYTES:
            raise ValidationError(f"Must be at most {BCRYPT_MAX_PASSWORD_BYTES} bytes in UTF-8.")


class LoginSchema(StrictSchema):
    # Any string: a malformed address simply does not match (same answer as a wrong one).
    email = fields.String(required=True, validate=validate.Length(max=1000), metadata={"examples": ["ada@example.com"]})
    password = fields.String(required=True, validate=validate.Length(max=1000), metadata={"examples": ["correct horse"]})

    @post_load
    def _normalise(self, data, **_kwargs):
        data["email"] = data["email"].strip().lower()
        return data


class LookupSchema(StrictSchema):
    # At most an address's 254 characters: percent-encoded, the request line must still fit
    # the HTTP parser's 8 KiB.
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))

    @post_load
    def _normalise(self, data, **_kwargs):
        data["email"] = data["email"].strip().lower()
        return data


_title = dict(max_length=200)
_description = dict(validate=validate.Length(max=10_000))


class TaskCreateSchema(StrictSchema):
    title = Trimmed(required=True, **_title)
    description = fields.String(load_default="", **_description)
    status = fields.String(load_default="todo", validate=validate.OneOf(STATUSES))
    priority = fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    due_date = DueDate(data_key="dueDate", load_default=None, allow_none=True)
    assigned_to = ObjectIdField(data_key="assignedTo", load_default=None, allow_none=True)


class TaskUpdateSchema(StrictSchema):
    title = Trimmed(**_title)
    description = fields.String(**_description)
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    due_date = DueDate(data_key="dueDate", allow_none=True)


class StatusSchema(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class AssignSchema(StrictSchema):
    assignedTo = ObjectIdField(required=True, allow_none=True)


class CommaSeparated(fields.String):
    """A comma-separated list, without spaces, in at most MAX_CHARS characters (so that a
    query string always fits the HTTP parser's 8 KiB request line)."""

    MAX_CHARS = 200

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.MAX_CHARS:
            raise ValidationError(f"Longer than {self.MAX_CHARS} characters.")
        return text.split(",")


class CommaList(CommaSeparated):
    """`a,b` → ("a", "b"), each one of `choices`."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.json_schema = {"pattern": choice_list_pattern(choices), "maxLength": self.MAX_CHARS}

    def _deserialize(self, value, attr, data, **kwargs):
        items = super()._deserialize(value, attr, data, **kwargs)
        if any(s not in self.choices for s in items):
            raise ValidationError(f"Must be one or more of {', '.join(self.choices)} (comma-separated).")
        return tuple(dict.fromkeys(items))


class SortKeys(CommaSeparated):
    json_schema = {
        "pattern": choice_list_pattern(TASK_SORT_FIELDS, prefix="-?"),
        "not": {"pattern": r"(^|,)-?([A-Za-z]+),(.*,)?-?\2(,|$)"},  # a field at most once
        "maxLength": CommaSeparated.MAX_CHARS,
    }

    def _deserialize(self, value, attr, data, **kwargs):
        keys = []
        for item in super()._deserialize(value, attr, data, **kwargs):
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

    json_schema = ISO_DATE_OR_DATE_TIME

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
    q = fields.String(validate=[validate.Length(min=1, max=200), validate.Regexp(r"[^\x00-\x1f\x7f]*\Z", error="Must not contain control characters.")])
    dueBefore = DueBound(upper=True)
    dueAfter = DueBound(upper=False)
    deleted = QueryBool(load_default=False)
    sort = SortKeys(load_default=None, metadata={"default": "-updatedAt"})  # None: the service's default


class NotificationListSchema(PageSchema):
    unread = QueryBool(load_default=False)


