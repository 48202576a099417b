"""The OpenAPI 3.1 document, generated with apispec from the route table and the very
marshmallow schemas that parse requests (`schemas.py`) and describe answers (`responses.py`)."""

from __future__ import annotations

from functools import cached_property
from http import HTTPStatus

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from .. import __version__
from .asyncapi import asyncapi_document, payload_schemas, schema_name
from .schemas import ID_PATTERN

BEARER = "bearer"
ETAG = {"description": 'The task\'s version, quoted: "<version>".', "schema": {"type": "string", "pattern": '^"[0-9]+"$'}}
BODY_ETAG = {
    "description": "A digest of this exact answer's body, quoted: send it back in If-None-Match to get 304 while the answer is the same.",
    "schema": {"type": "string", "pattern": '^"[0-9a-f]{16}"$'},
}


def _optional_header(name: str, description: str) -> dict:
    return {"in": "header", "name": name, "required": False, "description": description, "schema": {"type": "string"}}


IF_NONE_MATCH = _optional_header(
    "If-None-Match",
    "ETags of answers the client holds (comma-separated, or *): 304 without a body when the answer would be one of them.",
)
RETRY_AFTER = {"description": "Seconds to wait before trying again.", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
IF_MATCH = _optional_header(
    "If-Match", 'Only change the task if its version is one of these ETags ("<version>", comma-separated, or *); else 412.'
)
ID_PARAMETER = {"in": "path", "name": "id", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
DESCRIPTION = """TaskTrek's REST API. Every route but register, login, the probes and these documents
needs `Authorization: Bearer <token>` (the token comes from register or login). Errors are
`{"message": ...}`, validation errors add `"errors": {"<field>": ["<problem>", ...]}`.
Real-time events are described by the AsyncAPI document at `asyncapi.json` beside this one."""


def precise_types(self, field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: a custom field's own `json_schema` (see schemas.py)."""
    described = getattr(field, "json_schema", None)
    if described is None:
        return {}
    if "anyOf" in described:  # a union: no single type or format of the base class applies
        ret.pop("type", None)
        ret.pop("format", None)
        return {**described, "anyOf": described["anyOf"] + ([{"type": "null"}] if field.allow_none else [])}
    for key in [k for k, v in described.items() if v is None]:  # None: the base class's keyword does not apply
        ret.pop(key, None)
    return {k: v for k, v in described.items() if v is not None}


class Documents:
    """One app's discovery documents, generated when first asked for."""

    def __init__(self, routes) -> None:
        self.routes = tuple(routes)

    @cached_property
    def openapi(self) -> dict:
        """Without `servers`: the handler adds where it is served."""
        return openapi_document(self.routes)

    @cached_property
    def payloads(self) -> dict:
        spec = new_spec()
        for schema in payload_schemas():
            spec.components.schema(schema_name(schema), schema=schema)
        return spec.to_dict()["components"]["schemas"]

    def asyncapi_at(self, host: str, prefix: str, *, secure: bool) -> dict:
        return asyncapi_document(self.payloads, host, prefix + "/socket.io/", secure=secure)


def new_spec() -> APISpec:
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(title="TaskTrek", version=__version__, openapi_version="3.1.0", plugins=[plugin], info={"description": DESCRIPTION})
    plugin.converter.add_attribute_function(precise_types)
    return spec


def openapi_document(routes) -> dict:
    """The document for `routes` (documented `routes.Route`s), without `servers`."""
    spec = new_spec()
    spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for route in routes:
        spec.path(path=route.path, operations={route.method.lower(): _operation(route)})
    return spec.to_dict()


def _operation(route) -> dict:
    parameters = []
    if "{id}" in route.path:
        parameters.append(ID_PARAMETER)
    if route.query:
        parameters.append({"in": "query", "schema": route.query})
    if route.if_match:
        parameters.append(IF_MATCH)
    if route.not_modified:
        parameters.append(IF_NONE_MATCH)
    operation = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "security": [] if route.public else [{BEARER: []}],
        "responses": {str(status): _response(route, status, schema) for status, schema in sorted(route.statuses().items())},
    }
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = {
            "required": _has_required_fields(route.body),
            "content": {"application/json": {"schema": route.body}},
        }
    return operation


def _has_required_fields(schema: type[Schema]) -> bool:
    return any(f.required for f in schema().fields.values())


def _response(route, status: int, schema) -> dict:
    response: dict = {"description": HTTPStatus(status).phrase}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    if status < 400 and route.not_modified:
        response["headers"] = {"ETag": BODY_ETAG}
    if status < 300:
        if route.etag:
            response["headers"] = {"ETag": ETAG}
        if route.links:
            response["links"] = {name: _link(link) for name, link in route.links.items()}
    if status == 429:
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def _link(link) -> dict:
    described = {"operationId": link.operation_id, "parameters": dict(link.parameters)}
    if link.request_body is not None:
        described["requestBody"] = link.request_body
    return described
