"""`tasktrek users create | set-password | disable`: the operator's user administration,
on the database the server would use, through the same service as the API."""

from __future__ import annotations

import argparse
import getpass
import sys

from .errors import ConfigError, DomainError
from .http.schemas import RegisterSchema
from .services import Services
from .settings import Settings
from .store import store_from_url

# The API's rules for a name, an email and a password; the CLI checks them the same way.
_account_schema = RegisterSchema()


async def run_users_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `users` action; return the exit status (0 done, 1 refused, 2 bad input)."""
    try:
        settings = settings.checked_storage()
        store = store_from_url(settings.database_url, settings.source("database_url"))
    except ConfigError as exc:
        return _say(f"configuration error: {exc}", 2)
    try:
        await store.open()
        users = Services.build(store, settings).users
        if args.action == "create":
            fields = _valid(name=args.name, email=args.email, password=_read_password())
            user = await users.create(fields["name"], fields["email"], fields["password"])
            print(f"created user {user.id} <{user.email}>")
        elif args.action == "set-password":
            email = _valid(email=args.email)["email"]
            password = _valid(password=_read_password())["password"]
            user = await users.set_password(email, password)
            print(f"password set for <{user.email}>")
        else:
            user = await users.disable(_valid(email=args.email)["email"])
            print(f"disabled <{user.email}>: its tokens are revoked, its logins refused, "
                  "and a running server closes its sockets within seconds")
        return 0
    except _BadInput as exc:
        return _say(str(exc), 2)
    except ConfigError as exc:  # e.g. a database TaskTrek may not use
        return _say(f"configuration error: {exc}", 2)
    except DomainError as exc:  # no such user, email taken, database unavailable
        return _say(exc.message, 1)
    finally:
        await store.close()


class _BadInput(Exception):
    pass


def _valid(**fields: str) -> dict:
    """The fields, checked and normalised as the API does (only those given)."""
    errors = _account_schema.validate(fields, partial=True)
    if errors:
        problems = "; ".join(f"{name}: {' '.join(map(str, messages))}" for name, messages in errors.items())
        raise _BadInput(problems)
    return _account_schema.load(fields, partial=True)


def _read_password() -> str:
    """Asked twice on a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise _BadInput("the two passwords differ")
        return password
    line = sys.stdin.readline()
    if not line:
        raise _BadInput("no password on standard input")
    return line.removesuffix("\n").removesuffix("\r")


def _say(message: str, status: int) -> int:
    print(f"tasktrek: {message}", file=sys.stderr)
    return status
