"""WebSocket frames built by hand for the fan-out fast path (RFC 6455 §5.2).

aiohttp's writer frames and encodes every message on every socket. An event sent to a
thousand sockets is one text: `SharedFrame` builds its wire form once, on first use, and every
idle socket writes those same bytes (`WebSocketLink.write_now`).
"""

from __future__ import annotations

FIN_TEXT = 0x81  # final fragment, opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked (server-to-client) text frame carrying `payload`."""
    size = len(payload)
    if size < 126:
        return bytes((FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return bytes((FIN_TEXT, 126)) + size.to_bytes(2, "big") + payload
    return bytes((FIN_TEXT, 127)) + size.to_bytes(8, "big") + payload


class SharedFrame(str):
    """An Engine.IO text frame that many sockets send: a str like any other frame, whose
    WebSocket wire form is built once."""

    def wire(self) -> bytes:
        try:
            return self._wire
        except AttributeError:
            self._wire = text_frame(self.encode())
            return self._wire


def wire_form(frame: str) -> bytes:
    """The bytes a WebSocket carries for the text `frame`."""
    return frame.wire() if isinstance(frame, SharedFrame) else text_frame(frame.encode())
