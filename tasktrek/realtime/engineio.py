"""Engine.IO protocol v4: the packet codec, as pure functions.

An Engine.IO packet is one type digit followed by its data. Over the WebSocket transport each
packet is one frame: a text frame ``<type><data>``, or a binary frame carrying the raw bytes of
a message packet. Over long-polling several packets share one HTTP body, separated by the
record separator, binary messages written as ``b<base64>``.

The upgrade from polling to WebSocket is a small state machine, `upgrade_step`.

Nothing here does I/O; `decode` and `decode_payload` raise only `EngineIODecodeError`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from dataclasses import dataclass
from typing import Iterable

PROTOCOL_VERSION = 4

OPEN = 0
CLOSE = 1
PING = 2
PONG = 3
MESSAGE = 4
UPGRADE = 5
NOOP = 6

PACKET_NAMES = {
    OPEN: "open",
    CLOSE: "close",
    PING: "ping",
    PONG: "pong",
    MESSAGE: "message",
    UPGRADE: "upgrade",
    NOOP: "noop",
}

RECORD_SEPARATOR = "\x1e"  # between the packets of one long-polling payload
BASE64_PREFIX = "b"  # a binary message inside a text (long-polling) payload
DEFAULT_MAX_PAYLOAD = 1_000_000  # bytes, announced to clients in the open packet
# Packets accepted in one long-polling POST body. Clients batch everything they buffered while
# the previous POST was in flight (socket.io-client splits only by maxPayload bytes), so this
# is generous; maxPayload is the real bound.
MAX_PAYLOAD_PACKETS = 10_000

PROBE = "probe"  # the data of the ping/pong pair that tests a transport before an upgrade

# Handshake errors, answered with HTTP 400 (403 for FORBIDDEN) and {"code":<code>,"message":<message>}.
UNKNOWN_TRANSPORT = (0, "Transport unknown")
UNKNOWN_SID = (1, "Session ID unknown")
BAD_HANDSHAKE_METHOD = (2, "Bad handshake method")
BAD_REQUEST = (3, "Bad request")
FORBIDDEN = (4, "Forbidden")
UNSUPPORTED_PROTOCOL_VERSION = (5, "Unsupported protocol version")


class EngineIODecodeError(ValueError):
    """A frame or payload that is not a valid Engine.IO packet."""


@dataclass(frozen=True, slots=True)
class Packet:
    type: int
    data: str | bytes = ""

    def __post_init__(self) -> None:
        if self.type not in PACKET_NAMES:
            raise ValueError(f"unknown Engine.IO packet type {self.type!r}")
        if isinstance(self.data, bytes) and self.type != MESSAGE:
            raise ValueError("only message packets carry binary data")


def encode(packet: Packet) -> str | bytes:
    """One WebSocket frame: text ``<type><data>``, or the raw bytes of a binary message."""
    if isinstance(packet.data, bytes):
        return packet.data
    return f"{packet.type}{packet.data}"


def decode(frame: str | bytes | bytearray | memoryview, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> Packet:
    """The packet carried by one WebSocket frame (text or binary)."""
    if isinstance(frame, (bytes, bytearray, memoryview)):
        if len(frame) > max_payload:
            raise EngineIODecodeError("frame larger than maxPayload")
        return Packet(MESSAGE, bytes(frame))
    if not isinstance(frame, str):
        raise EngineIODecodeError("frame is neither text nor binary")
    if len(frame) > max_payload or _utf8_length(frame) > max_payload:
        raise EngineIODecodeError("frame larger than maxPayload")
    if not frame:
        raise EngineIODecodeError("empty frame")
    kind = frame[0]
    if kind < "0" or kind > "6":
        raise EngineIODecodeError("unknown packet type")
    return Packet(ord(kind) - ord("0"), frame[1:])


def open_packet(
    sid: str,
    *,
    ping_interval_ms: int,
    ping_timeout_ms: int,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    upgrades: tuple[str, ...] = (),
) -> Packet:
    """The handshake packet the server sends first on every new connection."""
    handshake = {
        "sid": sid,
        "upgrades": list(upgrades),
        "pingInterval": int(ping_interval_ms),
        "pingTimeout": int(ping_timeout_ms),
        "maxPayload": int(max_payload),
    }
    return Packet(OPEN, json.dumps(handshake, separators=(",", ":")))


def decode_payload(
    body: str,
    *,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    max_packets: int = MAX_PAYLOAD_PACKETS,
) -> list[Packet]:
    """The packets of one long-polling body."""
    if not isinstance(body, str):
        raise EngineIODecodeError("payload is not text")
    if len(body) > max_payload or _utf8_length(body) > max_payload:
        raise EngineIODecodeError("payload larger than maxPayload")
    if not body:
        raise EngineIODecodeError("empty payload")
    parts = body.split(RECORD_SEPARATOR, max_packets)
    if len(parts) > max_packets:
        raise EngineIODecodeError("too many packets in payload")
    packets = []
    for part in parts:
        if part.startswith(BASE64_PREFIX):
            try:
                packets.append(Packet(MESSAGE, base64.b64decode(part[1:], validate=True)))
            except (binascii.Error, ValueError):
                raise EngineIODecodeError("bad base64 in binary packet") from None
        else:
            packets.append(decode(part, max_payload=max_payload))
    return packets


def encode_frames(frames: Iterable[str | bytes]) -> str:
    """One long-polling body from ready-encoded WebSocket frames (`encode` results): text
    frames as they are, binary ones as ``b<base64>``, joined by the record separator."""
    return RECORD_SEPARATOR.join(
        BASE64_PREFIX + base64.b64encode(frame).decode("ascii") if isinstance(frame, bytes) else frame
        for frame in frames
    )


# Frames the server writes as they are.
CLOSE_FRAME = encode(Packet(CLOSE))
NOOP_FRAME = encode(Packet(NOOP))
PROBE_PING_FRAME = encode(Packet(PING, PROBE))
PROBE_PONG_FRAME = encode(Packet(PONG, PROBE))
UPGRADE_FRAME = encode(Packet(UPGRADE))


class UpgradeStage(enum.Enum):
    """Where a WebSocket opened with an existing sid stands in the upgrade handshake."""

    AWAIT_PROBE = "await probe"  # expecting 2probe
    AWAIT_UPGRADE = "await upgrade"  # 3probe answered; expecting 5
    DONE = "done"  # the session now runs on this WebSocket
    FAILED = "failed"  # anything else: the WebSocket is closed, the session stays on polling


def upgrade_step(stage: UpgradeStage, frame: str | bytes) -> tuple[UpgradeStage, str | None]:
    """The next stage of the upgrade handshake after `frame` arrives on the probing WebSocket,
    and the frame to answer on it (if any)."""
    if stage is UpgradeStage.AWAIT_PROBE and frame == PROBE_PING_FRAME:
        return UpgradeStage.AWAIT_UPGRADE, PROBE_PONG_FRAME
    if stage is UpgradeStage.AWAIT_UPGRADE and frame == UPGRADE_FRAME:
        return UpgradeStage.DONE, None
    return UpgradeStage.FAILED, None


def _utf8_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))
