"""Configuration from the environment (12-factor), validated once at start-up."""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import secrets
import stat
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from .errors import ConfigError

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
DEFAULT_DATABASE_URL = "sqlite:///tasktrek.db"
DEFAULT_REDIS_PREFIX = "tasktrek:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


# Every variable the server reads, with its default and meaning: `tasktrek --help` lists
# them, docs/configuration.md explains them.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("TASKTREK_HOST", "127.0.0.1", "bind address (the Docker image sets 0.0.0.0)"),
    ("TASKTREK_PORT, else PORT", "5000", "port (PORT is what PaaS hosts set)"),
    ("TASKTREK_DATABASE_URL, else MONGO_URI", DEFAULT_DATABASE_URL,
     "sqlite:///relative.db, sqlite:////absolute.db, mongodb://... or mongodb+srv://..."),
    ("TASKTREK_JWT_SECRET, else JWT_SECRET", "generated, kept beside the SQLite file",
     "HS256 secret, 32 bytes or more; required with MongoDB"),
    ("TASKTREK_TOKEN_TTL_SECONDS", "2592000", "token lifetime (30 days)"),
    ("TASKTREK_BCRYPT_ROUNDS", "12", "bcrypt cost, 4-31"),
    ("TASKTREK_PRESENCE_GRACE_SECONDS", "5", "delay before a user with no sockets left is announced offline"),
    ("TASKTREK_PING_INTERVAL_SECONDS", "25", "Engine.IO heartbeat interval"),
    ("TASKTREK_PING_TIMEOUT_SECONDS", "20", "Engine.IO heartbeat timeout"),
    ("TASKTREK_RECOVERY_WINDOW_SECONDS", "600", "how long a dropped socket session can be recovered; 0: off"),
    ("TASKTREK_RECOVERY_MAX_EVENTS", "1000", "the most missed events one recovery replays"),
    ("TASKTREK_MAX_SOCKETS_PER_USER", "50", "connected sockets of one user on one node"),
    ("TASKTREK_MAX_UNAUTHENTICATED_PER_ADDRESS", "50", "sockets not yet connected with a token, per client address"),
    ("TASKTREK_MAX_UNAUTHENTICATED_SOCKETS", "1000", "sockets not yet connected with a token, in total"),
    ("TASKTREK_CORS_ORIGINS", "(none)", "comma-separated origins scheme://host[:port] allowed from browsers, or *"),
    ("TASKTREK_LOG_LEVEL", "INFO", "logging level"),
    ("TASKTREK_ACCESS_LOG", "on", "off: no line per HTTP request (tokens are always redacted from it)"),
    ("TASKTREK_REGISTRATION", "open", "closed: POST /api/users answers 403; use `tasktrek users create`"),
    ("TASKTREK_TRUSTED_PROXIES", "(none)",
     "comma-separated addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is believed"),
    ("TASKTREK_REDIS_URL", "(none: one process)", "redis://host[:port][/db], rediss://... or unix://...: cluster mode"),
    ("TASKTREK_NODE_TTL_SECONDS", "15", "cluster mode: a silent node's sockets are counted out of presence after this"),
    ("TASKTREK_REDIS_PREFIX", DEFAULT_REDIS_PREFIX, "cluster mode: prefix of every Redis key"),
    ("TASKTREK_NODE_NAME", "(none)",
     "this node's name (letters, digits, -): its Engine.IO session ids start with '<name>.', for sticky routing by sid"),
)

REGISTRATION_MODES = ("open", "closed")
SWITCHES = {"on": True, "off": False}
NODE_NAME = re.compile(r"[A-Za-z0-9-]{1,32}")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret: str | None = None
    token_ttl_seconds: int = 30 * 24 * 3600
    bcrypt_rounds: int = 12
    presence_grace_seconds: float = 5.0
    ping_interval_seconds: float = 25.0
    ping_timeout_seconds: float = 20.0
    recovery_window_seconds: float = 600.0  # 0 turns connection state recovery off
    recovery_max_events: int = 1000  # the most missed events one recovery replays
    # Socket caps (docs/security.md); raised by load tests that open thousands of sockets.
    max_sockets_per_user: int = 50  # connected sockets of one user on one node
    max_unauthenticated_per_address: int = 50  # sockets not (yet) connected to "/", per address
    max_unauthenticated_sockets: int = 1000  # ... and in total
    cors_origins: tuple[str, ...] = ()
    log_level: str = "INFO"
    access_log: bool = True  # one INFO line per HTTP request (logged only when INFO is enabled)
    # Cluster mode (docs/scaling.md): unset → one process, and redis is never imported.
    redis_url: str | None = None
    redis_prefix: str = DEFAULT_REDIS_PREFIX  # key prefix, so that deployments can share a Redis
    node_ttl_seconds: float = 15.0  # a node silent this long is counted out of presence
    node_name: str = ""  # prefixes Engine.IO sids ("<name>."), so that a load balancer can route by sid
    registration: str = "open"
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    # Not environment-driven: limits a careful operator rarely changes.
    max_body_bytes: int = 1024 * 1024
    body_timeout_seconds: float = 10.0  # to receive a whole request body, from the first read
    login_max_failures: int = 10
    login_window_seconds: int = 15 * 60
    login_max_failures_per_address: int = 100  # whatever the emails, in the same window
    registrations_per_address: int = 50
    # Live tasks a user may keep assigned to users who never acted toward them (security.md).
    max_unanswered_assignments: int = 20
    registration_window_seconds: int = 60 * 60
    # The bcrypt work queue (tasktrek.services.passwords); 0 workers = one per core.
    bcrypt_workers: int = 0
    bcrypt_max_waiting: int = 32
    bcrypt_per_client: int = 2
    # How often a server looks for accounts disabled by `tasktrek users disable` (another
    # process) to close their sockets.
    disabled_poll_seconds: float = 2.0
    # Where each value came from (field name -> the variable the operator set, or a
    # description of a generated secret), so that messages name what the operator sees.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values: dict = {}
        sources: dict[str, str] = {}

        def pick(name: str, *names: str) -> str | None:
            """The first of the variables that is set (non-empty); remembers which."""
            for variable in (name, *names):
                value = env.get(variable)
                if value not in (None, ""):
                    sources[name] = variable
                    return value
            return None

        if (v := pick("TASKTREK_HOST")) is not None:
            values["host"] = v
        if (v := pick("TASKTREK_PORT", "PORT")) is not None:
            values["port"] = parse_port(v, sources["TASKTREK_PORT"])
        if (v := pick("TASKTREK_DATABASE_URL", "MONGO_URI")) is not None:
            values["database_url"] = v
        if (v := pick("TASKTREK_JWT_SECRET", "JWT_SECRET")) is not None:
            values["jwt_secret"] = v
        if (v := pick("TASKTREK_TOKEN_TTL_SECONDS")) is not None:
            values["token_ttl_seconds"] = _number(v, "TASKTREK_TOKEN_TTL_SECONDS", int, minimum=1)
        if (v := pick("TASKTREK_BCRYPT_ROUNDS")) is not None:
            values["bcrypt_rounds"] = _number(v, "TASKTREK_BCRYPT_ROUNDS", int, minimum=4, maximum=31)
        if (v := pick("TASKTREK_PRESENCE_GRACE_SECONDS")) is not None:
            values["presence_grace_seconds"] = _number(v, "TASKTREK_PRESENCE_GRACE_SECONDS", float, minimum=0)
        if (v := pick("TASKTREK_PING_INTERVAL_SECONDS")) is not None:
            values["ping_interval_seconds"] = _number(v, "TASKTREK_PING_INTERVAL_SECONDS", float, minimum=0.01)
        if (v := pick("TASKTREK_PING_TIMEOUT_SECONDS")) is not None:
            values["ping_timeout_seconds"] = _number(v, "TASKTREK_PING_TIMEOUT_SECONDS", float, minimum=0.01)
        if (v := pick("TASKTREK_RECOVERY_WINDOW_SECONDS")) is not None:
            values["recovery_window_seconds"] = _number(v, "TASKTREK_RECOVERY_WINDOW_SECONDS", float, minimum=0)
        if (v := pick("TASKTREK_RECOVERY_MAX_EVENTS")) is not None:
            values["recovery_max_events"] = _number(v, "TASKTREK_RECOVERY_MAX_EVENTS", int, minimum=1)
        for name in ("max_sockets_per_user", "max_unauthenticated_per_address", "max_unauthenticated_sockets"):
            variable = "TASKTREK_" + name.upper()
            if (v := pick(variable)) is not None:
                values[name] = _number(v, variable, int, minimum=1)
        if (v := pick("TASKTREK_CORS_ORIGINS")) is not None:
            values["cors_origins"] = tuple(o.strip() for o in v.split(",") if o.strip())
        if (v := pick("TASKTREK_LOG_LEVEL")) is not None:
            values["log_level"] = v.upper()
        if (v := pick("TASKTREK_ACCESS_LOG")) is not None:
            if v.strip().lower() not in SWITCHES:
                raise ConfigError(f"TASKTREK_ACCESS_LOG: expected on or off, got {v!r}")
            values["access_log"] = SWITCHES[v.strip().lower()]
        if (v := pick("TASKTREK_REDIS_URL")) is not None:
            values["redis_url"] = v
        if (v := pick("TASKTREK_REDIS_PREFIX")) is not None:
            values["redis_prefix"] = v
        if (v := pick("TASKTREK_NODE_TTL_SECONDS")) is not None:
            values["node_ttl_seconds"] = _number(v, "TASKTREK_NODE_TTL_SECONDS", float, minimum=1)
        if (v := pick("TASKTREK_NODE_NAME")) is not None:
            if not NODE_NAME.fullmatch(v):
                raise ConfigError(f"TASKTREK_NODE_NAME: {v!r} is not 1-32 letters, digits or '-'")
            values["node_name"] = v
        if (v := pick("TASKTREK_REGISTRATION")) is not None:
            values["registration"] = v.strip().lower()
        if (v := pick("TASKTREK_TRUSTED_PROXIES")) is not None:
            values["trusted_proxies"] = parse_networks(v, "TASKTREK_TRUSTED_PROXIES")
        return cls(**values, sources=_field_sources(sources)).validated()

    def source(self, name: str) -> str:
        """The variable the operator set for the field `name` (its TASKTREK_ name when the
        value came from code or the default)."""
        return self.sources.get(name, "TASKTREK_" + name.upper())

    def validated(self) -> "Settings":
        database_kind(self.database_url, self.source("database_url"))
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"{self.source('jwt_secret')} is {len(self.jwt_secret.encode())} bytes; it must be at least "
                f"{MIN_SECRET_BYTES} bytes (make one with: openssl rand -hex 32)"
            )
        check_origins(self.cors_origins, self.source("cors_origins"))
        if not isinstance(logging.getLevelName(self.log_level), int):
            raise ConfigError(f"{self.source('log_level')}: unknown level {self.log_level!r} (DEBUG, INFO, WARNING, ERROR)")
        if self.registration not in REGISTRATION_MODES:
            raise ConfigError(f"{self.source('registration')}: expected open or closed, got {self.registration!r}")
        if self.redis_url is not None:
            check_redis_url(self.redis_url, self.source("redis_url"))
        return self

    @property
    def database_kind(self) -> str:
        return database_kind(self.database_url, self.source("database_url"))

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file, absolute (relative URLs are relative to the working directory)."""
        return sqlite_path(self.database_url).absolute()

    @property
    def database_description(self) -> str:
        """Where the data lives, for the start line: an absolute path, or the MongoDB URL
        without its credentials."""
        if self.database_kind == "sqlite":
            return f"SQLite {self.sqlite_path}"
        return f"MongoDB {_without_credentials(self.database_url)}"

    @property
    def secret_description(self) -> str:
        source = self.sources.get("jwt_secret")
        if source is None:
            return "given in code"
        return source if source.startswith("kept in") else f"from {source}"

    def checked_storage(self) -> "Settings":
        """Refuse, before serving, a SQLite file that cannot be created or written."""
        if self.database_kind == "sqlite":
            check_sqlite_path(self.sqlite_path, self.source("database_url"))
        return self

    def with_secret(self) -> "Settings":
        """The settings with a usable JWT secret: the configured one, or for SQLite one
        generated once and kept in a 0600 file beside the database."""
        if self.jwt_secret is not None:
            return self
        if self.database_kind != "sqlite":
            raise ConfigError(
                f"TASKTREK_JWT_SECRET (or JWT_SECRET) is required with MongoDB ({self.source('database_url')} is set): "
                "make one with: openssl rand -hex 32"
            )
        secret_file = _secret_file(self.sqlite_path)
        return replace(
            self,
            jwt_secret=_kept_secret(secret_file),
            sources={**self.sources, "jwt_secret": f"kept in {secret_file}"},
        )


def _field_sources(picked: dict[str, str]) -> dict[str, str]:
    """{first variable name: variable set} -> {field name: variable set}."""
    return {name.removeprefix("TASKTREK_").lower(): variable for name, variable in picked.items()}


def database_kind(url: str, variable: str = "TASKTREK_DATABASE_URL") -> str:
    if url.startswith("sqlite:///"):
        if url in ("sqlite:///", "sqlite:////"):
            raise ConfigError(f"{variable}: {url} names no file (e.g. sqlite:///tasktrek.db)")
        return "sqlite"
    if url.startswith(("mongodb://", "mongodb+srv://")):
        return "mongodb"
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:"):].lstrip("/")
        raise ConfigError(
            f"{variable}: {url} needs three slashes: sqlite:///{rest} for a path relative to the "
            f"working directory, sqlite:////{rest} for an absolute one"
        )
    raise ConfigError(
        f"{variable}: expected sqlite:///<path>, mongodb://... or mongodb+srv://..., "
        f"got {url.split(':', 1)[0]!r}"
    )


def check_redis_url(url: str, variable: str) -> None:
    """What redis-py would refuse with a traceback, or read as something else (a database
    that is not a number silently becomes database 0), refused in one line."""
    if not url.startswith(REDIS_SCHEMES):
        raise ConfigError(
            f"{variable}: expected redis://host[:port][/db], rediss://… or unix://…, got {url.split(':', 1)[0]!r}"
        )
    if url.startswith("unix://"):
        return
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise ConfigError(f"{variable}: bad port in {_without_credentials(url)} (expected 1-65535)") from None
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ConfigError(f"{variable}: the database {database!r} is not a number (redis://host:port/0)")


def sqlite_path(url: str) -> Path:
    """sqlite:///relative.db and sqlite:////absolute.db (SQLAlchemy's convention)."""
    return Path(url[len("sqlite:///"):])


def _without_credentials(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def check_sqlite_path(path: Path, variable: str) -> None:
    """Create the file's directory and the file if needed, and make sure both can be
    written (SQLite's WAL mode also writes files beside it). Raises ConfigError."""
    try:
        if path.is_dir():
            raise ConfigError(f"{variable}: {path} is a directory; name a file inside it, e.g. {path / 'tasktrek.db'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
        if not os.access(path.parent, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path.parent))
    except OSError as exc:
        where = exc.filename or path
        raise ConfigError(
            f"{variable}: cannot create or write {where}: {exc.strerror or exc} "
            f"(choose a path that user {_user_name()} can write)"
        ) from None


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid()) if hasattr(os, "getuid") else "this"


def check_origins(origins: tuple[str, ...], variable: str) -> None:
    """Each origin must be exactly what a browser sends: scheme://host[:port]; `*` only alone."""
    if "*" in origins:
        if len(origins) > 1:
            raise ConfigError(f"{variable}: * allows every origin and cannot be combined with others; give * alone or only origins")
        return
    for origin in origins:
        expected = _as_origin(origin)
        if expected != origin:
            hint = f"; did you mean {expected}?" if expected else ""
            raise ConfigError(
                f"{variable}: {origin!r} is not an origin (scheme://host[:port], no path, no trailing slash){hint}"
            )


def _as_origin(text: str) -> str | None:
    """The origin a browser would send for `text`, or None when it cannot be one."""
    parts = urlsplit(text if "://" in text else "https://" + text)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    default_port = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default_port) else "")


def parse_networks(value: str, variable: str) -> tuple[IPv4Network | IPv6Network, ...]:
    networks = []
    for item in (s.strip() for s in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{variable}: {item!r} is not an IP address or CIDR block (e.g. 10.0.0.0/8, ::1)") from None
    return tuple(networks)


def _secret_file(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".secret")


def _kept_secret(secret_file: Path) -> str:
    try:
        secret = _read_or_create_secret(secret_file)
    except OSError as exc:
        raise ConfigError(f"cannot keep the generated JWT secret in {secret_file}: {exc.strerror} "
                          "(set TASKTREK_JWT_SECRET instead)") from None
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{secret_file}: secret shorter than {MIN_SECRET_BYTES} bytes (delete the file to make a new one)")
    return secret


def _read_or_create_secret(secret_file: Path) -> str:
    try:
        return secret_file.read_text().strip()
    except FileNotFoundError:
        pass
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:  # another process starting on the same database won the race
        return secret_file.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    log.warning("no TASKTREK_JWT_SECRET set: generated one and kept it in %s (back it up with the database)", secret_file)
    return secret


def parse_port(value: str | int, name: str) -> int:
    return _number(str(value), name, int, minimum=0, maximum=65535)


def _number(value: str, name: str, kind: type, *, minimum: float, maximum: float | None = None):
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name}: not a number: {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name}: must be a finite number, got {value!r}")
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{name}: {value} is out of range ({bounds})")
    return number
