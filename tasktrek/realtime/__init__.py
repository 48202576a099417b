"""The real-time gateway: a Socket.IO-compatible endpoint on the TaskTrek app, over HTTP
long-polling and WebSocket.

`setup_realtime(app, settings, services)` adds `/socket.io/`, subscribes the gateway to
the services' domain events while the app runs, and closes every socket on shutdown. The
gateway is stored on the app under `GATEWAY`; nothing is shared between applications.
"""

from __future__ import annotations

from typing import AsyncIterator

from aiohttp import web

from .gateway import ELSEWHERE, PATH, Gateway
from .options import RealtimeOptions

__all__ = ["GATEWAY", "Gateway", "RealtimeOptions", "setup_realtime"]

GATEWAY = web.AppKey("tasktrek.realtime.gateway", Gateway)


def setup_realtime(app: web.Application, settings, services, *, cluster=None, **overrides) -> Gateway:
    """Build the gateway into `app`. `overrides` replace `RealtimeOptions` fields. With a
    `cluster` node (tasktrek.cluster.node), events, presence and announcements span every node."""
    shared = {}
    if cluster is not None:
        relay = cluster.relay_for(services.events)
        shared = dict(presence=cluster.make_presence, events=relay, everywhere=relay)
    gateway = Gateway(
        services,
        RealtimeOptions.from_settings(settings, **overrides),
        **shared,
    )
    if cluster is not None:
        cluster.relay.attach(gateway.broadcaster)
    app[GATEWAY] = gateway
    app.router.add_route("*", PATH, gateway.handle)  # GET, POST (polling), OPTIONS (CORS)
    app.router.add_route("*", ELSEWHERE, gateway.handle_elsewhere)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        gateway.start()
        yield
        await gateway.close()  # a no-op when on_shutdown already closed everything

    async def on_shutdown(app: web.Application) -> None:
        # Before aiohttp waits for in-flight handlers: WebSocket handlers end only when
        # their sockets close.
        await gateway.close()

    app.cleanup_ctx.append(lifespan)
    app.on_shutdown.append(on_shutdown)
    return gateway
