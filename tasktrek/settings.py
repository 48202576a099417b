"""Configuration from the environment (12-factor), validated once at start-up."""

from __future__ import annotations

import logging
import math
import os
import secrets
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
DEFAULT_DATABASE_URL = "sqlite:///tasktrek.db"
DEFAULT_REDIS_PREFIX = "tasktrek:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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
    cors_origins: tuple[str, ...] = ()
    log_level: str = "INFO"
    # Cluster mode (docs/scaling.md): unset → one process, and redis is never imported.
    redis_url: str | None = None
    redis_prefix: str = DEFAULT_REDIS_PREFIX  # key prefix, so that deployments can share a Redis
    node_ttl_seconds: float = 15.0  # a node silent this long is counted out of presence
    # Not environment-driven: limits a careful operator rarely changes.
    max_body_bytes: int = 1024 * 1024
    login_max_failures: int = 10
    login_window_seconds: int = 15 * 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def pick(*names: str) -> str | None:
            for name in names:
                value = env.get(name)
                if value not in (None, ""):
                    return value
            return None

        settings = cls()
        values: dict = {}
        if (v := pick("TASKTREK_HOST")) is not None:
            values["host"] = v
        for name in ("TASKTREK_PORT", "PORT"):
            if (v := pick(name)) is not None:
                values["port"] = parse_port(v, name)
                break
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
        if (v := pick("TASKTREK_CORS_ORIGINS")) is not None:
            values["cors_origins"] = tuple(o.strip() for o in v.split(",") if o.strip())
        if (v := pick("TASKTREK_LOG_LEVEL")) is not None:
            if not isinstance(logging.getLevelName(v.upper()), int):
                raise ConfigError(f"TASKTREK_LOG_LEVEL: unknown level {v!r}")
            values["log_level"] = v.upper()
        if (v := pick("TASKTREK_REDIS_URL")) is not None:
            values["redis_url"] = v
        if (v := pick("TASKTREK_REDIS_PREFIX")) is not None:
            values["redis_prefix"] = v
        if (v := pick("TASKTREK_NODE_TTL_SECONDS")) is not None:
            values["node_ttl_seconds"] = _number(v, "TASKTREK_NODE_TTL_SECONDS", float, minimum=1)
        return replace(settings, **values).validated()

    def validated(self) -> "Settings":
        database_kind(self.database_url)  # raises on an unknown scheme
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"TASKTREK_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if self.redis_url is not None and not self.redis_url.startswith(REDIS_SCHEMES):
            raise ConfigError(
                "TASKTREK_REDIS_URL: expected redis://host[:port][/db], rediss://… or unix://…, "
                f"got {self.redis_url.split(':', 1)[0]!r}"
            )
        return self

    @property
    def sqlite_path(self) -> Path:
        return sqlite_path(self.database_url)

    def with_secret(self) -> "Settings":
        """The settings with a usable JWT secret: the configured one, or for SQLite one
        generated once and kept in a 0600 file beside the database."""
        if self.jwt_secret is not None:
            return self
        if database_kind(self.database_url) != "sqlite":
            raise ConfigError("TASKTREK_JWT_SECRET is required with MongoDB")
        return replace(self, jwt_secret=_kept_secret(self.sqlite_path))


def database_kind(url: str) -> str:
    if url.startswith("sqlite:///"):
        if url == "sqlite:///" or url == "sqlite:////":
            raise ConfigError("TASKTREK_DATABASE_URL: sqlite URL has no file path")
        return "sqlite"
    if url.startswith(("mongodb://", "mongodb+srv://")):
        return "mongodb"
    raise ConfigError(
        "TASKTREK_DATABASE_URL: expected sqlite:///<path>, mongodb:// or mongodb+srv://, "
        f"got {url.split(':', 1)[0]!r}"
    )


def sqlite_path(url: str) -> Path:
    """sqlite:///relative.db and sqlite:////absolute.db (SQLAlchemy's convention)."""
    return Path(url[len("sqlite:///"):])


def _kept_secret(db_path: Path) -> str:
    secret_file = db_path.with_name(db_path.name + ".secret")
    try:
        secret = _read_or_create_secret(secret_file)
    except OSError as exc:
        raise ConfigError(f"cannot keep the generated JWT secret in {secret_file}: {exc.strerror}") from None
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{secret_file}: secret shorter than {MIN_SECRET_BYTES} bytes")
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
    log.warning("no TASKTREK_JWT_SECRET set: generated one and kept it in %s (set the variable in production)", secret_file)
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
