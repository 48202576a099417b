"""The middleware chain: CORS (optional), errors as JSON, and JWT authentication."""

from __future__ import annotations

import asyncio
import logging
import random
import warnings

from aiohttp import hdrs, web
from aiohttp.web_exceptions import NotAppKeyWarning
from aiohttp_jwt import JWTMiddleware

from ..errors import DomainError, PayloadTooLarge, TooManyRequests, Unauthorized
from ..services import Services
from ..services.users import INVALID_TOKEN, JWT_ALGORITHM
from .io import error_response
from .keys import CLAIMS, REQUEST_ID, SETTINGS, USER

log = logging.getLogger(__name__)

NO_TOKEN = "no token provided"


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Every error leaves as the contract's JSON; nothing leaks a stack trace."""
    # getrandbits, not uuid4: os.urandom per request is measurable and ids need no secrecy.
    request_id = request.headers.get("X-Request-Id", "")[:64] or f"{random.getrandbits(64):016x}"
    request[REQUEST_ID] = request_id
    try:
        if (request.content_length or 0) > request.app[SETTINGS].max_body_bytes:
            raise PayloadTooLarge()  # whether or not the route reads a body
        response = await handler(request)
    except DomainError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        response = error_response(exc.status, exc.message, exc.errors, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(exc.status, (exc.reason or "error").lower(), headers=_allow_header(exc))
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error in %s %s (request id %s)", request.method, request.path, request_id)
        response = error_response(500, "internal error")
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


def _allow_header(exc: web.HTTPException) -> dict | None:
    allow = exc.headers.get(hdrs.ALLOW)
    return {hdrs.ALLOW: allow} if allow else None


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    if not token.isascii():  # a JWT is ASCII; other bytes would break the decoder
        raise Unauthorized(INVALID_TOKEN)
    return token.strip()


def auth_middleware(services: Services, secret: str, whitelist: list[str]):
    """aiohttp-jwt's JWTMiddleware, with the user looked up in its `is_revoked` hook and
    its plain-text failures turned into the contract's JSON 401."""
    # It logs every rejected token with a traceback; a bad token is not a server error.
    logging.getLogger("aiohttp_jwt").setLevel(logging.CRITICAL)
    # It stores the claims under a string key, which aiohttp warns about on each request.
    warnings.filterwarnings("ignore", category=NotAppKeyWarning, module="aiohttp_jwt")

    async def is_revoked(request: web.Request, claims: dict) -> bool:
        user = await services.users.user_for_claims(claims)
        request[USER] = user
        return user is None

    verify = JWTMiddleware(
        secret,
        request_property=CLAIMS,
        whitelist=whitelist,
        token_getter=bearer_token,
        is_revoked=is_revoked,
        algorithms=[JWT_ALGORITHM],
    )

    @web.middleware
    async def authenticate(request: web.Request, handler) -> web.StreamResponse:
        reached = False

        async def authenticated(request: web.Request) -> web.StreamResponse:
            nonlocal reached
            reached = True
            return await handler(request)

        try:
            return await verify(request, authenticated)
        except web.HTTPException:
            if reached:
                raise
            no_token = not request.headers.get(hdrs.AUTHORIZATION, "").strip().lower().startswith("bearer ")
            raise Unauthorized(NO_TOKEN if no_token else INVALID_TOKEN) from None

    return authenticate
