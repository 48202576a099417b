"""The Engine.IO long-polling transport, and the upgrade from it to a WebSocket.

A polling session is an `EngineSocket` reached through HTTP requests that carry its `sid`:

- `GET` is held until frames are waiting (the heartbeat queues a ping every pingInterval, so
  never longer than that), then answered with every waiting frame in one payload;
- `POST` carries a payload of packets from the client and is answered `ok`;
- a WebSocket request with the `sid` is an upgrade: `2probe` → `3probe`, the held `GET` is
  flushed (with a noop when nothing waits), `5`, and from then on the session runs on a
  `WebSocketLink` exactly like a session that started on a WebSocket.

All frames wait in the socket's one outgoing queue and each leaves it exactly once, through a
`GET` answer or the WebSocket; the client stops polling before it sends `5`, so nothing is
lost or delivered twice across the switch.

A session is closed when a second `GET` arrives while one is held, when its body is malformed
or larger than maxPayload, and when the client stops polling (no `GET` for pingInterval +
pingTimeout). When it is dropped, a `GET` answer still being written (to a client that does
not read it) is cut off with its connection. The gateway finds sessions by `sid` (`Lookup`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from types import MappingProxyType
from typing import Awaitable, Callable

from aiohttp import WSMsgType, hdrs, web

from ..errors import DomainError, PayloadTooLarge
from ..http import body as request_body
from . import engineio as eio
from . import websocket
from .engine import CloseReason, EngineHandler, EngineSocket, State, handshake_error, hang_up
from .heartbeat import Heartbeat
from .options import RealtimeOptions
from .websocket import WebSocketLink

log = logging.getLogger(__name__)

NAME = "polling"
CONTENT_TYPE = "text/plain; charset=UTF-8"  # what Engine.IO answers polls with
BINARY_CONTENT_TYPE = "application/octet-stream"  # Engine.IO v3 binary bodies; not in v4
OK_BODY = "ok"  # the answer to a POST
RESPONSE_HEADERS = MappingProxyType({hdrs.CONTENT_TYPE: CONTENT_TYPE, hdrs.CACHE_CONTROL: "no-store"})
PAYLOAD_TOO_LARGE = 413

Lookup = Callable[[str], EngineSocket | None]  # the open or closing Engine.IO session of a sid


def _connection_gone(request: web.BaseRequest) -> bool:
    tcp = request.transport
    return tcp is None or tcp.is_closing()


class Poll(enum.Enum):
    """Where a session's GET side stands."""

    IDLE = "idle"  # no GET in hand: the expiry timer runs
    HELD = "held"  # a GET waits for frames
    ANSWERING = "answering"  # a GET's answer is being taken and written


class Carrier(enum.Enum):
    """What carries a session's frames to the client."""

    POLLING = "polling"
    PROBING = "probing"  # a WebSocket upgrade is being probed; polls still carry frames
    WEBSOCKET = "websocket"  # upgraded: the link carries everything, both ways


class PollingEngineSocket(EngineSocket):
    upgrades = (websocket.NAME,)
    __slots__ = ("poll", "carrier", "posting", "_get", "_wakeup", "_probe", "_link", "_reading", "_expiry",
                 "_last_frame")

    def __init__(self, options: RealtimeOptions, handler: EngineHandler, heartbeat: Heartbeat) -> None:
        super().__init__(options, handler, heartbeat)
        self.poll = Poll.IDLE
        self.carrier = Carrier.POLLING
        self.posting = False  # a POST is being handled (one at a time)
        self._get: web.BaseRequest | None = None  # the GET in hand, unless IDLE
        self._wakeup: asyncio.Future[None] | None = None  # what a HELD GET waits on
        self._probe: web.BaseRequest | None = None  # the upgrade request, while PROBING
        self._link: WebSocketLink | None = None  # the WebSocket, once WEBSOCKET
        self._reading: web.BaseRequest | None = None  # the POST whose body is being read
        self._expiry: asyncio.TimerHandle | None = None  # no GET for too long
        self._last_frame = eio.CLOSE_FRAME  # ends the final answer of a closed session

    @property
    def transport_name(self) -> str:  # type: ignore[override]
        return websocket.NAME if self.carrier is Carrier.WEBSOCKET else NAME

    # --- GET: the long poll ---------------------------------------------------------------

    async def get(self, request: web.BaseRequest, headers: dict[str, str]) -> web.StreamResponse:
        """Answer one GET: at once when frames wait, else once they do."""
        if self.carrier is Carrier.WEBSOCKET or self.state is State.CLOSED:
            return handshake_error(eio.BAD_REQUEST)
        if self.poll is not Poll.IDLE:
            log.debug("socket %s: a GET while another is pending; closing", self.sid)
            self.abort(CloseReason.TRANSPORT_ERROR)
            return handshake_error(eio.BAD_REQUEST)
        self._cancel_expiry()
        self._get = request
        self.poll = Poll.ANSWERING if self._answer_now() else Poll.HELD
        sent_close = False
        try:
            if self.poll is Poll.HELD:
                self._wakeup = asyncio.get_running_loop().create_future()
                try:
                    await self._wakeup
                finally:
                    self._wakeup = None
                self.poll = Poll.ANSWERING
            if _connection_gone(request):  # take nothing: it would be lost
                self.abort(CloseReason.TRANSPORT_CLOSE)
                return web.Response(status=400)
            body, sent_close = self._take_payload()
            return await self._respond(request, body, headers)
        except asyncio.CancelledError:  # the host cancels handlers of vanished clients
            self.abort(CloseReason.TRANSPORT_CLOSE)
            raise
        finally:
            self.poll = Poll.IDLE
            self._get = None
            if self.state is State.CLOSING:
                if sent_close or not self._lingers:
                    self.finish()
            elif self.state is State.OPEN and self.carrier is not Carrier.WEBSOCKET:
                self._start_expiry()

    def _answer_now(self) -> bool:
        return self.has_outgoing or self.state is not State.OPEN or self.carrier is not Carrier.POLLING

    def _take_payload(self) -> tuple[str, bool]:
        """Every waiting frame as one payload, and whether it closes the session.

        A polite close sends what is queued first and the close packet in the next answer,
        as Engine.IO does: socket.io-client acts on a close packet at once but on the
        messages before it a tick later, so a `41` sharing its payload would be lost. On
        shutdown no next poll can come: everything goes at once."""
        if self.carrier is Carrier.WEBSOCKET:  # upgraded meanwhile: frames go over the WebSocket now
            return eio.NOOP_FRAME, False
        frames: list[str | bytes] = []
        while (frame := self.take()) is not None:
            frames.append(frame)
        closing = self.state is not State.OPEN and (not frames or not self._lingers)
        if closing:
            frames.append(self._last_frame)
        elif not frames:
            frames.append(eio.NOOP_FRAME)
        return eio.encode_frames(frames), closing

    async def _respond(self, request: web.BaseRequest, body: str, headers: dict[str, str]) -> web.StreamResponse:
        data = body.encode("utf-8")
        response = web.StreamResponse(headers={**headers, **RESPONSE_HEADERS})
        response.content_length = len(data)
        try:
            await response.prepare(request)
            await response.write(data)
            await response.write_eof()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection broke under us
            log.debug("socket %s: poll answer failed: %r", self.sid, exc)
            self.abort(CloseReason.TRANSPORT_ERROR)
        return response

    # --- POST: packets from the client ---------------------------------------------------

    async def post(self, request: web.BaseRequest) -> web.StreamResponse:
        if self.carrier is Carrier.WEBSOCKET or self.state is State.CLOSED:
            return handshake_error(eio.BAD_REQUEST)
        if self.posting:
            log.debug("socket %s: a POST while another is in progress; closing", self.sid)
            self.abort(CloseReason.TRANSPORT_ERROR)
            return handshake_error(eio.BAD_REQUEST)
        self.posting = True
        try:
            return await self._post(request)
        finally:
            self.posting = False

    async def _post(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.content_type == BINARY_CONTENT_TYPE:
            self.close(CloseReason.PARSE_ERROR)
            return handshake_error(eio.BAD_REQUEST)
        self._reading = request
        try:
            limit = self._handler.payload_limit(self)
            body = await request_body.read_body(request, limit=limit, timeout=self.options.body_timeout)
        except PayloadTooLarge:
            log.debug("socket %s: POST body larger than %s bytes; closing", self.sid, limit)
            self.close(CloseReason.TRANSPORT_ERROR)
            return handshake_error(eio.BAD_REQUEST, status=PAYLOAD_TOO_LARGE)
        except (DomainError, request_body.ClientGone) as exc:  # malformed, unsupported encoding, too slow, gone
            log.debug("socket %s: bad POST body: %r", self.sid, exc)
            self.close(CloseReason.TRANSPORT_ERROR)
            return handshake_error(eio.BAD_REQUEST)
        finally:
            self._reading = None
        if self.state is not State.OPEN:  # the session ended while its body arrived
            return handshake_error(eio.BAD_REQUEST)
        try:
            packets = eio.decode_payload(body.decode("utf-8"), max_payload=self.options.max_payload)
        except (UnicodeDecodeError, eio.EngineIODecodeError) as exc:
            log.debug("socket %s sent a bad payload: %s", self.sid, exc)
            self.close(CloseReason.PARSE_ERROR)
            return handshake_error(eio.BAD_REQUEST)
        for packet in packets:
            if packet.type == eio.CLOSE:
                self._client_closed()
                break
            await self.receive_packet(packet)
        return web.Response(text=OK_BODY, headers=RESPONSE_HEADERS)

    def _client_closed(self) -> None:
        """The client sent `1`: it is gone, and a poll it left pending just ends (noop)."""
        self._last_frame = eio.NOOP_FRAME
        self.abort(CloseReason.CLIENT_CLOSE)

    # --- the upgrade to a WebSocket -------------------------------------------------------

    async def upgrade(self, request: web.BaseRequest) -> web.StreamResponse:
        """Serve a WebSocket opened with this session's sid: probe, switch, then carry the
        session until the WebSocket ends."""
        if self.state is not State.OPEN or self.carrier is not Carrier.POLLING:
            return handshake_error(eio.BAD_REQUEST)
        ws = websocket.new_response(self.options, self._handler.payload_limit(self))
        if not ws.can_prepare(request).ok:
            return handshake_error(eio.BAD_REQUEST)
        await ws.prepare(request)
        self.carrier, self._probe = Carrier.PROBING, request
        stage = eio.UpgradeStage.AWAIT_PROBE
        try:
            async with asyncio.timeout(self.options.upgrade_timeout):
                while stage in (eio.UpgradeStage.AWAIT_PROBE, eio.UpgradeStage.AWAIT_UPGRADE):
                    msg = await ws.receive()
                    if msg.type is not WSMsgType.TEXT:
                        stage = eio.UpgradeStage.FAILED
                        break
                    stage, reply = eio.upgrade_step(stage, msg.data)
                    if reply is not None:
                        await ws.send_str(reply)
                    if stage is eio.UpgradeStage.AWAIT_UPGRADE:
                        self._release_held()  # end the pending poll so that the client can switch
        except TimeoutError:
            stage = eio.UpgradeStage.FAILED
        except (ConnectionError, RuntimeError) as exc:
            log.debug("socket %s: upgrade failed: %r", self.sid, exc)
            stage = eio.UpgradeStage.FAILED
        finally:
            self.carrier, self._probe = Carrier.POLLING, None
        if stage is not eio.UpgradeStage.DONE or self.state is State.CLOSED:
            log.debug("socket %s: upgrade abandoned; staying on polling", self.sid)
            await self._close_probe(ws, request)
            return ws
        self._switch(ws, request)
        assert self._link is not None
        await self._link.serve()
        return ws

    async def _close_probe(self, ws: web.WebSocketResponse, request: web.BaseRequest) -> None:
        try:
            async with asyncio.timeout(self.options.close_timeout):
                await ws.close()
        except Exception:
            pass
        hang_up(request.transport)

    def _switch(self, ws: web.WebSocketResponse, request: web.BaseRequest) -> None:
        log.debug("socket %s: upgraded to websocket", self.sid)
        self._link = WebSocketLink(self, ws, request)
        websocket.release_headers(request, ws)
        self.carrier = Carrier.WEBSOCKET
        self._cancel_expiry()
        self._release_held()  # a poll still held ends with a noop
        if self.has_outgoing or self.state is State.CLOSING:
            self._link.wake()

    # --- EngineSocket --------------------------------------------------------------------

    def _wake(self) -> None:
        if self._link is not None:
            self._link.wake()
        elif self.poll is Poll.HELD:
            self._release_held()
        elif self.state is State.CLOSING and self.poll is Poll.IDLE and not self._lingers:
            self.finish()

    def _write_now(self, frame: str | bytes) -> bool:
        return self._link is not None and self._link.write_now(frame)  # upgraded: as a WebSocket session

    def _drop(self) -> None:
        if self._link is not None:
            self._link.drop()  # its reader finishes the session
        else:
            self.finish()

    def finish(self, reason: str = CloseReason.TRANSPORT_CLOSE) -> None:
        self._cancel_expiry()
        self._release_held()  # it answers the close packet
        answering = self._get if self.poll is Poll.ANSWERING else None
        # An answer the client does not read, and a body still arriving for a session that is gone.
        for request in (answering, self._probe, self._reading):
            if request is not None:
                hang_up(request.transport)
        super().finish(reason)

    # --- timers --------------------------------------------------------------------------

    @property
    def _lingers(self) -> bool:
        """Whether a polite close waits (within the close deadline) for one more poll to
        deliver the close packet: not on shutdown, when the server takes no more requests
        (Engine.IO discards it likewise)."""
        return self.close_reason != CloseReason.SHUTDOWN

    def _release_held(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def _start_expiry(self) -> None:
        self._cancel_expiry()
        opts = self.options
        self._expiry = asyncio.get_running_loop().call_later(opts.ping_interval + opts.ping_timeout, self._expired)

    def _cancel_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def _expired(self) -> None:
        self._expiry = None
        if self.state is State.OPEN and self.poll is Poll.IDLE and self.carrier is not Carrier.WEBSOCKET:
            log.debug("socket %s stopped polling", self.sid)
            self.abort(CloseReason.PING_TIMEOUT)


# --- HTTP entry points ------------------------------------------------------------------------


def _session(find: Lookup, request: web.BaseRequest) -> PollingEngineSocket | None:
    sock = find(request.query.get("sid", ""))
    return sock if isinstance(sock, PollingEngineSocket) else None


async def serve(request: web.Request, handler: EngineHandler, options: RealtimeOptions, heartbeat: Heartbeat,
                on_open, find: Lookup, headers: dict[str, str]) -> web.StreamResponse:
    """Handle one HTTP request of the polling transport: the handshake (a GET without `sid`),
    a poll (GET) or packets (POST). `headers` (CORS) go on the answers to GETs."""
    if "sid" not in request.query:
        if request.method != hdrs.METH_GET:
            return handshake_error(eio.BAD_HANDSHAKE_METHOD)
        sock = PollingEngineSocket(options, handler, heartbeat)
        on_open(sock, request)
        sock.start()  # the open packet waits in the queue: this first GET takes it
        return await sock.get(request, headers)
    sock = _session(find, request)
    if sock is None:
        return handshake_error(eio.UNKNOWN_SID)
    if request.method == hdrs.METH_GET:
        return await sock.get(request, headers)
    if request.method == hdrs.METH_POST:
        return await sock.post(request)
    return handshake_error(eio.BAD_REQUEST)


def upgrade(request: web.Request, find: Lookup) -> Awaitable[web.StreamResponse]:
    """Handle `GET /socket.io/?EIO=4&transport=websocket&sid=<sid>`: a polling session moving
    onto a WebSocket. A plain function returning the session's coroutine, so that the
    connection's life adds no frame of its own (docs/performance.md)."""
    sock = _session(find, request)
    if sock is None:
        return _answer(handshake_error(eio.UNKNOWN_SID))
    return sock.upgrade(request)


async def _answer(response: web.StreamResponse) -> web.StreamResponse:
    return response
