"""Reading requests and writing responses: the JSON body, schemas, and errors as JSON."""

from __future__ import annotations

import json
from typing import Any, Mapping

from aiohttp import web
from marshmallow import Schema, ValidationError

from ..errors import ValidationFailed
from . import body as request_body
from .keys import SETTINGS


def json_text(data: Any) -> str:
    """The JSON of every answer: UTF-8 characters as they are, no spaces."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(text=json_text(data), status=status, headers=headers, content_type="application/json")


def encoded_json_response(body: bytes, headers: Mapping[str, str] | None = None) -> web.Response:
    """A 200 with `body`, `json_text` already encoded as UTF-8: the same answer as `json_response`."""
    return web.Response(body=body, headers=headers, content_type="application/json", charset="utf-8")


def error_response(status: int, message: str, errors: dict | None = None, headers=None) -> web.Response:
    body = {"message": message}
    if errors:
        body["errors"] = errors
    return json_response(body, status, headers)


async def read_body(request: web.Request) -> bytes:
    """The decoded body within the body limits (tasktrek.http.body)."""
    settings = request.app[SETTINGS]
    return await request_body.read_body(request, limit=settings.max_body_bytes, timeout=settings.body_timeout_seconds)


async def json_object(request: web.Request) -> dict:
    """The body as a JSON object; an empty body counts as {}."""
    raw = await read_body(request)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
        # Lone surrogates parse but cannot be stored or sent as UTF-8. Only a \u escape or a
        # byte outside ASCII (UTF-8 or UTF-16 surrogate bytes) can make one.
        if b"\\u" in raw or not raw.isascii():
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError):
        raise ValidationFailed("malformed JSON body") from None
    except RecursionError:
        raise ValidationFailed("JSON body nested too deeply") from None
    if not isinstance(data, dict):
        raise ValidationFailed("JSON body must be an object")
    return data


def load(schema: Schema, data: Mapping, what: str = "body") -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        errors = exc.normalized_messages()
        raise ValidationFailed(f"invalid {what}: {', '.join(map(str, errors))}", errors=errors) from None


async def load_body(request: web.Request, schema: Schema) -> dict:
    return load(schema, await json_object(request))


def load_query(request: web.Request, schema: Schema) -> dict:
    repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
    if repeated:
        raise ValidationFailed(f"invalid query: {', '.join(repeated)}", errors={k: ["Given more than once."] for k in repeated})
    return load(schema, dict(request.query), "query")


class ParsedQueries:
    """One route's query strings as its schema parsed them. The same query string always
    parses the same way (the schemas depend on nothing else), and clients repeat theirs
    (`limit=10`): a repeat is a look-up instead of marshmallow's ~30 µs. Only valid strings
    are kept; an invalid one is parsed, and refused, every time."""

    def __init__(self, schema: Schema, max_entries: int = 256) -> None:
        self.schema = schema
        self.max_entries = max_entries
        self._parsed: dict[str, dict] = {}

    def load(self, request: web.Request) -> dict:
        raw = request.query_string
        parsed = self._parsed.get(raw)
        if parsed is None:
            parsed = load_query(request, self.schema)
            if len(self._parsed) >= self.max_entries:
                del self._parsed[next(iter(self._parsed))]  # the oldest
            self._parsed[raw] = parsed
        return dict(parsed)  # the handler's own copy (the values are immutable)
