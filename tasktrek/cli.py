"""`tasktrek` / `python -m tasktrek` / `python run.py`: serve TaskTrek."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from aiohttp import web

from .app import create_app
from .errors import ConfigError
from .settings import Settings, parse_port

SHUTDOWN_TIMEOUT_SECONDS = 5


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tasktrek", description="Serve the TaskTrek API and WebSocket endpoint.")
    parser.add_argument("--host", help="bind address (default: TASKTREK_HOST or 127.0.0.1)")
    parser.add_argument("--port", help="port (default: TASKTREK_PORT, PORT or 5000)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.host is not None:
            settings = dataclasses.replace(settings, host=args.host)
        if args.port is not None:
            settings = dataclasses.replace(settings, port=parse_port(args.port, "--port"))
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        app = create_app(settings)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
            print=lambda _: logging.getLogger("tasktrek").info(
                "serving on http://%s:%s (database: %s)", settings.host, settings.port, settings.database_url.split("@")[-1]
            ),
        )
    except OSError as exc:  # port taken, address not available, host name unknown
        _fail(f"cannot serve on {settings.host}:{settings.port}: {exc.strerror or exc}")


def _fail(message: str) -> None:
    print(f"tasktrek: {message}", file=sys.stderr)
    sys.exit(2)
