"""/api/users: register, login, me, lookup, logout."""

from aiohttp import web

from ..views import user_json, user_summary
from .io import json_response, load_body, load_query
from .keys import SERVICES, USER
from .proxies import client_address
from .schemas import LoginSchema, LookupSchema, RegisterSchema

register_schema, login_schema, lookup_schema = RegisterSchema(), LoginSchema(), LookupSchema()


async def register(request: web.Request) -> web.Response:
    body = await load_body(request, register_schema)
    user, token = await request.app[SERVICES].users.register(body["name"], body["email"], body["password"])
    return json_response({**user_summary(user), "token": token}, status=201)


async def login(request: web.Request) -> web.Response:
    body = await load_body(request, login_schema)
    user, token = await request.app[SERVICES].users.login(body["email"], body["password"], client_address(request))
    return json_response({**user_summary(user), "token": token})


async def me(request: web.Request) -> web.Response:
    return json_response(user_json(request[USER]))


async def lookup(request: web.Request) -> web.Response:
    query = load_query(request, lookup_schema)
    return json_response(user_summary(await request.app[SERVICES].users.lookup(query["email"])))


async def logout(request: web.Request) -> web.Response:
    await request.app[SERVICES].users.logout(request[USER])
    return web.Response(status=204)
