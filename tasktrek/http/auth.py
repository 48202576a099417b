"""Bearer-token authentication of the routes that need it (see `routes.Route.public`)."""

from __future__ import annotations

from aiohttp import hdrs, web

from ..errors import Unauthorized
from ..services.users import INVALID_TOKEN
from .keys import SERVICES

NO_TOKEN = "no token provided"


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    if not token.isascii():  # a JWT is ASCII; other bytes would break the decoder
        raise Unauthorized(INVALID_TOKEN)
    return token.strip()


async def authenticate(request: web.Request) -> dict:
    """The user the request's bearer token speaks for; 401 otherwise."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized(NO_TOKEN)
    return await request.app[SERVICES].users.authenticate(token)
