"""Tunables of the real-time gateway. The first few come from `Settings` (the environment);
the rest are limits a careful operator rarely changes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import engineio, socketio


@dataclass(frozen=True)
class RealtimeOptions:
    ping_interval: float = 25.0  # seconds between server pings
    ping_timeout: float = 20.0  # seconds a client has to answer a ping
    presence_grace: float = 5.0  # seconds before a user with no socket left is offline
    max_payload: int = engineio.DEFAULT_MAX_PAYLOAD  # bytes in one incoming frame
    # Until a socket has connected to "/" with a good token: bytes in one incoming frame or
    # polling body (a CONNECT with a token needs ~1 KiB). A WebSocket opened without a session
    # keeps it for its life: aiohttp fixes a WebSocket's frame limit when it opens, and every
    # client event fits (the largest, presence:get with 1000 ids, is ~27 KiB).
    max_unauthenticated_payload: int = 64 * 1024
    max_unauthenticated_per_address: int = 50  # sockets not (yet) connected to "/", per client address
    max_unauthenticated: int = 1000  # ... and in total
    max_sockets_per_user: int = 50  # connected sockets of one user (tabs, devices) on this node
    connect_timeout: float = 45.0  # seconds to connect to namespace "/" after the handshake
    close_timeout: float = 3.0  # seconds to wait for the client's close frame, then drop
    max_queue_packets: int = 1024  # outgoing frames queued for one socket before dropping it
    max_queue_bytes: int = 4 * 1024 * 1024  # outgoing characters queued likewise
    max_json_depth: int = socketio.DEFAULT_MAX_DEPTH
    max_event_name_length: int = socketio.DEFAULT_MAX_EVENT_NAME_LENGTH
    max_presence_query: int = 1000  # user ids accepted in one presence:get
    max_task_rooms: int = 1000  # task rooms one socket may be in
    body_timeout: float = 10.0  # seconds to receive a polling POST's whole body
    upgrade_timeout: float = 10.0  # seconds for 2probe and 5 on a WebSocket upgrading a polling session
    cors_origins: tuple[str, ...] = ()  # browser origins allowed (TASKTREK_CORS_ORIGINS); "*" = any
    sid_prefix: str = ""  # starts every Engine.IO sid: "<TASKTREK_NODE_NAME>." (docs/scaling.md)

    @classmethod
    def from_settings(cls, settings, **overrides) -> "RealtimeOptions":
        base = cls(
            ping_interval=float(settings.ping_interval_seconds),
            ping_timeout=float(settings.ping_timeout_seconds),
            presence_grace=float(settings.presence_grace_seconds),
            cors_origins=tuple(settings.cors_origins),
            sid_prefix=f"{settings.node_name}." if settings.node_name else "",
            body_timeout=float(settings.body_timeout_seconds),
            max_sockets_per_user=settings.max_sockets_per_user,
            max_unauthenticated_per_address=settings.max_unauthenticated_per_address,
            max_unauthenticated=settings.max_unauthenticated_sockets,
        )
        return replace(base, **overrides)

    @property
    def unauthenticated_payload(self) -> int:
        return min(self.max_unauthenticated_payload, self.max_payload)

    @property
    def socketio_limits(self) -> socketio.Limits:
        return socketio.Limits(
            max_payload=self.max_payload,
            max_depth=self.max_json_depth,
            max_event_name_length=self.max_event_name_length,
        )
