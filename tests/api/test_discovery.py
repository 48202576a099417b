"""The API describes itself: the route table, 404 for unknown paths, the OpenAPI and AsyncAPI
documents, the interactive docs page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from aiohttp import web
from openapi_spec_validator import validate

from tasktrek import create_app
from tasktrek.http.routes import ROUTES, Route, operations

ASYNCAPI_SCHEMA = Path(__file__).resolve().parents[1] / "js" / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"
UNKNOWN_PATHS = ["/index.html", "/board", "/docs", "/metrics", "/api/nope", "/api/tasks/abc/nope", "/api/openapi.json/x"]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "token"])
async def test_a_path_that_matches_no_route_is_404_with_or_without_a_token(api, path, with_token):
    user = await api.register()
    for method in ("GET", "POST", "DELETE"):
        resp, body = await api.call(method, path, user if with_token else None)
        assert resp.status == 404, (method, path)
        assert body == {"message": "not found"}


async def test_a_known_path_with_another_method_is_405_even_without_a_token(api):
    resp, body = await api.call("DELETE", "/api/users/me")
    assert resp.status == 405 and body == {"message": "method not allowed"}
    assert resp.headers["Allow"] == "GET"


async def test_every_route_of_the_table_needs_a_token_unless_public(api):
    """Without a token, a public route never answers 401 and any other route always does."""
    for route in [r for r in ROUTES if isinstance(r, Route)]:
        path = route.path.replace("{id}", "0" * 24)
        resp, body = await api.call(route.method, path, json={})
        if route.public:
            assert resp.status != 401, (route.method, path, body)
        else:
            assert (resp.status, body) == (401, {"message": "no token provided"}), (route.method, path)


async def test_openapi_document_is_valid_3_1_and_describes_every_route(api):
    resp, document = await api.call("GET", "/api/openapi.json")  # no token
    assert resp.status == 200 and resp.content_type == "application/json"
    validate(document)  # openapi-spec-validator, against the OpenAPI 3.1 schema
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/"}]
    described = {(method.upper(), path) for path, item in document["paths"].items() for method in item if method != "parameters"}
    assert described == {(r.method, r.path) for r in operations()}
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation["security"]:
                assert "401" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


async def test_openapi_custom_fields_have_precise_types(api):
    _, document = await api.call("GET", "/api/openapi.json")
    schemas = document["components"]["schemas"]
    id_schema = {"type": "string", "pattern": "^[0-9a-f]{24}$"}
    assert schemas["Task"]["properties"]["_id"] == id_schema
    assert schemas["Task"]["properties"]["assignedTo"] == {**id_schema, "type": ["string", "null"]}
    assert schemas["Task"]["properties"]["createdAt"] == {"type": "string", "format": "date-time"}
    assert schemas["TaskCreate"]["properties"]["dueDate"]["anyOf"] == [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "null"},
    ]
    assert schemas["TaskCreate"]["additionalProperties"] is False
    assert schemas["Error"]["properties"]["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    query = {p["name"]: p["schema"] for p in document["paths"]["/api/tasks"]["get"]["parameters"]}
    assert query["status"]["pattern"] == "^(todo|in-progress|done)(,(todo|in-progress|done))*$"
    assert query["priority"]["pattern"] == "^(low|medium|high)(,(low|medium|high))*$"
    sort = re.compile(query["sort"]["pattern"])
    assert sort.match("-updatedAt,title") and not sort.match("password")
    assert query["assignedTo"] == id_schema
    one_task = document["paths"]["/api/tasks/{id}"]["get"]
    assert one_task["parameters"] == [{"in": "path", "name": "id", "required": True, "schema": id_schema}]
    assert "ETag" in one_task["responses"]["200"]["headers"]


async def test_openapi_server_url_follows_the_mount_prefix(settings, aiohttp_client):
    host = web.Application()
    host.add_subapp("/tasktrek/", create_app(settings))
    client = await aiohttp_client(host)
    resp = await client.get("/tasktrek/api/openapi.json")
    assert resp.status == 200
    assert (await resp.json())["servers"] == [{"url": "/tasktrek"}]
    resp = await client.get("/tasktrek/api/asyncapi.json")
    assert (await resp.json())["servers"]["tasktrek"]["pathname"] == "/tasktrek/socket.io/"
    assert (await client.get("/tasktrek/api/docs")).status == 200
    for path in ("/tasktrek/nope", "/tasktrek/api/nope", "/nope"):
        assert (await client.get(path)).status == 404, path


async def test_asyncapi_document_is_valid_and_describes_every_event(api):
    resp, document = await api.call("GET", "/api/asyncapi.json")
    assert resp.status == 200
    jsonschema.validate(document, json.loads(ASYNCAPI_SCHEMA.read_text()))
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert {"task:created", "task:updated", "task:assigned", "task:deleted", "task:restored", "notification:new",
            "notification:updated", "notification:count", "presence:online", "presence:offline", "presence:list",
            "join:task", "leave:task", "presence:get"} <= names
    assert {c["address"] for c in document["channels"].values()} == {"user:{userId}", "task:{taskId}", None}
    task_event = document["components"]["schemas"]["TaskEvent"]
    assert {"taskId", "actor", "title", "version"} <= set(task_event["required"])


async def test_docs_page_is_served_from_installed_files_without_a_cdn(api):
    resp = await api.client.get("/api/docs")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing from another origin
    assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", page)
    assert "docs/swagger-ui-bundle.js" in assets and "docs/swagger-ui.css" in assets
    for asset in assets:
        resp = await api.client.get("/api/" + asset)
        assert resp.status == 200, asset
        assert len(await resp.read()) > 100
    assert (await api.client.get("/api/docs/..%2F..%2Fopenapi.py")).status == 404  # names are looked up, not joined
    assert (await api.client.get("/api/docs/swagger-initializer.js")).status == 404  # only what the page uses


def _parameter_schema(document: dict, path: str, method: str, name: str) -> dict:
    return next(p["schema"] for p in document["paths"][path][method]["parameters"] if p["name"] == name)


def _body_property(document: dict, path: str, method: str, name: str) -> dict:
    ref = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"][name]


# Edge values the fuzzer found where the document and the server disagreed (fixed since):
# the document must call a value valid exactly when the server accepts it.
EDGE_QUERIES = [
    ("/api/tasks", "sort", "title,-title"),  # a field twice
    ("/api/tasks", "sort", "status,title"),
    ("/api/tasks", "status", "todo,done"),
    ("/api/tasks", "status", "todo, done"),  # no spaces
    ("/api/tasks", "status", ",".join(["todo"] * 40)),  # longer than 200 characters
    ("/api/tasks", "priority", "high,high"),
    ("/api/users/lookup", "email", "é" * 254),  # percent-encoded, still within the request line
    ("/api/users/lookup", "email", "a" * 255),
    # `make fuzz` found this one: an instant that its offset pushes before year 1.
    ("/api/tasks", "dueBefore", "0001-01-01T00:01:00+01:01"),
    ("/api/tasks", "dueBefore", "0001-01-01T05:00:00-01:00"),
    ("/api/tasks", "dueAfter", "9999-12-31T23:00:00-01:00"),
    ("/api/tasks", "dueAfter", "9999-12-31T23:00:00+01:00"),
    ("/api/tasks", "dueAfter", "9999-12-31"),
]
EDGE_TITLES = ["  " + "a" * 200 + " ", "a" * 201, "   ", "\u3000a\u3000", "a",
               # `make fuzz` found these: white space as JSON Schema means it, not as Python does.
               " \x0b\x85\x0c\x0b\r\t\r\x0b\x0c", "\x1c", "\ufeff\ufeff", "\ufeffa\u2028"]


@pytest.mark.parametrize("path, name, value", EDGE_QUERIES, ids=lambda v: str(v)[:30])
async def test_document_and_server_agree_on_edge_query_values(api, path, name, value):
    user = await api.register()
    _, document = await api.call("GET", "/api/openapi.json")
    schema = _parameter_schema(document, path, "get", name)
    valid = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).is_valid(value)
    resp, body = await api.call("GET", path, user, params={name: value})
    assert resp.content_type == "application/json"
    assert (resp.status != 400) == valid, (resp.status, body, valid)


@pytest.mark.parametrize("due", ["0001-01-01T00:30:00+01:00", "0001-01-01T00:00:00+00:00", "0001-01-01T05:00:00-01:00",
                                 "9999-12-31T23:30:00-01:00", "9999-12-31", None])
async def test_document_and_server_agree_on_edge_due_dates(api, due):
    user = await api.register()
    _, document = await api.call("GET", "/api/openapi.json")
    schema = {**_body_property(document, "/api/tasks", "post", "dueDate"), "components": document["components"]}
    valid = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).is_valid(due)
    resp, body = await api.call("POST", "/api/tasks", user, json={"title": "due", "dueDate": due})
    assert (resp.status == 201) == valid, (resp.status, body, valid)


@pytest.mark.parametrize("title", EDGE_TITLES, ids=repr)
async def test_document_and_server_agree_on_edge_titles(api, title):
    user = await api.register()
    _, document = await api.call("GET", "/api/openapi.json")
    valid = jsonschema.Draft202012Validator(_body_property(document, "/api/tasks", "post", "title")).is_valid(title)
    resp, body = await api.call("POST", "/api/tasks", user, json={"title": title})
    assert (resp.status == 201) == valid, (resp.status, body, valid)


async def test_every_status_a_task_change_can_answer_is_documented(api):
    """Found by the fuzzer: a status change of a task in the trash is 403, and any change may
    be 409 under concurrent writers."""
    owner = await api.register()
    task = await api.create_task(owner)
    await api.call("DELETE", f"/api/tasks/{task['_id']}", owner)
    resp, _ = await api.call("PATCH", f"/api/tasks/{task['_id']}/status", owner, json={"status": "done"})
    assert resp.status == 403
    _, document = await api.call("GET", "/api/openapi.json")
    for path, method in [("/api/tasks/{id}", "put"), ("/api/tasks/{id}/status", "patch"), ("/api/tasks/{id}/assign", "patch"),
                         ("/api/tasks/{id}", "delete"), ("/api/tasks/{id}/restore", "patch")]:
        assert {"403", "409"} <= set(document["paths"][path][method]["responses"]), (method, path)
