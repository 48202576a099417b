"""The Engine.IO session, independent of the transport that carries it.

`EngineSocket` is the boundary between transports and everything above them:

- the layer above (the Socket.IO gateway) calls `send()` / `send_frame()`, `close()` and
  `abort()`, and is told about each socket through an `EngineHandler`;
- a transport (`websocket.py`, and `polling.py`, which can later move onto a WebSocket)
  subclasses it and implements two hooks, `_wake()` (frames or a close are waiting: go and
  write them) and `_drop()` (tear the connection down now); otherwise it uses the public
  transport interface: `start()`, `receive()` / `receive_packet()` for incoming frames,
  `has_outgoing` and `take()` for outgoing ones, `closing_politely` and `close_code` for a
  polite close, and `finish()` when it is completely done with the session.

The socket owns what every transport shares: the handshake packet, the server heartbeat (ping
every `ping_interval`, drop when no pong within `ping_timeout`; its deadlines are kept by the
gateway's one `Heartbeat` timer), the bounded outgoing queue and the deadline of a polite close. A client that stopped reading never holds anything up: its
socket is dropped when its queue overflows, when it misses a pong (nothing is flushed to it),
and when a polite close (the queue, then a close frame or packet) is not done within
`close_timeout`.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import secrets
import socket
import struct
from abc import ABC, abstractmethod
from collections import deque
from typing import Protocol

from aiohttp import web

from . import engineio as eio
from .heartbeat import Deadline, Heartbeat
from .options import RealtimeOptions

log = logging.getLogger(__name__)

SID_BYTES = 15  # 20 URL-safe characters, like Engine.IO's own ids


def new_sid() -> str:
    return secrets.token_urlsafe(SID_BYTES)


RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets, discarding unsent data


def hang_up(transport: asyncio.BaseTransport | None) -> None:
    """Close a connection now with a reset: what the kernel still holds for a client that
    does not read is thrown away, not left to an orphaned socket."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
        except OSError:
            pass
    transport.abort()


def handshake_error(error: tuple[int, str], status: int = 400) -> web.Response:
    """The HTTP answer to a request no transport will serve: {"code","message"}, compact."""
    code, message = error
    body = json.dumps({"code": code, "message": message}, separators=(",", ":"))
    return web.Response(text=body, status=status, content_type="application/json")


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"  # flushing the queue, then closing politely, within close_timeout
    CLOSED = "closed"


class CloseReason:
    TRANSPORT_CLOSE = "transport close"  # the client went away
    CLIENT_CLOSE = "client close"  # the client sent an Engine.IO close packet
    SERVER_CLOSE = "server close"
    PING_TIMEOUT = "ping timeout"
    PARSE_ERROR = "parse error"
    QUEUE_OVERFLOW = "send queue overflow"
    TRANSPORT_ERROR = "transport error"
    SHUTDOWN = "server shutting down"


class CloseCode:
    """WebSocket close codes the server uses."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    POLICY_VIOLATION = 1008


class EngineHandler(Protocol):
    async def on_engine_message(self, sock: "EngineSocket", data: str | bytes) -> None:
        """A message packet arrived (text, or bytes from a binary frame)."""

    def on_engine_close(self, sock: "EngineSocket", reason: str) -> None:
        """The socket stopped being open; called exactly once, synchronously."""

    def on_engine_finished(self, sock: "EngineSocket") -> None:
        """The transport is completely done with the socket (after `on_engine_close`); called
        exactly once, synchronously."""

    def payload_limit(self, sock: "EngineSocket") -> int:
        """Bytes the socket may send in one frame or polling body now."""


class EngineSocket(ABC):
    transport_name = "abstract"
    upgrades: tuple[str, ...] = ()  # announced in the open packet

    # Slots: one of these per connection, for hours (docs/performance.md).
    __slots__ = ("sid", "options", "state", "close_reason", "_handler", "_heartbeat", "_loop", "_outbox", "_queued",
                 "_close_code", "_beat", "_awaiting_pong", "_close_timer", "_done", "_finished_flag")

    def __init__(self, options: RealtimeOptions, handler: EngineHandler, heartbeat: Heartbeat,
                 sid: str | None = None) -> None:
        self.sid = sid or options.sid_prefix + new_sid()
        self.options = options
        self.state = State.OPEN
        self.close_reason: str | None = None
        self._handler = handler
        self._heartbeat = heartbeat
        self._loop = asyncio.get_running_loop()
        # Frames waiting to be written; made only when one must wait (rare where the transport
        # writes idle sockets at once) and dropped when empty: an idle socket keeps no queue.
        self._outbox: deque[str | bytes] | None = None
        self._queued = 0  # characters (or bytes) waiting in the outbox
        self._close_code = CloseCode.NORMAL
        self._beat: Deadline | None = None  # the next ping, or the latest the pong may come
        self._awaiting_pong = False
        self._close_timer: asyncio.TimerHandle | None = None  # the deadline of a polite close
        self._done: asyncio.Future[None] | None = None
        self._finished_flag = False

    # --- for the layer above -------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    def send(self, packet: eio.Packet) -> bool:
        return self.send_frame(eio.encode(packet))

    def send_frame(self, frame: str | bytes) -> bool:
        """Queue one encoded frame without waiting. False when the socket is not open or was
        just dropped because its queue is full."""
        if self.state is not State.OPEN:
            return False
        size = len(frame)
        outbox = self._outbox
        if (
            (outbox is not None and len(outbox) >= self.options.max_queue_packets)
            or self._queued + size > self.options.max_queue_bytes
        ):
            log.info("dropping socket %s: client is not reading (send queue full)", self.sid)
            self.abort(CloseReason.QUEUE_OVERFLOW)
            return False
        if not outbox and self._write_now(frame):
            return True
        if outbox is None:
            outbox = self._outbox = deque()
        outbox.append(frame)
        self._queued += size
        self._wake()
        return True

    def close(self, reason: str = CloseReason.SERVER_CLOSE, *, code: int = CloseCode.NORMAL) -> None:
        """Send what is queued, then close the connection politely (a close frame); drop it
        when that is not done within `close_timeout`."""
        if self.state is not State.OPEN:
            return
        self._close_code = code
        self._leave_open(State.CLOSING, reason)
        self._close_timer = self._loop.call_later(self.options.close_timeout, self.abort, reason)
        self._wake()

    def abort(self, reason: str) -> None:
        """Tear the connection down now, discarding what is queued."""
        if self.state is State.CLOSED:
            return
        was_open = self.state is State.OPEN
        self.state = State.CLOSED
        self._outbox = None
        self._queued = 0
        self._stop_timers()
        if was_open:
            self.close_reason = reason
            self._notify_closed(reason)
        self._drop()

    async def wait_finished(self) -> None:
        """Return once the transport has completely finished with the connection."""
        if self._finished_flag:
            return
        if self._done is None:
            self._done = self._loop.create_future()
        await asyncio.shield(self._done)

    # --- for transports ------------------------------------------------------------------

    def start(self) -> None:
        """Send the handshake and start the heartbeat."""
        opts = self.options
        self.send(
            eio.open_packet(
                self.sid,
                ping_interval_ms=round(opts.ping_interval * 1000),
                ping_timeout_ms=round(opts.ping_timeout * 1000),
                max_payload=opts.max_payload,
                upgrades=self.upgrades,
            )
        )
        self._schedule_ping()

    async def receive(self, frame: str | bytes) -> None:
        """Handle one incoming frame. Never raises."""
        if self.state is not State.OPEN:
            return
        try:
            packet = eio.decode(frame, max_payload=self.options.max_payload)
        except eio.EngineIODecodeError as exc:
            log.debug("socket %s sent a bad frame: %s", self.sid, exc)
            self.close(CloseReason.PARSE_ERROR, code=CloseCode.PROTOCOL_ERROR)
            return
        await self.receive_packet(packet)

    async def receive_packet(self, packet: eio.Packet) -> None:
        """Handle one decoded incoming packet. Never raises."""
        if self.state is not State.OPEN:
            return
        kind = packet.type
        if kind == eio.MESSAGE:
            try:
                await self._handler.on_engine_message(self, packet.data)
            except Exception:
                log.exception("message handler failed on socket %s", self.sid)
                self.close(CloseReason.SERVER_CLOSE, code=CloseCode.POLICY_VIOLATION)
        elif kind == eio.PONG:
            self._pong_received()
        elif kind == eio.PING:
            # v4 clients do not ping, but answering costs nothing and helps hand-made clients.
            self.send(eio.Packet(eio.PONG, packet.data))
        elif kind == eio.CLOSE:
            self.close(CloseReason.CLIENT_CLOSE)
        elif kind in (eio.NOOP, eio.UPGRADE):
            pass
        else:  # OPEN is the server's to send
            self.close(CloseReason.PARSE_ERROR, code=CloseCode.PROTOCOL_ERROR)

    def take(self) -> str | bytes | None:
        outbox = self._outbox
        if not outbox:
            return None
        frame = outbox.popleft()
        self._queued -= len(frame)
        if not outbox:
            self._outbox = None
        return frame

    @property
    def has_outgoing(self) -> bool:
        """Frames wait to be taken."""
        return bool(self._outbox)

    @property
    def queued_frames(self) -> int:
        """How many frames wait to be taken."""
        return len(self._outbox) if self._outbox else 0

    def finish(self, reason: str = CloseReason.TRANSPORT_CLOSE) -> None:
        """The transport is done with the connection (whoever ended it)."""
        if self._finished_flag:
            return
        was_open = self.state is State.OPEN
        self.state = State.CLOSED
        if was_open:
            self.close_reason = reason
            self._notify_closed(reason)
        self._outbox = None
        self._queued = 0
        self._stop_timers()
        self._finished_flag = True
        try:
            self._handler.on_engine_finished(self)
        except Exception:
            log.exception("finish handler failed on socket %s", self.sid)
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    @property
    def closing_politely(self) -> bool:
        return self.state is State.CLOSING

    @property
    def close_code(self) -> int:
        """The WebSocket close code of a polite close."""
        return self._close_code

    def _write_now(self, frame: str | bytes) -> bool:
        """Write `frame` at once, without a queue or a task, when the transport can (nothing
        is waiting before it); False to take the queued path."""
        return False

    @abstractmethod
    def _wake(self) -> None:
        """Frames (or a polite close) are waiting to be written."""

    @abstractmethod
    def _drop(self) -> None:
        """Close the underlying connection now, without flushing."""

    # --- heartbeat -----------------------------------------------------------------------

    def on_heartbeat(self) -> None:
        """The heartbeat deadline came (`Heartbeat`): ping, or drop the socket whose pong is late."""
        self._beat = None
        if self.state is not State.OPEN:
            return
        if self._awaiting_pong:
            log.debug("socket %s did not answer a ping", self.sid)
            self.abort(CloseReason.PING_TIMEOUT)  # nothing is flushed to a client that is gone
            return
        self._awaiting_pong = True
        self._beat = self._heartbeat.after(self.options.ping_timeout, self)
        self.send(eio.Packet(eio.PING))

    def _schedule_ping(self) -> None:
        self._awaiting_pong = False
        self._beat = self._heartbeat.after(self.options.ping_interval, self)

    def _pong_received(self) -> None:
        if not self._awaiting_pong:
            return  # unsolicited pong
        self._beat.cancel()
        self._schedule_ping()

    def _stop_timers(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        self._awaiting_pong = False
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None

    # --- internals -----------------------------------------------------------------------

    def _leave_open(self, state: State, reason: str) -> None:
        self.state = state
        self.close_reason = reason
        self._stop_timers()
        self._notify_closed(reason)

    def _notify_closed(self, reason: str) -> None:
        try:
            self._handler.on_engine_close(self, reason)
        except Exception:
            log.exception("close handler failed on socket %s", self.sid)
