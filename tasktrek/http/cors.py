"""CORS for browser clients, per TASKTREK_CORS_ORIGINS (none by default)."""

from __future__ import annotations

from aiohttp import hdrs, web

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match"
EXPOSE_HEADERS = "ETag, Retry-After, X-Request-Id"


def allowed_origin(origins: tuple[str, ...], origin: str | None) -> str | None:
    """The value for Access-Control-Allow-Origin, or None when this origin is not allowed."""
    if not origin or not origins:
        return None
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def cors_headers(origins: tuple[str, ...], origin: str | None) -> dict[str, str]:
    allowed = allowed_origin(origins, origin)
    if allowed is None:
        return {}
    headers = {hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: allowed, hdrs.ACCESS_CONTROL_EXPOSE_HEADERS: EXPOSE_HEADERS}
    if allowed != "*":  # credentials only ever with a named origin
        headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
        headers[hdrs.VARY] = "Origin"
    return headers


def cors_middleware(origins: tuple[str, ...]):
    @web.middleware
    async def cors(request: web.Request, handler) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        headers = cors_headers(origins, origin)
        is_preflight = request.method == hdrs.METH_OPTIONS and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers
        if is_preflight:
            if not headers:
                return web.Response(status=403, text='{"message":"origin not allowed"}', content_type="application/json")
            headers |= {
                hdrs.ACCESS_CONTROL_ALLOW_METHODS: ALLOW_METHODS,
                hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOW_HEADERS,
                hdrs.ACCESS_CONTROL_MAX_AGE: "600",
            }
            return web.Response(status=204, headers=headers)
        response = await handler(request)
        if not response.prepared:
            response.headers.update(headers)
        return response

    return cors
