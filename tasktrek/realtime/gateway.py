"""The real-time gateway: the HTTP entry of `/socket.io/` and the units behind it.

Layers, bottom up:

- transports (`polling.py`, `websocket.py`) carry Engine.IO packets and implement
  `EngineSocket`; a polling session may upgrade to a WebSocket and stays the same socket;
- `Sessions` (`session.py`) speaks Socket.IO on every `EngineSocket`: connect, auth, acks and
  the client events;
- `Broadcaster` (`broadcaster.py`) keeps rooms → sockets and sends one event to rooms;
- presence (`presence.py`, behind an interface) counts who is online, and the
  `PresenceAnnouncer` (`announcer.py`) tells contacts;
- `Delivery` (`delivery.py`) hands the core's events to the broadcaster.

`Gateway` builds them, answers the HTTP requests (CORS, the Origin check, which transport),
and starts and stops everything.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Protocol

from aiohttp import hdrs, web

from ..errors import StoreUnavailable
from ..http.cors import ALLOW_HEADERS, allowed_origin, cors_headers
from ..http.proxies import client_address
from . import engineio as eio
from . import polling
from . import websocket
from .announcer import PresenceAnnouncer
from .background import Background
from .broadcaster import Broadcaster, Emitter
from .delivery import Delivery
from .engine import EngineSocket, handshake_error
from .heartbeat import Heartbeat
from .options import RealtimeOptions
from .presence import Clock, LocalPresence, OfflineCallback, Presence
from .session import Sessions

log = logging.getLogger(__name__)

PATH = "/socket.io/"
ELSEWHERE = PATH + "{tail:.+}"  # any other path under PATH: answered here, never by the REST API
PREFLIGHT_METHODS = "GET, POST, OPTIONS"
PREFLIGHT_MAX_AGE = "600"
SHUTTING_DOWN = (eio.BAD_REQUEST[0], "Server shutting down")  # answered 503
PRUNE_INTERVAL_SECONDS = 60.0  # how often old log entries and sessions are deleted (bounded)
RETRY_AFTER_SECONDS = "1"  # when too many sockets are not connected to "/" yet


def origin_refused(origins: tuple[str, ...], origin: str | None) -> bool:
    """True for a browser's `Origin` that the configured list does not allow. Without a list
    (no CORS configured) or without an `Origin` header (not a browser) nothing is refused."""
    return bool(origins) and bool(origin) and allowed_origin(origins, origin) is None


def preflight_headers(cors: dict[str, str]) -> dict[str, str]:
    """The answer to an OPTIONS preflight, given the CORS headers for its origin."""
    if not cors:
        return {}
    return {
        **cors,
        hdrs.ACCESS_CONTROL_ALLOW_METHODS: PREFLIGHT_METHODS,
        hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOW_HEADERS,
        hdrs.ACCESS_CONTROL_MAX_AGE: PREFLIGHT_MAX_AGE,
    }


def bearer_token(value: str | None) -> str | None:
    scheme, _, token = (value or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


Transport = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]
# Builds the presence backend: (grace seconds, offline callback, clock) → Presence.
PresenceFactory = Callable[[float, OfflineCallback, "Clock | None"], Presence]


class EventSource(Protocol):
    def subscribe(self, subscriber: Callable[[Any], Awaitable[None]]) -> Callable[[], None]: ...


class Gateway:
    def __init__(
        self,
        services,
        options: RealtimeOptions,
        *,
        presence: PresenceFactory = LocalPresence,
        clock: Clock | None = None,
        events: EventSource | None = None,
        everywhere: Emitter | None = None,
    ) -> None:
        """`events` is where the core's events come from (the services' publisher; in cluster
        mode the relay, which brings every node's); `everywhere` sends presence announcements
        to rooms on every node (this node's broadcaster unless in cluster mode)."""
        self.services = services
        self.events = events or services.events
        self.background = Background()
        self.heartbeat = Heartbeat()  # every socket's pings and pong deadlines, on one timer
        self.broadcaster = Broadcaster()
        self.presence = presence(options.presence_grace, self._grace_over, clock)
        self.announcer = PresenceAnnouncer(
            services.tasks, self.presence, self.broadcaster, self.background, everywhere=everywhere
        )
        self.sessions = Sessions(services, options, self.broadcaster, self.announcer, self.background)
        self.delivery = Delivery(services, self.broadcaster, self.sessions, self.announcer, self.background)
        self._options = options
        self._closing = False
        self._unsubscribe: Callable[[], None] | None = None
        self._pruning: asyncio.Task | None = None
        self._transports: dict[str, Transport] = {
            polling.NAME: self._serve_polling,
            websocket.NAME: self._serve_websocket,
        }

    @property
    def options(self) -> RealtimeOptions:
        return self._options

    @options.setter
    def options(self, value: RealtimeOptions) -> None:
        """Replacing the options affects what follows, except presence_grace, which presence
        took when it was built."""
        self._options = value
        self.sessions.options = value

    @property
    def rooms(self):
        return self.broadcaster.rooms

    def emit(self, name: str, *args, rooms) -> int:
        return self.broadcaster.emit(name, *args, rooms=rooms)

    def _grace_over(self, user_id: str) -> None:
        self.announcer.grace_over(user_id)

    # --- HTTP entry point ----------------------------------------------------------------

    async def handle_elsewhere(self, request: web.Request) -> web.StreamResponse:
        """Any other path under `/socket.io/`, e.g. `/socket.io/../api/tasks`: the REST API's
        token check does not cover these paths, so nothing of it may answer them."""
        raise web.HTTPNotFound()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Every request to `/socket.io/`: CORS and the Origin check, then the transport."""
        origins = self.options.cors_origins
        origin = request.headers.get(hdrs.ORIGIN)
        if origin_refused(origins, origin):
            return handshake_error(eio.FORBIDDEN, status=403)
        cors = cors_headers(origins, origin)
        if request.method == hdrs.METH_OPTIONS:
            return web.Response(status=204, headers=preflight_headers(cors))
        # The transport's coroutine is awaited right here, not under helpers of ours: a
        # WebSocket's handler stays suspended for the connection's life, every coroutine in
        # its chain with it, per socket (docs/performance.md).
        response = self._refusal(request)
        if response is None:
            response = await self._transports[request.query["transport"]](request, cors)
        if not response.prepared:
            response.headers.update(cors)
        return response

    def _refusal(self, request: web.Request) -> web.Response | None:
        """The handshake error answering a request no transport may serve, or None."""
        query = request.query
        if query.get("EIO") != str(eio.PROTOCOL_VERSION):
            return handshake_error(eio.UNSUPPORTED_PROTOCOL_VERSION)
        if query.get("transport", "") not in self._transports:
            return handshake_error(eio.UNKNOWN_TRANSPORT)
        if "sid" not in query:
            if self._closing:
                return handshake_error(SHUTTING_DOWN, status=503)
            refusal = self.sessions.refusal(client_address(request))
            if refusal is not None:
                response = handshake_error((eio.BAD_REQUEST[0], refusal), status=429)
                response.headers[hdrs.RETRY_AFTER] = RETRY_AFTER_SECONDS
                return response
        return None

    # Transports: plain functions returning the transport's coroutine (no frame of their own).

    def _serve_polling(self, request: web.Request, cors: dict[str, str]) -> Awaitable[web.StreamResponse]:
        return polling.serve(request, self.sessions, self.options, self.heartbeat, self._opened,
                             self.sessions.engine, cors)

    def _serve_websocket(self, request: web.Request, cors: dict[str, str]) -> Awaitable[web.StreamResponse]:
        if "sid" in request.query:  # a polling session upgrading
            return polling.upgrade(request, self.sessions.engine)
        return websocket.serve(request, self.sessions, self.options, self.heartbeat, self._opened)

    def _opened(self, engine: EngineSocket, request: web.BaseRequest) -> None:
        token = bearer_token(request.headers.get(hdrs.AUTHORIZATION)) or request.query.get("token") or None
        self.sessions.opened(engine, token, client_address(request))

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Deliver what the core publishes; prune the log and old sessions in the background."""
        self._closing = False
        self._unsubscribe = self.events.subscribe(self.delivery.on_published)
        self._pruning = asyncio.get_running_loop().create_task(self._prune_forever())

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
            try:
                await self.services.recovery.prune()
            except StoreUnavailable:
                pass  # requests and /readyz report it; try again next time
            except Exception:
                log.exception("pruning the event log failed")

    async def close(self) -> None:
        """Close every socket politely (close frame 1001), wait a little for them, drop the
        rest, and cancel every timer and pending announcement."""
        self._closing = True
        if self._pruning is not None:
            self._pruning.cancel()
            self._pruning = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.sessions.close_all(self.options.close_timeout + 1)
        await self.background.cancel()
        self.heartbeat.close()
        self.presence.close()

    async def until_no_sockets(self) -> None:
        """Return once every Engine.IO socket is finished."""
        await self.sessions.until_no_sockets()

    async def settled(self) -> None:
        """Return once no presence announcement or delivery is in flight."""
        await self.background.settled()

    def stats(self) -> dict[str, int]:
        """Sizes of every registry, for monitoring and leak tests."""
        clients = self.sessions.clients.values()
        return {
            "engine_sockets": len(clients),
            "polling_sessions": sum(isinstance(c.engine, polling.PollingEngineSocket) for c in clients),
            "connected": sum(1 for c in clients if c.connected),
            "rooms": self.rooms.room_count,
            "room_members": self.rooms.member_count,
            "tasks": len(self.background),
            **{f"presence_{k}": v for k, v in self.presence.stats().items()},
        }
