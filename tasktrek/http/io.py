"""Reading requests and writing responses: the JSON body, schemas, and errors as JSON."""

from __future__ import annotations

import json
from typing import Any, Mapping

from aiohttp import web
from marshmallow import Schema, ValidationError

from ..errors import ValidationFailed
from . import body as request_body
from .keys import SETTINGS


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return web.Response(text=body, status=status, headers=headers, content_type="application/json")


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
        # Lone surrogates parse but cannot be stored or sent as UTF-8.
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
