"""Storage: the `Store` port and its two adapters, SQLite (embedded default) and MongoDB."""

from __future__ import annotations

from ..settings import database_kind, sqlite_path
from .base import ChangeSet, ReadUpdate, SessionRecord, Store, TaskQuery, TaskUpdate
from .mongo import MongoStore
from .sqlite import SqliteStore

__all__ = [
    "ChangeSet", "ReadUpdate", "SessionRecord", "Store", "TaskQuery", "TaskUpdate", "SqliteStore", "MongoStore",
    "store_from_url", "store_from_database",
]


def store_from_url(url: str, variable: str = "TASKTREK_DATABASE_URL") -> Store:
    """sqlite:///<relative path>, sqlite:////<absolute path>, mongodb:// or mongodb+srv://.
    Raises ConfigError, naming `variable`, on anything else. The store still needs
    `await store.open()`."""
    if database_kind(url, variable) == "sqlite":
        return SqliteStore(sqlite_path(url), source=variable)
    return MongoStore.from_url(url, variable)


def store_from_database(db) -> Store:
    """A store on an async MongoDB database object (PyMongo's AsyncDatabase, or Motor's or
    mongomock-motor's); its client stays the caller's to close."""
    return MongoStore(db)
