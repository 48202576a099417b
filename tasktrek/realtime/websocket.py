"""The Engine.IO WebSocket transport on aiohttp: one frame per packet, no upgrade dance.

The request handler task reads frames and feeds them to the `EngineSocket`; writing is done
by a short-lived writer task, started only while there is something to write, so that an idle
socket costs one suspended handler and no other task.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import WSMsgType, web

from . import engineio as eio
from .engine import CloseReason, EngineHandler, EngineSocket, handshake_error
from .options import RealtimeOptions

log = logging.getLogger(__name__)

NAME = "websocket"


class WebSocketEngineSocket(EngineSocket):
    transport_name = NAME

    def __init__(self, ws: web.WebSocketResponse, request: web.BaseRequest, options: RealtimeOptions,
                 handler: EngineHandler) -> None:
        super().__init__(options, handler)
        self._ws = ws
        self._tcp = request.transport
        self._writer: asyncio.Task[None] | None = None

    def _wake(self) -> None:
        if self._writer is None:
            self._writer = self._loop.create_task(self._write())

    async def _write(self) -> None:
        ws = self._ws
        try:
            while (frame := self._take()) is not None:
                if isinstance(frame, str):
                    await ws.send_str(frame)
                else:
                    await ws.send_bytes(frame)
            if self._closing_politely and not ws.closed:
                try:
                    async with asyncio.timeout(self.options.close_timeout):
                        await ws.close(code=self._close_code)
                except TimeoutError:
                    self._drop_connection()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection broke under us
            log.debug("socket %s: write failed: %r", self.sid, exc)
            self._writer = None
            self.abort(CloseReason.TRANSPORT_ERROR)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    def _drop(self) -> None:
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._tcp is not None and not self._tcp.is_closing():
            self._tcp.abort()

    async def serve(self) -> None:
        """Read frames until the connection ends, then finish cleanly."""
        ws = self._ws
        reason = CloseReason.TRANSPORT_CLOSE
        try:
            self.start()
            while True:
                try:
                    msg = await ws.receive()
                except Exception as exc:  # closed under us
                    log.debug("socket %s: receive failed: %r", self.sid, exc)
                    break
                if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                    await self.receive(msg.data)
                else:
                    if msg.type is WSMsgType.ERROR:
                        reason = CloseReason.TRANSPORT_ERROR
                        log.debug("socket %s: %r", self.sid, msg.data)
                    break
        finally:
            await self._wind_down(reason)

    async def _wind_down(self, reason: str) -> None:
        writer = self._writer
        if writer is not None and not writer.done():
            try:
                async with asyncio.timeout(self.options.close_timeout + 1):
                    await asyncio.shield(writer)
            except (TimeoutError, asyncio.CancelledError):
                self._drop()
            except Exception:
                pass
        if not self._ws.closed:
            self._drop_connection()
        self._finished(reason)


async def serve(request: web.Request, handler: EngineHandler, options: RealtimeOptions,
                on_open) -> web.StreamResponse:
    """Handle one `GET /socket.io/?EIO=4&transport=websocket` request."""
    if "sid" in request.query:
        # An upgrade from another transport; none exists yet, so the session cannot.
        return handshake_error(eio.UNKNOWN_SID)
    ws = web.WebSocketResponse(
        max_msg_size=options.max_payload,
        compress=False,
        autoping=True,
        autoclose=True,
        timeout=options.close_timeout,
    )
    if not ws.can_prepare(request).ok:
        return handshake_error(eio.BAD_REQUEST)
    await ws.prepare(request)
    sock = WebSocketEngineSocket(ws, request, options, handler)
    on_open(sock, request)
    await sock.serve()
    return ws
