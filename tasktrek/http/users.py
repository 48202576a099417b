"""/api/users: register, login, me, lookup, logout."""

from aiohttp import web

from ..views import user_json, user_summary
from .io import json_response
from .keys import BODY, QUERY, SERVICES, USER
from .proxies import client_address


async def register(request: web.Request) -> web.Response:
    body = request[BODY]
    users = request.app[SERVICES].users
    user, token = await users.register(body["name"], body["email"], body["password"], client_address(request))
    return json_response({**user_summary(user), "token": token}, status=201)


async def login(request: web.Request) -> web.Response:
    body = request[BODY]
    user, token = await request.app[SERVICES].users.login(body["email"], body["password"], client_address(request))
    return json_response({**user_summary(user), "token": token})


async def me(request: web.Request) -> web.Response:
    return json_response(user_json(request[USER]))


async def lookup(request: web.Request) -> web.Response:
    query = request[QUERY]
    return json_response(user_summary(await request.app[SERVICES].users.lookup(query["email"])))


async def logout(request: web.Request) -> web.Response:
    await request.app[SERVICES].users.logout(request[USER])
    return web.Response(status=204)
