"""The middleware chain: CORS (optional) and errors as JSON. (Authentication is per route:
see `tasktrek.http.routes`.)"""

from __future__ import annotations

import asyncio
import logging
import random

from aiohttp import hdrs, web

from ..errors import BodyTimeout, DomainError, PayloadTooLarge, TooManyRequests
from .body import ClientGone
from .io import error_response
from .keys import REQUEST_ID, SETTINGS

log = logging.getLogger(__name__)


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
        if isinstance(exc, BodyTimeout):
            response.force_close()  # the rest of the body may still be on its way
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(exc.status, (exc.reason or "error").lower(), headers=_allow_header(exc))
    except (ClientGone, ConnectionResetError):
        # Nobody reads an answer; the client's disconnect is not the server's error.
        log.debug("client went away during %s %s (request id %s)", request.method, request.path, request_id)
        response = error_response(400, "client disconnected")
        response.force_close()
    except asyncio.CancelledError:
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
