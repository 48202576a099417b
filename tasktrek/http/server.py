"""Serving the application: the access log (tokens redacted) and aiohttp's own parser errors
answered as JSON.

`run()` is what the command line serves with. aiohttp answers a request it cannot parse (an
unknown method, a bad request line or header, a body framing error) before any application
code runs, with a plain-text body that echoes the request line and an ERROR with a traceback
in the log. `JsonErrorRequestHandler` answers those with the contract's JSON error body and
logs them at DEBUG: a malformed request is the client's fault, not the server's.
An application that embeds TaskTrek serves with its own runner; it may use `Runner` and
`AccessLogger` from here to get the same behaviour.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import signal
from http import HTTPStatus
from typing import Callable
from urllib.parse import urlencode

from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict, MultiMapping

from .io import error_response
from .keys import SETTINGS
from .proxies import Networks, forwarded_client

REDACTED = "[redacted]"
SECRET_PARAMS = frozenset({"token", "access_token"})
_SECRETS = (
    # a token query parameter, wherever a URL appears (a request line, a Referer)
    (re.compile(r"(?i)(\b(?:access_)?token=)[^&#\s\"']+"), r"\1" + REDACTED),
    # an Authorization value
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',]+"), r"\1 " + REDACTED),
    # anything shaped like a JWT (base64url header, payload, signature)
    (re.compile(r"\beyJ[\w-]*\.[\w-]*\.[\w-]*"), REDACTED),
)

ERROR_MESSAGES = {400: "malformed HTTP request", 500: "internal error", 504: "request timed out"}


def redact(text: str) -> str:
    """`text` with every token and credential it shows replaced by [redacted]."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A log formatter that redacts tokens from every line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _target(request: web.BaseRequest) -> str:
    """The request's path and query, with secret query parameters redacted."""
    try:
        query = request.rel_url.query
    except Exception:  # an unparseable target: the raw one, redacted below
        return request.path_qs
    if not query:
        return request.path
    pairs = [(k, REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in query.items()]
    return f"{request.path}?{urlencode(pairs, safe='[]/:,')}"


def _forwarded_for(request: web.BaseRequest) -> tuple[str, ...]:
    headers = request.headers  # a plain dict on a request aiohttp could not parse
    return tuple(headers.getall(hdrs.X_FORWARDED_FOR, ())) if isinstance(headers, MultiMapping) else ()


class AccessLogger(AbstractAccessLogger):
    """One line per request: client, request line, status, size, duration, referer, user
    agent. No token ever appears in it: a `token` query parameter and anything shaped like a
    token or credential are redacted; the Authorization header is never logged. The client is
    the one the login limit sees: X-Forwarded-For is believed only from `trusted` proxies."""

    trusted: Networks = ()

    @property
    def enabled(self) -> bool:
        # aiohttp asks once per connection; a line nobody would see is not formatted (its
        # formatting and redaction cost ~30 µs a request).
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        version = request.version
        line = '%s "%s %s HTTP/%d.%d" %d %d %.1fms "%s" "%s"' % (
            forwarded_client(request.remote, _forwarded_for(request), self.trusted),
            request.method,
            _target(request),
            version.major,
            version.minor,
            response.status,
            response.body_length,
            time * 1000,
            request.headers.get(hdrs.REFERER, "-"),
            request.headers.get(hdrs.USER_AGENT, "-"),
        )
        self.logger.info(redact(line))


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's connection handler, with its own errors answered as JSON, and upgrade requests
    parsed into headers the WebSocket can let go of."""

    def data_received(self, data: bytes) -> None:
        queued = len(self._messages)
        super().data_received(data)
        messages = self._messages
        for i in range(queued, len(messages)):
            message, payload = messages[i]
            if getattr(message, "upgrade", False):
                messages[i] = (_releasable(message), payload)

    def set_parser(self, parser, data_received_cb=None) -> None:
        super().set_parser(parser, data_received_cb)
        if self._upgraded:
            # The connection speaks WebSocket from now on. The HTTP parser would parse the next
            # request, which never comes, and until then keeps the last one's headers, raw
            # headers and URL (~3 KB per socket). aiohttp drops it too when the connection is
            # lost, and reads it on an upgraded connection only where it checks for None.
            self._parser = None

    def handle_error(self, request, status=500, exc=None, message=None) -> web.StreamResponse:  # noqa: D401
        if status >= 500:
            self.logger.error("error handling request from %s", request.remote, exc_info=exc)
        else:
            why = " ".join(str(exc or message).split())
            self.logger.debug("malformed request from %s: %s", request.remote, redact(why))
        if request.writer.output_size > 0:  # an answer is under way: the connection is broken
            raise ConnectionError("response already started")
        response = error_response(status, ERROR_MESSAGES.get(status) or HTTPStatus(status).phrase.lower())
        response.force_close()
        return response


def _releasable(message):
    """An upgrade request's message with its headers in a mutable multidict (of its own), so
    that once the WebSocket's session is established the gateway can clear those it no longer
    needs (tasktrek.realtime.websocket.release_headers): aiohttp keeps the message itself in
    its connection handler's frame for the connection's life, beyond anybody's reach. The raw
    headers (bytes, aiohttp's copy for `request.raw_headers`, which nothing here reads) are
    dropped at once."""
    return message._replace(headers=CIMultiDict(message.headers), raw_headers=())


class JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        # aiohttp has no option for the handler class; the same arguments it would use.
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """An AppRunner whose connections answer aiohttp's own errors as JSON, and whose WebSockets
    let go of their HTTP parser and handshake headers (JsonErrorRequestHandler)."""

    def __init__(self, app: web.Application, **kwargs) -> None:
        # aiohttp instantiates the logger class itself: the app's proxies travel on a subclass.
        trusted = app[SETTINGS].trusted_proxies if SETTINGS in app else ()
        kwargs.setdefault("access_log_class", type("AccessLogger", (AccessLogger,), {"trusted": trusted}))
        if SETTINGS in app and not app[SETTINGS].access_log:
            kwargs.setdefault("access_log", None)  # TASKTREK_ACCESS_LOG=off
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return JsonErrorServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,
        )


# The youngest generation's threshold while serving (CPython's default is 700). A request
# allocates many containers: at 700 the collector ran every ~17 write-then-read pairs.
YOUNG_GC_THRESHOLD = 10_000


def settle_heap() -> None:
    """Tune this process's cyclic garbage collector for serving, once start-up is over: the
    ~50,000 objects start-up leaves (modules, the application, its documents), which live as
    long as the process, are frozen out of the collections that would otherwise walk them
    again and again, and the youngest generation is collected less often. Process-wide, so
    only `run` (the command line's own process) calls it: an application embedding TaskTrek
    keeps its own settings."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, middle, oldest)


def run(app: web.Application, *, host: str, port: int, shutdown_timeout: float,
        on_serving: Callable[[], None]) -> None:
    """Serve `app` until SIGINT or SIGTERM, then shut down gracefully (as web.run_app does:
    the app's on_shutdown closes sockets politely before anything is cancelled)."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = Runner(app, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            settle_heap()
            on_serving()
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(serve())
