"""The Socket.IO session layer: one `Client` per Engine.IO socket, namespace "/" only.

It connects clients (the CONNECT packet, its token, the connect deadline), answers the client
events (`join:task`, `leave:task`, `presence:get`) with their acks, puts connected sockets in
their user room, reports arrivals and departures to presence, and disconnects a user's sockets
when asked. It is the `EngineHandler` of every Engine.IO socket.

Connection state recovery (REALTIME.md): a client that sends `"recover": true` gets a session
(a pid in the CONNECT answer, offsets on logged events); coming back with that pid within the
window, it gets its sid back, its missed events (asked of the recovery service) right after
the CONNECT answer, then its rooms, all without yielding in between: what is delivered live
afterwards up to the replay's end (`skip_through`) is not sent twice, and nothing newer is
sent before the replay.

No business rule lives here: whether a token is good, who may join a task room, who a user's
contacts are and how many notifications are unread is asked of the services. An answer about
access is asked again when access was revoked (a logout, a lost task) while it was being
asked, so that a revocation never misses a socket that was still waiting for its answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, TypeVar

from ..errors import DomainError, StoreUnavailable, Unauthorized
from ..store import SessionRecord
from . import engineio as eio
from . import socketio as sio
from .announcer import PresenceAnnouncer
from .background import Background
from .broadcaster import Broadcaster, event_frame, task_ids, task_room, user_room
from .engine import CloseCode, CloseReason, EngineSocket, new_sid
from .options import RealtimeOptions

log = logging.getLogger(__name__)

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
TOKEN_EXPIRED = "token expired"
TOKEN_REQUIRED = "token is required"
OTHER_USER = "token is for another user"
TOO_MANY_SOCKETS = "too many sockets for this user"
TOO_MANY_FROM_ADDRESS = "too many unauthenticated connections from this address"
TOO_MANY_UNAUTHENTICATED = "too many unauthenticated connections"

# Why an Engine.IO socket closed, when its Socket.IO session is not kept for recovery: the
# server ended it (a logout, a refusal) or the client broke the protocol.
UNRECOVERABLE = frozenset({CloseReason.SERVER_CLOSE, CloseReason.PARSE_ERROR})

# Client → server events.
JOIN_TASK = "join:task"
LEAVE_TASK = "leave:task"
PRESENCE_GET = "presence:get"
AUTH_REFRESH = "auth:refresh"

# Server → client events sent by this layer.
NOTIFICATION_COUNT = "notification:count"
PRESENCE_LIST = "presence:list"


class Client:
    """One Socket.IO client: an Engine.IO socket and its connection to namespace "/"."""

    __slots__ = ("engine", "fallback_token", "address", "sid", "user_id", "connect_timer", "connecting", "session",
                 "skip_through", "expiry")

    def __init__(self, engine: EngineSocket, fallback_token: str | None, address: str) -> None:
        self.engine = engine
        self.fallback_token = fallback_token  # from the Authorization header or ?token=
        self.address = address  # the client's
        self.sid: str | None = None  # the Socket.IO socket id, once connected to "/"
        self.user_id: str | None = None
        self.connect_timer: asyncio.TimerHandle | None = None
        # A CONNECT is being authenticated. Packets of one transport are handled one at a time,
        # but a polling session's POST still being handled when its upgraded WebSocket delivers
        # the next packet is a second, concurrent one.
        self.connecting = False
        self.session: SessionRecord | None = None  # opted into connection state recovery
        self.skip_through = 0  # logged events up to this offset were replayed (or were not its)
        self.expiry: asyncio.TimerHandle | None = None  # when the token it connected with expires

    @property
    def connected(self) -> bool:
        return self.sid is not None

    @property
    def recovers(self) -> bool:
        """Whether logged events carry their offset to this client."""
        return self.session is not None

    def send(self, packet: sio.Packet) -> bool:
        return self.engine.send(eio.Packet(eio.MESSAGE, sio.encode(packet)))

    def send_frame(self, frame: str) -> bool:
        return self.engine.send_frame(frame)

    def emit(self, name: str, *args: Any) -> bool:
        return self.engine.send_frame(event_frame(name, *args))

    def __repr__(self) -> str:
        return f"<Client engine={self.engine.sid} sid={self.sid} user={self.user_id}>"


EventHandler = Callable[[Client, Any], Awaitable[Any]]
T = TypeVar("T")


class Sessions:
    def __init__(self, services, options: RealtimeOptions, broadcaster: Broadcaster,
                 announcer: PresenceAnnouncer, background: Background) -> None:
        self.services = services
        self.recovery = services.recovery
        self.options = options  # read as connections open and events arrive
        self.broadcaster = broadcaster
        self.announcer = announcer
        self.background = background
        # Every Engine.IO socket by sid, from its handshake until its transport is done with it
        # (a closing socket too: shutdown reaches it, and polling requests find it).
        self.clients: dict[str, Client] = {}
        self._no_clients = asyncio.Event()
        self._no_clients.set()
        self._revocations = 0  # logouts and lost task accesses announced so far: see _ask
        self._unauthenticated: Counter[str] = Counter()  # open sockets not connected to "/", by address
        self._unauthenticated_total = 0
        self._handlers: dict[str, EventHandler] = {
            JOIN_TASK: self._join_task,
            LEAVE_TASK: self._leave_task,
            PRESENCE_GET: self._presence_get,
            AUTH_REFRESH: self._refresh,
        }

    def engine(self, sid: str) -> EngineSocket | None:
        """The open or closing Engine.IO socket of `sid` (the polling transport's lookup)."""
        client = self.clients.get(sid)
        return client.engine if client is not None else None

    def refusal(self, address: str) -> str | None:
        """Why a new Engine.IO socket from `address` may not open now, or None."""
        if self._unauthenticated[address] >= self.options.max_unauthenticated_per_address:
            return TOO_MANY_FROM_ADDRESS
        if self._unauthenticated_total >= self.options.max_unauthenticated:
            return TOO_MANY_UNAUTHENTICATED
        return None

    def _count_unauthenticated(self, client: Client, change: int) -> None:
        self._unauthenticated[client.address] += change
        self._unauthenticated_total += change
        if self._unauthenticated[client.address] <= 0:
            del self._unauthenticated[client.address]

    def opened(self, engine: EngineSocket, fallback_token: str | None, address: str) -> None:
        """A transport opened an Engine.IO socket: it has `connect_timeout` to connect to "/"."""
        client = Client(engine, fallback_token, address)
        self._count_unauthenticated(client, +1)
        self.clients[engine.sid] = client
        self._no_clients.clear()
        self._start_connect_timer(client)

    async def until_no_sockets(self) -> None:
        await self._no_clients.wait()

    # --- Engine.IO callbacks -------------------------------------------------------------

    async def on_engine_message(self, engine: EngineSocket, data: str | bytes) -> None:
        client = self.clients.get(engine.sid)
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
            self._detach(client, recoverable=False)  # the client left on purpose
            self._start_connect_timer(client)
        elif kind == sio.ACK:
            pass  # the server never asks clients for acks
        else:
            self._protocol_error(client, f"unexpected {sio.PACKET_NAMES[kind]} packet")

    def on_engine_close(self, engine: EngineSocket, reason: str) -> None:
        client = self.clients.get(engine.sid)
        if client is None:
            return
        self._cancel_connect_timer(client)
        self._detach(client, recoverable=reason not in UNRECOVERABLE)

    def on_engine_finished(self, engine: EngineSocket) -> None:
        client = self.clients.pop(engine.sid, None)
        if client is not None and not client.connected:
            self._count_unauthenticated(client, -1)
        if not self.clients:
            self._no_clients.set()

    def payload_limit(self, engine: EngineSocket) -> int:
        client = self.clients.get(engine.sid)
        connected = client is not None and client.connected
        return self.options.max_payload if connected else self.options.unauthenticated_payload

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
            user, expires = await self._ask(lambda: self.services.users.authenticate_until(token))
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
        user_id = user.id
        replay = session = None
        if auth.get("recover") is True and self.recovery.enabled:
            try:
                if "pid" in auth:
                    replay = await self.recovery.recover(user_id, auth["pid"], auth.get("offset"))
                session = replay.session if replay else await self.recovery.open(user_id, new_sid())
            except Exception:  # e.g. the database does not answer: connect, just without recovery
                log.warning("connection state recovery failed for %s", user_id, exc_info=True)
            if not client.engine.is_open:
                return
        # From here to the rooms, nothing yields: see the module's docstring.
        if len(self.broadcaster.members(user_room(user_id))) >= self.options.max_sockets_per_user:
            self._refuse(client, TOO_MANY_SOCKETS)
            return
        self._cancel_connect_timer(client)
        self._count_unauthenticated(client, -1)
        client.sid = session.sid if session else new_sid()
        client.user_id = user_id
        client.session = session
        client.send(sio.connect(client.sid, pid=session.pid if session else None))
        self._expire_at(client, expires)
        rooms = self.broadcaster.rooms
        rooms.join(client, user_room(user_id))
        if replay is not None:
            for entry in replay.missed:
                client.send_frame(event_frame(entry.event, entry.payload, entry.offset))
            client.skip_through = replay.through
            for task_id in replay.rooms:
                rooms.join(client, task_room(task_id))
            self._save_session(client)
        self.announcer.arrived(user_id)
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

    def _detach(self, client: Client, *, recoverable: bool) -> None:
        """The client is no longer connected to "/": out of every room, one socket fewer, and
        its session (if it has one) kept for recovery or ended."""
        user_id = client.user_id
        if user_id is None:
            return
        client.sid = None
        client.user_id = None
        self._count_unauthenticated(client, +1)
        self._cancel_expiry(client)
        left = self.broadcaster.rooms.leave_all(client)
        self.announcer.left(user_id)
        session, client.session = client.session, None
        if session is not None:
            if recoverable:
                rooms = tuple(sorted(task_ids(left)))
                self.background.spawn(self.recovery.dropped(replace(session, rooms=rooms)))
            else:
                self.background.spawn(self.recovery.end(session.pid))

    def _save_session(self, client: Client) -> None:
        """Store the session's current task rooms (in order: spawned tasks start in order)."""
        if client.session is not None:
            rooms = tuple(sorted(task_ids(self.broadcaster.rooms.rooms_of(client))))
            client.session = replace(client.session, rooms=rooms)
            self.background.spawn(self.recovery.save(client.session))

    # --- token expiry --------------------------------------------------------------------

    def _expire_at(self, client: Client, expires: float) -> None:
        """Disconnect `client` when its token expires (`expires`: epoch seconds)."""
        self._cancel_expiry(client)
        delay = max(0.0, expires - time.time())
        client.expiry = asyncio.get_running_loop().call_later(delay, self._token_expired, client)

    def _cancel_expiry(self, client: Client) -> None:
        if client.expiry is not None:
            client.expiry.cancel()
            client.expiry = None

    def _token_expired(self, client: Client) -> None:
        client.expiry = None
        if client.connected:
            log.debug("closing %r: token expired", client)
            self._detach(client, recoverable=True)  # no event reaches it now; a fresh token may recover them
            self._refuse(client, TOKEN_EXPIRED)

    async def _refresh(self, client: Client, payload: Any) -> dict:
        """`auth:refresh` `{"token"}`: the socket lives on until the new token expires."""
        token = payload.get("token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            return {"ok": False, "message": TOKEN_REQUIRED}
        user_id, sid = client.user_id, client.sid
        try:
            user, expires = await self._ask(lambda: self.services.users.authenticate_until(token))
        except Unauthorized:
            return {"ok": False, "message": INVALID_TOKEN}
        if user.id != user_id:
            return {"ok": False, "message": OTHER_USER}
        if client.sid != sid:  # disconnected meanwhile
            return {"ok": False, "message": TOKEN_EXPIRED}
        self._expire_at(client, expires)
        return {"ok": True, "expiresAt": _iso(expires)}

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
        rooms = self.broadcaster.rooms
        # The user room is one of the client's rooms; a room it is in already costs nothing.
        if rooms.count_of(client) > self.options.max_task_rooms and not rooms.is_member(client, room):
            return {"ok": False, "message": TOO_MANY_ROOMS}
        user_id, sid = client.user_id, client.sid
        joined = await self._ask(lambda: self.services.tasks.join_room(user_id, task_id))
        if joined is None or client.sid != sid:
            return {"ok": False, "message": JOIN_REFUSED}
        if rooms.join(client, room):
            self._save_session(client)
        self.announcer.introduce(joined.met, everywhere=True)
        return {"ok": True}

    async def _leave_task(self, client: Client, payload: Any) -> dict:
        task_id = _task_id(payload)
        # Leaving a room one is not in changes nothing.
        if task_id is not None and self.broadcaster.rooms.leave(client, task_room(task_id)):
            self._save_session(client)
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
        listing = {"users": await self.announcer.presence.online_among(visible)}
        if client.sid == sid:
            client.emit(PRESENCE_LIST, listing)
        return listing

    # --- revocations ---------------------------------------------------------------------

    def revoked(self) -> None:
        """Access was just revoked somewhere (a logout, a lost task): answers about access
        being awaited now are asked again."""
        self._revocations += 1

    def disconnect_user(self, user_id: str) -> int:
        """Disconnect every socket of `user_id`: a Socket.IO disconnect, then close."""
        self.revoked()
        clients = self.broadcaster.members(user_room(user_id))
        for client in clients:
            client.send(sio.disconnect())
            client.engine.close(CloseReason.SERVER_CLOSE)
        return len(clients)

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

    # --- shutdown ------------------------------------------------------------------------

    async def close_all(self, timeout: float) -> None:
        """Close every socket politely (close frame 1001), wait up to `timeout` for them,
        then drop the rest."""
        engines = [client.engine for client in list(self.clients.values())]
        for engine in engines:  # those closing already finish within their own close deadline
            engine.close(CloseReason.SHUTDOWN, code=CloseCode.GOING_AWAY)
        if not engines:
            return
        waiting = [asyncio.ensure_future(engine.wait_finished()) for engine in engines]
        _, pending = await asyncio.wait(waiting, timeout=timeout)
        for future in pending:
            future.cancel()
        for engine in engines:
            engine.abort(CloseReason.SHUTDOWN)


def _failure(exc: DomainError) -> str:
    """What a client is told of a service's refusal: its message, but never a store's own
    words."""
    return DATABASE_UNAVAILABLE if isinstance(exc, StoreUnavailable) else exc.message


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _task_id(payload: Any) -> str | None:
    if isinstance(payload, dict):
        task_id = payload.get("taskId")
        if isinstance(task_id, str) and task_id:
            return task_id
    return None
