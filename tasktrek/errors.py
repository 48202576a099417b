"""Domain errors. Services raise them; the HTTP layer maps each to one status code."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    default_message = "bad request"

    def __init__(self, message: str | None = None, *, errors: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.errors = errors


class ValidationFailed(DomainError):
    status = 400
    default_message = "validation failed"


class Unauthorized(DomainError):
    status = 401
    default_message = "unauthorized"


class Forbidden(DomainError):
    status = 403
    default_message = "forbidden"


class NotFound(DomainError):
    status = 404
    default_message = "not found"


class Conflict(DomainError):
    status = 409
    default_message = "conflict"


class PreconditionFailed(DomainError):
    status = 412
    default_message = "version mismatch"


class PayloadTooLarge(DomainError):
    status = 413
    default_message = "request body too large"


class BodyTimeout(DomainError):
    status = 408
    default_message = "request body not received in time"


class UnsupportedEncoding(DomainError):
    status = 415
    default_message = "unsupported Content-Encoding: use gzip, deflate or none"


class TooManyRequests(DomainError):
    status = 429
    default_message = "too many failed logins, try again later"

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(DomainError):
    """The database does not answer. Raised by store adapters, answered 503."""

    status = 503
    default_message = "database unavailable"


class EmailTaken(Conflict):
    default_message = "email already registered"


class ConfigError(Exception):
    """A bad setting: start-up stops with this one line."""


class IncompatibleDatabase(ConfigError):
    """The database answers but holds data TaskTrek may not use (another application's, a
    newer schema): start-up stops with this one line."""
