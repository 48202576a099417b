"""The real-time gateway: Socket.IO over Engine.IO, rooms, presence and live domain events.

Layers, bottom up:

- transports (`polling.py`, `websocket.py`) carry Engine.IO packets and implement
  `EngineSocket`; a polling session may upgrade to a WebSocket and stays the same socket;
- `Gateway` speaks Socket.IO on top of every `EngineSocket` (one `Client` each, namespace
  "/" only), keeps the room registry and presence, answers the client events and turns
  the core's domain events into the contract's server events.

No business rule lives here: who may join a task room, who a user's contacts are, whether a
token is good and how many notifications are unread is asked of the services. An answer about
access is asked again when access was revoked (a logout, a lost task) while it was being
asked, so that a revocation never misses a socket that was still waiting for its answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterable, TypeVar

from aiohttp import hdrs, web

from ..errors import DomainError, StoreUnavailable, Unauthorized
from ..events import NotificationEvent, NotificationsReadAll, TaskEvent, UserLoggedOut
from ..http.cors import ALLOW_HEADERS, allowed_origin, cors_headers
from . import engineio as eio
from . import polling
from . import socketio as sio
from . import websocket
from .engine import CloseCode, CloseReason, EngineSocket, handshake_error, new_sid
from .options import RealtimeOptions
from .presence import Presence
from .rooms import RoomRegistry

log = logging.getLogger(__name__)

PATH = "/socket.io/"
ELSEWHERE = PATH + "{tail:.+}"  # any other path under PATH: answered here, never by the REST API
PREFLIGHT_METHODS = "GET, POST, OPTIONS"
PREFLIGHT_MAX_AGE = "600"

# Contract messages.
NO_TOKEN = "no token provided"
INVALID_TOKEN = "invalid token"
INVALID_NAMESPACE = "Invalid namespace"
DATABASE_UNAVAILABLE = "database unavailable"
TASK_ID_REQUIRED = "taskId is required"
JOIN_REFUSED = "task not found or not yours"
TOO_MANY_ROOMS = "too many rooms"
UNKNOWN_EVENT = "unknown event"
BAD_USER_IDS = "userIds must be a list of user ids"
TOO_MANY_USER_IDS = "too many userIds"
INTERNAL_ERROR = "internal error"
SHUTTING_DOWN = (eio.BAD_REQUEST[0], "Server shutting down")  # answered 503

# Client → server events.
JOIN_TASK = "join:task"
LEAVE_TASK = "leave:task"
PRESENCE_GET = "presence:get"

# Server → client events.
TASK_CREATED = "task:created"
TASK_UPDATED = "task:updated"
TASK_ASSIGNED = "task:assigned"
TASK_DELETED = "task:deleted"
TASK_RESTORED = "task:restored"
NOTIFICATION_NEW = "notification:new"
NOTIFICATION_UPDATED = "notification:updated"
NOTIFICATION_COUNT = "notification:count"
PRESENCE_ONLINE = "presence:online"
PRESENCE_OFFLINE = "presence:offline"
PRESENCE_LIST = "presence:list"

TASK_EVENT_NAMES = {
    "created": TASK_CREATED,
    "updated": TASK_UPDATED,
    "assigned": TASK_ASSIGNED,
    "unassigned": TASK_ASSIGNED,
    "deleted": TASK_DELETED,
    "restored": TASK_RESTORED,
}


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def task_room(task_id: str) -> str:
    return f"task:{task_id}"


def event_frame(name: str, *args: Any) -> str:
    """An event as one ready-to-send Engine.IO text frame (encoded once per emit)."""
    return eio.encode(eio.Packet(eio.MESSAGE, sio.encode(sio.event(name, *args))))


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


class Client:
    """One Socket.IO client: an Engine.IO socket and its connection to namespace "/"."""

    __slots__ = ("engine", "fallback_token", "sid", "user_id", "connect_timer", "connecting")

    def __init__(self, engine: EngineSocket, fallback_token: str | None) -> None:
        self.engine = engine
        self.fallback_token = fallback_token  # from the Authorization header or ?token=
        self.sid: str | None = None  # the Socket.IO socket id, once connected to "/"
        self.user_id: str | None = None
        self.connect_timer: asyncio.TimerHandle | None = None
        # A CONNECT is being authenticated. Packets of one transport are handled one at a time,
        # but a polling session's POST still being handled when its upgraded WebSocket delivers
        # the next packet is a second, concurrent one.
        self.connecting = False

    @property
    def connected(self) -> bool:
        return self.sid is not None

    def send(self, packet: sio.Packet) -> bool:
        return self.engine.send(eio.Packet(eio.MESSAGE, sio.encode(packet)))

    def emit(self, name: str, *args: Any) -> bool:
        return self.engine.send_frame(event_frame(name, *args))

    def __repr__(self) -> str:
        return f"<Client engine={self.engine.sid} sid={self.sid} user={self.user_id}>"


Renderer = Callable[[dict], dict]
EventHandler = Callable[[Client, Any], Awaitable[Any]]
T = TypeVar("T")


class Gateway:
    def __init__(
        self,
        services,
        options: RealtimeOptions,
        *,
        render_task: Renderer,
        render_notification: Renderer,
    ) -> None:
        self.services = services
        # Read as connections open and events arrive; replacing it affects what follows, except
        # presence_grace, which the Presence below took here.
        self.options = options
        self.render_task = render_task
        self.render_notification = render_notification
        self.rooms: RoomRegistry[Client] = RoomRegistry()
        self.presence = Presence(options.presence_grace, self._grace_over)
        # Every Engine.IO socket by sid, from its handshake until its transport is done with it
        # (a closing socket too: shutdown reaches it, and polling requests find it).
        self._clients: dict[str, Client] = {}
        self._no_clients = asyncio.Event()
        self._no_clients.set()
        self._tasks: set[asyncio.Task] = set()
        self._closing = False
        self._unsubscribe: Callable[[], None] | None = None
        self._revocations = 0  # logouts and lost task accesses announced so far: see _ask
        self._transports: dict[str, Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]] = {
            polling.NAME: self._serve_polling,
            websocket.NAME: self._serve_websocket,
        }
        self._handlers: dict[str, EventHandler] = {
            JOIN_TASK: self._join_task,
            LEAVE_TASK: self._leave_task,
            PRESENCE_GET: self._presence_get,
        }

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
        response = await self._dispatch(request, cors)
        if not response.prepared:
            response.headers.update(cors)
        return response

    async def _dispatch(self, request: web.Request, cors: dict[str, str]) -> web.StreamResponse:
        query = request.query
        if query.get("EIO") != str(eio.PROTOCOL_VERSION):
            return handshake_error(eio.UNSUPPORTED_PROTOCOL_VERSION)
        serve = self._transports.get(query.get("transport", ""))
        if serve is None:
            return handshake_error(eio.UNKNOWN_TRANSPORT)
        if self._closing and "sid" not in query:
            return handshake_error(SHUTTING_DOWN, status=503)
        return await serve(request, cors)

    async def _serve_polling(self, request: web.Request, cors: dict[str, str]) -> web.StreamResponse:
        return await polling.serve(request, self, self.options, self._opened, self._engine, cors)

    async def _serve_websocket(self, request: web.Request, cors: dict[str, str]) -> web.StreamResponse:
        if "sid" in request.query:  # a polling session upgrading
            return await polling.upgrade(request, self._engine)
        return await websocket.serve(request, self, self.options, self._opened)

    def _engine(self, sid: str) -> EngineSocket | None:
        client = self._clients.get(sid)
        return client.engine if client is not None else None

    def _opened(self, engine: EngineSocket, request: web.BaseRequest) -> None:
        token = bearer_token(request.headers.get(hdrs.AUTHORIZATION)) or request.query.get("token") or None
        client = Client(engine, token)
        self._clients[engine.sid] = client
        self._no_clients.clear()
        self._start_connect_timer(client)

    # --- Engine.IO callbacks -------------------------------------------------------------

    async def on_engine_message(self, engine: EngineSocket, data: str | bytes) -> None:
        client = self._clients.get(engine.sid)
        if client is None:
            return
        if isinstance(data, bytes):
            self._protocol_error(client, "binary messages are not supported")
            return
        try:
            packet = sio.decode(data, self.options.socketio_limits)
        except sio.SocketIODecodeError as exc:
            self._protocol_error(client, str(exc))
            return
        kind = packet.type
        if kind == sio.CONNECT:
            await self._connect(client, packet)
        elif not client.connected or packet.namespace != sio.DEFAULT_NAMESPACE:
            self._protocol_error(client, f"{sio.PACKET_NAMES[kind]} packet before connecting")
        elif kind == sio.EVENT:
            await self._event(client, packet)
        elif kind == sio.DISCONNECT:
            self._detach(client)
            self._start_connect_timer(client)
        elif kind == sio.ACK:
            pass  # the server never asks clients for acks
        else:
            self._protocol_error(client, f"unexpected {sio.PACKET_NAMES[kind]} packet")

    def on_engine_close(self, engine: EngineSocket, reason: str) -> None:
        client = self._clients.get(engine.sid)
        if client is None:
            return
        self._cancel_connect_timer(client)
        self._detach(client)

    def on_engine_finished(self, engine: EngineSocket) -> None:
        self._clients.pop(engine.sid, None)
        if not self._clients:
            self._no_clients.set()

    def _protocol_error(self, client: Client, why: str) -> None:
        log.debug("closing %r: %s", client, why)
        client.engine.close(CloseReason.PARSE_ERROR, code=CloseCode.PROTOCOL_ERROR)

    # --- connecting ----------------------------------------------------------------------

    def _start_connect_timer(self, client: Client) -> None:
        loop = asyncio.get_running_loop()
        client.connect_timer = loop.call_later(self.options.connect_timeout, self._connect_timed_out, client)

    def _cancel_connect_timer(self, client: Client) -> None:
        if client.connect_timer is not None:
            client.connect_timer.cancel()
            client.connect_timer = None

    def _connect_timed_out(self, client: Client) -> None:
        client.connect_timer = None
        if not client.connected:
            log.debug("closing %r: no connect within %ss", client, self.options.connect_timeout)
            client.engine.close(CloseReason.SERVER_CLOSE, code=CloseCode.POLICY_VIOLATION)

    async def _connect(self, client: Client, packet: sio.Packet) -> None:
        if packet.namespace != sio.DEFAULT_NAMESPACE:
            client.send(sio.connect_error(INVALID_NAMESPACE, packet.namespace))
            return
        if client.connected or client.connecting:
            return  # already (being) connected; a repeated CONNECT changes nothing
        auth = packet.data if isinstance(packet.data, dict) else {}
        token = auth.get("token")
        if token is None or token == "":
            token = client.fallback_token
        if token is None:
            self._refuse(client, NO_TOKEN)
            return
        if not isinstance(token, str):
            self._refuse(client, INVALID_TOKEN)
            return
        client.connecting = True
        try:
            user = await self._ask(lambda: self.services.users.authenticate(token))
        except Unauthorized:
            self._refuse(client, INVALID_TOKEN)
            return
        except DomainError as exc:  # e.g. the database does not answer
            self._refuse(client, _failure(exc))
            return
        except Exception:
            log.exception("authenticating a socket failed")
            self._refuse(client, INTERNAL_ERROR)
            return
        finally:
            client.connecting = False
        if not client.engine.is_open:
            return
        self._cancel_connect_timer(client)
        user_id = user["_id"]
        client.sid = new_sid()
        client.user_id = user_id
        self.rooms.join(client, user_room(user_id))
        client.send(sio.connect(client.sid))
        if self.presence.connect(user_id):
            self._spawn(self._announce(user_id))
        try:
            unread = await self.services.notifications.unread_count(user_id)
        except Exception:
            log.warning("could not count unread notifications for %s", user_id, exc_info=True)
            return
        if client.user_id == user_id:
            client.emit(NOTIFICATION_COUNT, {"unread": unread})

    def _refuse(self, client: Client, message: str) -> None:
        client.send(sio.connect_error(message))
        client.engine.close(CloseReason.SERVER_CLOSE)

    def _detach(self, client: Client) -> None:
        """The client is no longer connected to "/": out of every room, one socket fewer."""
        user_id = client.user_id
        if user_id is None:
            return
        client.sid = None
        client.user_id = None
        self.rooms.leave_all(client)
        if self.presence.disconnect(user_id):
            self._spawn(self._announce(user_id))

    # --- client events -------------------------------------------------------------------

    async def _event(self, client: Client, packet: sio.Packet) -> None:
        name, args = packet.event, packet.args
        handler = self._handlers.get(name)
        sid = client.sid
        if handler is None:
            reply: Any = {"ok": False, "message": UNKNOWN_EVENT}
        else:
            try:
                reply = await handler(client, args[0] if args else None)
            except DomainError as exc:
                reply = {"ok": False, "message": _failure(exc)}
            except Exception:
                log.exception("handling %r from %r failed", name, client)
                reply = {"ok": False, "message": INTERNAL_ERROR}
        if packet.id is not None and client.sid == sid:
            client.send(sio.ack(packet.id, reply))

    async def _join_task(self, client: Client, payload: Any) -> dict:
        task_id = _task_id(payload)
        if task_id is None:
            return {"ok": False, "message": TASK_ID_REQUIRED}
        room = task_room(task_id)
        # The user room is one of the client's rooms; a room it is in already costs nothing.
        if self.rooms.count_of(client) > self.options.max_task_rooms and not self.rooms.is_member(client, room):
            return {"ok": False, "message": TOO_MANY_ROOMS}
        user_id, sid = client.user_id, client.sid
        allowed = await self._ask(lambda: self.services.tasks.can_join_room(user_id, task_id))
        if not allowed or client.sid != sid:
            return {"ok": False, "message": JOIN_REFUSED}
        self.rooms.join(client, room)
        return {"ok": True}

    async def _leave_task(self, client: Client, payload: Any) -> dict:
        task_id = _task_id(payload)
        if task_id is not None:  # leaving a room one is not in changes nothing
            self.rooms.leave(client, task_room(task_id))
        return {"ok": True}

    async def _presence_get(self, client: Client, payload: Any) -> dict:
        wanted = None
        if isinstance(payload, dict) and payload.get("userIds") is not None:
            wanted = payload["userIds"]
            if not isinstance(wanted, list) or not all(isinstance(u, str) for u in wanted):
                return {"ok": False, "message": BAD_USER_IDS}
            if len(wanted) > self.options.max_presence_query:
                return {"ok": False, "message": TOO_MANY_USER_IDS}
        user_id, sid = client.user_id, client.sid
        visible = await self.services.tasks.contacts(user_id) | {user_id}
        if wanted is not None:
            visible &= set(wanted)
        listing = {"users": self.presence.online_among(visible)}
        if client.sid == sid:
            client.emit(PRESENCE_LIST, listing)
        return listing

    # --- presence ------------------------------------------------------------------------

    def _grace_over(self, user_id: str) -> None:
        self._spawn(self._announce(user_id))

    async def _contacts(self, user_id: str) -> set[str]:
        try:
            return await self.services.tasks.contacts(user_id)
        except Exception:
            log.warning("could not load contacts of %s", user_id, exc_info=True)
            return set()

    async def _announce(self, user_id: str) -> None:
        """Tell the user's current contacts about a change of their presence, once per change.
        The state is read after asking for the contacts, so that racing announcements settle
        on the truth and are never repeated."""
        contacts = await self._contacts(user_id)
        if self.presence.take_change(user_id):
            name = PRESENCE_ONLINE if self.presence.is_online(user_id) else PRESENCE_OFFLINE
            self.emit(name, {"userId": user_id}, rooms=map(user_room, contacts))

    async def _introduce(self, event: TaskEvent) -> None:
        """Users who just gained access to a task may just have become contacts of the others
        it affects: tell each online pair of contacts with a newcomer in it that the other is
        online. (Contacts that part are told nothing.)"""
        online = [u for u in event.affected if self.presence.is_online(u)]
        for user_id in online:
            others = [u for u in online if u != user_id and event.gained_access & {u, user_id}]
            if not others:
                continue
            contacts = await self._contacts(user_id)
            if self.presence.is_online(user_id):  # still, after the wait
                self.emit(PRESENCE_ONLINE, {"userId": user_id}, rooms=[user_room(u) for u in others if u in contacts])

    # --- emitting ------------------------------------------------------------------------

    def emit(self, name: str, *args: Any, rooms: Iterable[str]) -> int:
        """Send an event to every socket in any of `rooms`, each once, without waiting for
        any of them. Returns how many sockets it was queued for."""
        recipients = self.rooms.recipients(rooms)
        if not recipients:
            return 0
        frame = event_frame(name, *args)
        return sum(1 for client in recipients if client.engine.send_frame(frame))

    def disconnect_user(self, user_id: str) -> int:
        """Disconnect every socket of `user_id`: a Socket.IO disconnect, then close."""
        clients = self.rooms.members(user_room(user_id))
        for client in clients:
            client.send(sio.disconnect())
            client.engine.close(CloseReason.SERVER_CLOSE)
        return len(clients)

    # --- domain events -------------------------------------------------------------------

    async def on_domain_event(self, event) -> None:
        if isinstance(event, TaskEvent):
            self._task_event(event)
        elif isinstance(event, NotificationEvent):
            name = NOTIFICATION_NEW if event.change == "created" else NOTIFICATION_UPDATED
            self.emit(name, self.render_notification(event.notification), rooms=[user_room(event.recipient)])
        elif isinstance(event, NotificationsReadAll):
            room = user_room(event.user_id)
            if self.rooms.members(room):
                unread = await self.services.notifications.unread_count(event.user_id)
                self.emit(NOTIFICATION_COUNT, {"unread": unread}, rooms=[room])
        elif isinstance(event, UserLoggedOut):
            self._revocations += 1
            self.disconnect_user(event.user_id)

    def _task_event(self, event: TaskEvent) -> None:
        name = TASK_EVENT_NAMES.get(event.change)
        if name is None:
            log.warning("no real-time event for task change %r", event.change)
            return
        task = event.task
        task_id = event.task_id
        payload = {**self.render_task(task), "taskId": task_id, "actor": event.actor}
        users = [task["user"], task.get("assignedTo")]
        with_task_room = event.change not in ("created", "restored")
        if name == TASK_ASSIGNED:
            payload["assignedBy"] = event.actor
            payload["previousAssignee"] = event.previous_assignee
            users.append(event.previous_assignee)
        rooms = [user_room(u) for u in users if u]
        if with_task_room:
            rooms.append(task_room(task_id))
        self.emit(name, payload, rooms=rooms)
        if event.lost_access:
            self._revocations += 1
            room = task_room(task_id)
            for user_id in event.lost_access:
                for client in self.rooms.members(user_room(user_id)):
                    self.rooms.leave(client, room)
        if event.gained_access:
            self._spawn(self._introduce(event))

    async def _ask(self, question: Callable[[], Awaitable[T]]) -> T:
        """The services' answer to a question about access, asked again if access was revoked
        meanwhile: that revocation's clean-up (disconnecting the user's sockets, taking them
        out of the task's room) could not find a socket still waiting for this answer, and
        the answer may predate it."""
        while True:
            revocations = self._revocations
            answer = await question()
            if self._revocations == revocations:
                return answer

    # --- lifecycle -----------------------------------------------------------------------

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start(self) -> None:
        self._closing = False
        self._unsubscribe = self.services.events.subscribe(self.on_domain_event)

    async def close(self) -> None:
        """Close every socket politely (close frame 1001), wait a little for them, drop the
        rest, and cancel every timer and pending announcement."""
        self._closing = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        engines = [client.engine for client in list(self._clients.values())]
        for engine in engines:  # those closing already finish within their own close deadline
            engine.close(CloseReason.SHUTDOWN, code=CloseCode.GOING_AWAY)
        if engines:
            waiting = [asyncio.ensure_future(engine.wait_finished()) for engine in engines]
            _, pending = await asyncio.wait(waiting, timeout=self.options.close_timeout + 1)
            for future in pending:
                future.cancel()
            for engine in engines:
                engine.abort(CloseReason.SHUTDOWN)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1)
        self.presence.close()

    async def until_no_sockets(self) -> None:
        """Return once every Engine.IO socket is finished."""
        await self._no_clients.wait()

    async def settled(self) -> None:
        """Return once no presence announcement is in flight."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def stats(self) -> dict[str, int]:
        """Sizes of every registry, for monitoring and leak tests."""
        return {
            "engine_sockets": len(self._clients),
            "polling_sessions": sum(isinstance(c.engine, polling.PollingEngineSocket) for c in self._clients.values()),
            "connected": sum(1 for c in self._clients.values() if c.connected),
            "rooms": self.rooms.room_count,
            "room_members": self.rooms.member_count,
            "tasks": len(self._tasks),
            **{f"presence_{k}": v for k, v in self.presence.stats().items()},
        }


def _failure(exc: DomainError) -> str:
    """What a client is told of a service's refusal: its message, but never a store's own
    words."""
    return DATABASE_UNAVAILABLE if isinstance(exc, StoreUnavailable) else exc.message


def _task_id(payload: Any) -> str | None:
    if isinstance(payload, dict):
        task_id = payload.get("taskId")
        if isinstance(task_id, str) and task_id:
            return task_id
    return None
