"""The Engine.IO WebSocket transport on aiohttp: one frame per packet.

`WebSocketLink` carries one `EngineSocket`'s frames over one aiohttp WebSocket: the request
handler task reads frames and feeds them to the socket; writing is done by a short-lived writer
task, started only while there is something to write, so that an idle socket costs one
suspended handler and no other task. `WebSocketEngineSocket` is a session that starts on a
WebSocket; a long-polling session that upgrades (`polling.py`) moves onto a link of its own.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import WSMsgType, hdrs, web
from multidict import CIMultiDict

from . import engineio as eio
from .engine import CloseReason, EngineHandler, EngineSocket, handshake_error, hang_up
from .frames import wire_form
from .heartbeat import Heartbeat
from .options import RealtimeOptions

log = logging.getLogger(__name__)

NAME = "websocket"
# What the access log shows of a request when its connection ends (tasktrek.http.server.AccessLogger).
LOGGED_HEADERS = (hdrs.REFERER, hdrs.USER_AGENT, hdrs.X_FORWARDED_FOR)


def new_response(options: RealtimeOptions, max_frame: int) -> web.WebSocketResponse:
    """The server side of one WebSocket, with the gateway's limits (`max_frame`: bytes in one
    incoming frame, fixed while it is open)."""
    return web.WebSocketResponse(
        max_msg_size=max_frame,
        compress=False,
        autoping=True,
        autoclose=True,
        timeout=options.close_timeout,
    )


def release_headers(request: web.BaseRequest, ws: web.WebSocketResponse) -> None:
    """Let go of the handshake's headers once the session has what it needs of them (its
    token, the client's address), but for those the access log shows when the connection
    ends. aiohttp keeps the request, and the message it was parsed from, until the handler
    returns, which for a WebSocket is when the connection ends. Served by
    `tasktrek.http.server.Runner` (the command line, the bench), the message's headers are a
    mutable multidict of their own, cleared here in place (~1.1 KB per socket for a bare
    client, more for a browser: cookies); under another runner they are aiohttp's read-only
    proxy and stay. The answer's headers were written with the handshake and are read by
    nobody since."""
    ws.headers.clear()
    headers = request.headers
    if not isinstance(headers, CIMultiDict):
        return
    kept = [(name, value) for name in LOGGED_HEADERS for value in headers.getall(name, ())]
    headers.clear()
    headers.extend(kept)


class WebSocketLink:
    """An open WebSocket carrying the frames of `sock`, both ways."""

    __slots__ = ("sock", "ws", "_tcp", "_writer")

    def __init__(self, sock: EngineSocket, ws: web.WebSocketResponse, request: web.BaseRequest) -> None:
        self.sock = sock
        self.ws = ws
        self._tcp = request.transport
        self._writer: asyncio.Task[None] | None = None

    def write_now(self, frame: str | bytes) -> bool:
        """The fast path: write a text frame straight to the connection when nothing can be
        before it — no writer running (so nothing queued is being written) and nothing
        waiting in the connection's own buffer (so a client that does not read gets the
        queued path, and with it the queue's limits). Returns whether it wrote."""
        tcp = self._tcp
        if (self._writer is not None or not isinstance(frame, str) or tcp is None or tcp.is_closing()
                or tcp.get_write_buffer_size() or self.ws.closed):
            return False
        tcp.write(wire_form(frame))  # one whole frame per write: never interleaved with aiohttp's
        return True

    def wake(self) -> None:
        """Frames (or a polite close) are waiting in the socket: write them."""
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        """Write every waiting frame, then the close frame of a polite close. A write waits as
        long as the client does not read: the socket's heartbeat, queue limit and close deadline
        drop such a client, which cancels this task."""
        sock, ws = self.sock, self.ws
        try:
            while (frame := sock.take()) is not None:
                if isinstance(frame, str):
                    await ws.send_str(frame)
                else:
                    await ws.send_bytes(frame)
            if sock.closing_politely and not ws.closed:
                await ws.close(code=sock.close_code)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection broke under us
            log.debug("socket %s: write failed: %r", sock.sid, exc)
            sock.abort(CloseReason.TRANSPORT_ERROR)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    def drop(self) -> None:
        """Close the connection now, without flushing."""
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
        hang_up(self._tcp)

    async def wind_down(self) -> None:
        """Let a writer in progress finish (a polite close), then make sure the connection is
        gone."""
        writer = self._writer
        if writer is not None and not writer.done():
            try:
                async with asyncio.timeout(self.sock.options.close_timeout + 1):
                    await asyncio.shield(writer)
            except (TimeoutError, asyncio.CancelledError):
                self.drop()
            except Exception:
                pass
        if not self.ws.closed:
            hang_up(self._tcp)

    async def serve(self, *, handshake: bool = False) -> None:
        """Feed incoming frames to the socket until the connection ends, wind down, and finish
        the socket; with `handshake`, first send the open packet and start the heartbeat (a
        session that starts on this WebSocket). The read loop is here, not in a coroutine of
        its own: this frame stays suspended for the connection's life, and each frame in the
        handler's chain costs memory per socket."""
        ws, sock = self.ws, self.sock
        reason = CloseReason.TRANSPORT_CLOSE
        try:
            if handshake:
                sock.start()
            while True:
                try:
                    msg = await ws.receive()
                except Exception as exc:  # closed under us
                    log.debug("socket %s: receive failed: %r", sock.sid, exc)
                    break
                if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                    await sock.receive(msg.data)
                    del msg  # an idle socket's last frame is its CONNECT, token and all: not kept
                    continue
                if msg.type is WSMsgType.ERROR:
                    log.debug("socket %s: %r", sock.sid, msg.data)
                    reason = CloseReason.TRANSPORT_ERROR
                break
        finally:
            await self.wind_down()
            sock.finish(reason)


class WebSocketEngineSocket(EngineSocket):
    transport_name = NAME
    __slots__ = ("link",)

    def __init__(self, ws: web.WebSocketResponse, request: web.BaseRequest, options: RealtimeOptions,
                 handler: EngineHandler, heartbeat: Heartbeat) -> None:
        super().__init__(options, handler, heartbeat)
        self.link = WebSocketLink(self, ws, request)

    def _wake(self) -> None:
        self.link.wake()

    def _write_now(self, frame: str | bytes) -> bool:
        return self.link.write_now(frame)

    def _drop(self) -> None:
        self.link.drop()


async def serve(request: web.Request, handler: EngineHandler, options: RealtimeOptions, heartbeat: Heartbeat,
                on_open) -> web.StreamResponse:
    """Handle one `GET /socket.io/?EIO=4&transport=websocket` request without a `sid` (an
    upgrade from polling is `polling.upgrade`)."""
    ws = new_response(options, options.unauthenticated_payload)  # nobody has connected yet
    if not ws.can_prepare(request).ok:
        return handshake_error(eio.BAD_REQUEST)
    await ws.prepare(request)
    sock = WebSocketEngineSocket(ws, request, options, handler, heartbeat)
    on_open(sock, request)
    release_headers(request, ws)
    await sock.link.serve(handshake=True)
    return ws
