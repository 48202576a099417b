"""Socket.IO protocol v5: the packet codec, as pure functions.

A Socket.IO packet rides in the data of one Engine.IO message packet::

    <type>[<namespace>,][<ack id>][<JSON data>]

`type` is one digit; the namespace is written only when it is not ``/``; the ack id is a
decimal integer. Binary packets (types 5 and 6, whose attachments follow in separate binary
frames) are refused: this server neither sends nor accepts binary data.

Decoding is bounded (text length, JSON nesting depth, event name length, namespace length,
ack id size) and raises only `SocketIODecodeError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 5

CONNECT = 0
DISCONNECT = 1
EVENT = 2
ACK = 3
CONNECT_ERROR = 4
BINARY_EVENT = 5
BINARY_ACK = 6

PACKET_NAMES = {
    CONNECT: "connect",
    DISCONNECT: "disconnect",
    EVENT: "event",
    ACK: "ack",
    CONNECT_ERROR: "connect_error",
    BINARY_EVENT: "binary_event",
    BINARY_ACK: "binary_ack",
}

DEFAULT_NAMESPACE = "/"
NAMESPACE_SEPARATOR = ","

DEFAULT_MAX_PAYLOAD = 1_000_000
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_EVENT_NAME_LENGTH = 128
MAX_NAMESPACE_LENGTH = 128
MAX_ACK_ID = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER
MAX_ACK_ID_DIGITS = len(str(MAX_ACK_ID))

_DIGITS = frozenset("0123456789")
_JSON_SEPARATORS = (",", ":")


class SocketIODecodeError(ValueError):
    """Text that is not a valid, acceptable Socket.IO packet."""


class SocketIOEncodeError(ValueError):
    """A packet this codec will not write (binary data, a bad event name, ...)."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload: int = DEFAULT_MAX_PAYLOAD
    max_depth: int = DEFAULT_MAX_DEPTH
    max_event_name_length: int = DEFAULT_MAX_EVENT_NAME_LENGTH


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Packet:
    type: int
    data: Any = None
    namespace: str = DEFAULT_NAMESPACE
    id: int | None = None

    @property
    def event(self) -> str:
        """The event name of an EVENT packet."""
        return self.data[0]

    @property
    def args(self) -> list:
        """The event arguments of an EVENT packet, or the reply of an ACK packet."""
        return self.data[1:] if self.type == EVENT else self.data


# --- constructors for the packets the server writes -------------------------------------


def connect(sid: str, namespace: str = DEFAULT_NAMESPACE, *, pid: str | None = None) -> Packet:
    """The CONNECT answer; with `pid` (a session that opted into recovery) it carries it."""
    return Packet(CONNECT, {"sid": sid} if pid is None else {"sid": sid, "pid": pid}, namespace)


def disconnect(namespace: str = DEFAULT_NAMESPACE) -> Packet:
    return Packet(DISCONNECT, None, namespace)


def event(name: str, *args: Any, id: int | None = None, namespace: str = DEFAULT_NAMESPACE) -> Packet:
    return Packet(EVENT, [name, *args], namespace, id)


def ack(id: int, *args: Any, namespace: str = DEFAULT_NAMESPACE) -> Packet:
    return Packet(ACK, list(args), namespace, id)


def connect_error(message: str, namespace: str = DEFAULT_NAMESPACE) -> Packet:
    return Packet(CONNECT_ERROR, {"message": message}, namespace)


# --- encoding ----------------------------------------------------------------------------


def encode(packet: Packet) -> str:
    if packet.type in (BINARY_EVENT, BINARY_ACK):
        raise SocketIOEncodeError("binary packets are not supported")
    if packet.type not in PACKET_NAMES:
        raise SocketIOEncodeError(f"unknown packet type {packet.type!r}")
    if not _valid_namespace(packet.namespace):
        raise SocketIOEncodeError(f"bad namespace {packet.namespace!r}")
    if packet.type == EVENT and not (
        isinstance(packet.data, list) and packet.data and isinstance(packet.data[0], str)
    ):
        raise SocketIOEncodeError("an event's data is [name, *args]")
    if packet.type == ACK and (packet.id is None or not isinstance(packet.data, list)):
        raise SocketIOEncodeError("an ack has an id and a list of arguments")
    if packet.id is not None and not (isinstance(packet.id, int) and 0 <= packet.id <= MAX_ACK_ID):
        raise SocketIOEncodeError(f"bad ack id {packet.id!r}")
    parts = [str(packet.type)]
    if packet.namespace != DEFAULT_NAMESPACE:
        parts.append(packet.namespace + NAMESPACE_SEPARATOR)
    if packet.id is not None:
        parts.append(str(packet.id))
    if packet.data is not None:
        try:
            parts.append(json.dumps(packet.data, separators=_JSON_SEPARATORS, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise SocketIOEncodeError(f"data is not JSON: {exc}") from None
    return "".join(parts)


# --- decoding ----------------------------------------------------------------------------


def decode(text: str, limits: Limits = DEFAULT_LIMITS) -> Packet:
    if not isinstance(text, str):
        raise SocketIODecodeError("a Socket.IO packet is text")
    if len(text) > limits.max_payload:
        raise SocketIODecodeError("packet larger than maxPayload")
    if not text:
        raise SocketIODecodeError("empty packet")
    kind = text[0]
    if kind < "0" or kind > "6":
        raise SocketIODecodeError("unknown packet type")
    packet_type = ord(kind) - ord("0")
    if packet_type in (BINARY_EVENT, BINARY_ACK):
        raise SocketIODecodeError("binary packets are not supported")

    pos = 1
    namespace = DEFAULT_NAMESPACE
    if text.startswith("/", pos):
        end = text.find(NAMESPACE_SEPARATOR, pos)
        if end == -1:
            end = len(text)
        namespace = text[pos:end]
        pos = min(end + 1, len(text))
        if len(namespace) > MAX_NAMESPACE_LENGTH:
            raise SocketIODecodeError("namespace too long")

    start = pos
    while pos < len(text) and text[pos] in _DIGITS:
        pos += 1
        if pos - start > MAX_ACK_ID_DIGITS:
            raise SocketIODecodeError("ack id too long")
    ack_id = int(text[start:pos]) if pos > start else None
    if ack_id is not None and ack_id > MAX_ACK_ID:
        raise SocketIODecodeError("ack id too large")

    data = _parse_json(text[pos:], limits.max_depth) if pos < len(text) else None
    return _checked(Packet(packet_type, data, namespace, ack_id), limits)


def _checked(packet: Packet, limits: Limits) -> Packet:
    kind, data = packet.type, packet.data
    if kind in (CONNECT, DISCONNECT, CONNECT_ERROR) and packet.id is not None:
        raise SocketIODecodeError(f"a {PACKET_NAMES[kind]} packet has no ack id")
    if kind == CONNECT and data is not None and not isinstance(data, dict):
        raise SocketIODecodeError("connect data must be an object")
    if kind == DISCONNECT and data is not None:
        raise SocketIODecodeError("disconnect carries no data")
    if kind == CONNECT_ERROR and not isinstance(data, (dict, str)):
        raise SocketIODecodeError("connect_error data must be an object")
    if kind == EVENT:
        if not isinstance(data, list) or not data:
            raise SocketIODecodeError("event data must be a non-empty array")
        name = data[0]
        if not isinstance(name, str) or not name:
            raise SocketIODecodeError("event name must be a non-empty string")
        if len(name) > limits.max_event_name_length:
            raise SocketIODecodeError("event name too long")
    if kind == ACK:
        if packet.id is None:
            raise SocketIODecodeError("an ack needs an id")
        if not isinstance(data, list):
            raise SocketIODecodeError("ack data must be an array")
    return packet


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(text: str, max_depth: int) -> Any:
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise SocketIODecodeError("data is not valid JSON") from None
    if json_depth(value, stop_after=max_depth) > max_depth:
        raise SocketIODecodeError("JSON nested too deeply")
    return value


def json_depth(value: Any, *, stop_after: int | None = None) -> int:
    """Nesting depth of arrays and objects (a scalar is 0, ``[]`` is 1); iterative, and
    stops early once `stop_after` is exceeded."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > deepest:
            deepest = depth
            if stop_after is not None and deepest > stop_after:
                return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _valid_namespace(namespace: object) -> bool:
    return (
        isinstance(namespace, str)
        and namespace.startswith("/")
        and NAMESPACE_SEPARATOR not in namespace
        and len(namespace) <= MAX_NAMESPACE_LENGTH
    )
