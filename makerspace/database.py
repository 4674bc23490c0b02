"""Database plumbing shared by all areas: UTC timestamps and SQLite connection settings."""

from __future__ import annotations

import enum
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no zone, PostgreSQL keeps `timestamptz`; this type makes both behave the same
    and refuses naive datetimes, which would silently be read as local time somewhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite reuses the highest rowid after a delete unless a table says AUTOINCREMENT; an id that
# a cookie, a link or a feed once named must never point at someone else's row.
SQLITE_AUTOINCREMENT = {"sqlite_autoincrement": True}


def _to_utc(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
    # Naive values pass through, to be refused by UTCDateTime when written.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


@event.listens_for(Mapper, "mapper_configured")
def _utc_in_memory_too(mapper: Mapper, class_: type) -> None:
    """A UTC column holds UTC in memory as well, from the moment it is set: an object made a
    moment ago answers the same as one read back from the database (an e-mail's .ics, an API
    answer built before the commit)."""
    for attribute in mapper.column_attrs:
        if any(isinstance(column.type, UTCDateTime) for column in attribute.columns):
            event.listen(getattr(class_, attribute.key), "set", _to_utc, retval=True)


def utcnow() -> datetime:
    """Wall-clock now in UTC, for column defaults (the rules use `makerspace.clock`)."""
    return datetime.now(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection: Any) -> None:
    if connection.dialect.name != "sqlite":
        return
    # pysqlite's deferred transactions let two writers read the same state and then both write
    # (a double booking). BEGIN IMMEDIATE takes the write lock up front, so every transaction
    # that may check and then write is serialised. Read-only work (GET requests) opts out with
    # `read_only_transaction()`, so readers run side by side in WAL mode.
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN DEFERRED")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    connection.info[SNAPSHOT_TAKEN] = False  # the BEGIN itself reads nothing


@event.listens_for(Engine, "before_cursor_execute")
def _note_snapshot(connection: Any, *_args: Any) -> None:
    connection.info[SNAPSHOT_TAKEN] = True


READ_ONLY_OPTION = "makerspace_read_only"
SNAPSHOT_TAKEN = "makerspace_snapshot_taken"


def snapshot_taken(session: Any) -> bool:
    """Whether the session's transaction has read from SQLite already: from its first read on,
    it sees the database as it was then (WAL), not as it is now. On PostgreSQL (READ
    COMMITTED) every statement sees what is committed when it runs: always False."""
    session = session() if callable(session) else session  # a scoped_session
    if not session.in_transaction():
        return False
    connection = session.connection()
    return connection.dialect.name == "sqlite" and connection.info.get(SNAPSHOT_TAKEN, True)


def write_refused_to_reader(error: Exception) -> bool:
    """Whether SQLite refused a reader's first write: another connection holds the write
    lock or has committed since the reader's snapshot (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT;
    no busy timeout is waited for these)."""
    orig = getattr(error, "orig", None)
    return isinstance(orig, sqlite3.OperationalError) and getattr(
        orig, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_SNAPSHOT)


def locks_rows(session: Any) -> bool:
    """Whether `SELECT … FOR UPDATE` locks a row here. On SQLite every writing transaction
    holds the database's write lock from its start (BEGIN IMMEDIATE): nothing to lock."""
    session = session() if callable(session) else session  # a scoped_session
    return session.get_bind().dialect.name != "sqlite"


def read_only_transaction(session: Any) -> None:
    """Begin the session's transaction as a reader (SQLite: no write lock taken up front)."""
    session = session() if callable(session) else session  # a scoped_session
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={READ_ONLY_OPTION: True})


def checked_enum(cls: type[enum.Enum], name: str, *, length: int) -> Enum:
    """An enum stored as its values in a VARCHAR of `length` with a CHECK listing them: the
    same on SQLite and PostgreSQL, and a new member is one migration of the check."""
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=length,
                   values_callable=lambda members: [m.value for m in members])
