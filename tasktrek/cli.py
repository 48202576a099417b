"""`tasktrek` / `python -m tasktrek` / `python run.py`: serve TaskTrek, or administer users."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys

from . import __version__
from .app import create_app
from .errors import ConfigError
from .http import server
from .http.keys import SETTINGS
from .settings import VARIABLES, Settings, parse_port

SHUTDOWN_TIMEOUT_SECONDS = 5

log = logging.getLogger("tasktrek")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    if args.command == "users":
        from .admin import run_users_command  # only the command that needs it

        sys.exit(asyncio.run(run_users_command(args, settings)))
    serve(args, settings)


def build_parser() -> argparse.ArgumentParser:
    width = max(len(name) for name, _, _ in VARIABLES)
    variables = "\n".join(f"  {name:<{width}}  {meaning} (default: {default})" for name, default, meaning in VARIABLES)
    parser = argparse.ArgumentParser(
        prog="tasktrek",
        description="Serve the TaskTrek API and its Socket.IO endpoint (the default command), or administer users.",
        epilog=f"environment variables (docs/configuration.md):\n{variables}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tasktrek {__version__}")
    parser.add_argument("--host", help="bind address (default: TASKTREK_HOST or 127.0.0.1)")
    parser.add_argument("--port", help="port (default: TASKTREK_PORT, PORT or 5000)")
    commands = parser.add_subparsers(dest="command", metavar="{users}")
    users = commands.add_parser(
        "users",
        help="create users, reset passwords, disable accounts (on the database the server uses)",
        description="Act on the database the server would use (same environment variables).",
    )
    actions = users.add_subparsers(dest="action", required=True, metavar="{create,set-password,disable}")
    create = actions.add_parser(
        "create", help="create a user (works with TASKTREK_REGISTRATION=closed)",
        description="Create a user. The password is asked on a terminal, or read from standard input.",
    )
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    set_password = actions.add_parser(
        "set-password", help="set a user's password",
        description="Set a user's password, asked on a terminal or read from standard input.",
    )
    set_password.add_argument("--email", required=True)
    disable = actions.add_parser(
        "disable", help="revoke a user's tokens and refuse their logins",
        description="Disable an account: its tokens stop working at once, its logins are refused, "
        "its live sockets on a running server are closed within seconds.",
    )
    disable.add_argument("--email", required=True)
    return parser


def serve(args: argparse.Namespace, settings: Settings) -> None:
    try:
        if args.host is not None:
            settings = dataclasses.replace(settings, host=args.host)
        if args.port is not None:
            settings = dataclasses.replace(settings, port=parse_port(args.port, "--port"))
        _configure_logging(settings.log_level)
        app = create_app(settings)
        settings = app[SETTINGS]  # as it runs: the secret's source filled in
        server.run(
            app,
            host=settings.host,
            port=settings.port,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
            on_serving=lambda: _announce(settings),
        )
    except ConfigError as exc:  # also a database refused while opening it
        _fail(f"configuration error: {exc}")
    except OSError as exc:  # port taken, address not available, host name unknown
        _fail(f"cannot serve on {settings.host}:{settings.port}: {exc.strerror or exc}")
    log.info("stopped cleanly")


def _announce(settings: Settings) -> None:
    log.info("TaskTrek %s serving on http://%s:%s", __version__, settings.host, settings.port)
    log.info("data: %s; JWT secret: %s", settings.database_description, settings.secret_description)
    log.info("press Ctrl+C (or send SIGTERM) to stop")


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(server.RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def _fail(message: str) -> None:
    print(f"tasktrek: {message}", file=sys.stderr)
    sys.exit(2)
