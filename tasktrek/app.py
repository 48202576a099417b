"""The application factory: builds settings, store, services, routes, middlewares and the
real-time gateway into one self-contained aiohttp application."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import AsyncIterator

from aiohttp import web

from .errors import ConfigError, StoreUnavailable
from .http.cors import cors_middleware
from .http.keys import CLUSTER, SERVICES, SETTINGS, STORE
from .http.middlewares import error_middleware
from .http.routes import setup_routes
from .realtime import setup_realtime
from .services import Services
from .settings import Settings
from .store import MongoStore, SqliteStore, store_from_database, store_from_url


log = logging.getLogger(__name__)

STORE_RETRY_SECONDS = (1, 2, 5, 10, 30)
# Accounts disabled this long before start-up are looked at again: covers clocks of the
# command line's host and ours that disagree by up to this much.
CLOCK_SKEW_SECONDS = 60.0


async def _keep_opening(store, services: Services) -> None:
    """While the database does not answer, keep trying in the background: the API answers
    503 meanwhile and recovers by itself, instead of the process refusing to start."""
    for attempt in itertools.count():
        await asyncio.sleep(STORE_RETRY_SECONDS[min(attempt, len(STORE_RETRY_SECONDS) - 1)])
        try:
            await store.open()
            await services.recovery.started()
            log.info("database reachable again")
            return
        except StoreUnavailable as exc:
            log.warning("database still unavailable: %s", _reason(exc))
        except ConfigError as exc:  # reachable now, but not a database TaskTrek may use
            log.error("database refused: %s", exc)
            return


async def _watch_disabled_users(services: Services, interval: float) -> None:
    """Close the sockets of users disabled from the command line (another process)."""
    after = time.time() - CLOCK_SKEW_SECONDS
    while True:
        await asyncio.sleep(interval)
        try:
            after = await services.users.announce_disabled(after)
        except StoreUnavailable:
            pass  # requests and /readyz report it; try again next time
        except Exception:
            log.exception("looking for disabled users failed")


def _reason(exc: StoreUnavailable) -> str:
    """What the driver said, for the log (the HTTP answer stays "database unavailable")."""
    cause = exc.__cause__
    return f"{exc.message}: {cause}" if cause is not None and exc.message == StoreUnavailable.default_message else exc.message


def create_app(settings: Settings | None = None, *, store: object | None = None) -> web.Application:
    """A self-contained TaskTrek application.

    `settings` defaults to the environment. `store` may be a TaskTrek store, or a
    PyMongo-async / Motor-compatible database object from an embedding application, in
    which case a JWT secret must be configured.
    """
    settings = (settings or Settings.from_env()).validated()
    if store is None:
        settings = settings.checked_storage().with_secret()
        store = store_from_url(settings.database_url, settings.source("database_url"))
    elif settings.jwt_secret is None:
        raise ConfigError("TASKTREK_JWT_SECRET is required when a store is passed in")
    elif not isinstance(store, (SqliteStore, MongoStore)):
        store = store_from_database(store)

    cluster = None
    if settings.redis_url:
        from .cluster.node import ClusterNode

        cluster = ClusterNode(settings)
    services = Services.build(store, settings, limiters=cluster.limiters if cluster else None)
    middlewares = [error_middleware]
    if settings.cors_origins:
        middlewares.insert(0, cors_middleware(settings.cors_origins))
    # The body limit is enforced while reading (tasktrek.http.io), independently of the
    # host application's client_max_size when we are mounted as a sub-application.
    # Bodies are decoded by tasktrek.http.body, so that a bad encoding is ours to answer.
    app = web.Application(
        middlewares=middlewares, client_max_size=settings.max_body_bytes, handler_args={"auto_decompress": False}
    )
    app[SETTINGS] = settings
    app[STORE] = store
    app[SERVICES] = services

    if cluster is not None:
        app[CLUSTER] = cluster
        app.cleanup_ctx.append(cluster.lifespan)  # after the store, before the gateway

    setup_routes(app)  # each route that needs a token checks it itself
    setup_realtime(app, settings, services, cluster=cluster)  # authenticates its own connections

    async def open_store(app: web.Application) -> AsyncIterator[None]:
        await services.users.prepare()
        retrying = None
        try:
            await store.open()
            await services.recovery.started()  # before any socket connects
        except StoreUnavailable as exc:
            log.warning("database unavailable at start-up (%s); serving 503 until it answers", _reason(exc))
            retrying = asyncio.create_task(_keep_opening(store, services))
        yield
        if retrying:
            retrying.cancel()
        await store.close()

    async def watch_disabled_users(app: web.Application) -> AsyncIterator[None]:
        watching = asyncio.create_task(_watch_disabled_users(services, settings.disabled_poll_seconds))
        yield
        watching.cancel()

    app.cleanup_ctx.insert(0, open_store)
    app.cleanup_ctx.insert(1, watch_disabled_users)
    return app
