"""Database engine, sessions and the declarative base shared by every package's models.

SQLite is the embedded default and PostgreSQL the production database; both run the same
migrations and tests, so column types here are the portable subset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, DateTime, MetaData, any_, bindparam, cast, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool, StaticPool
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, also on SQLite which keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for all Vigil tables."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


class ArchivableMixin:
    """Records are archived, never hard-deleted: archived rows stay readable."""

    archived_at: Mapped[datetime | None] = mapped_column(default=None, index=False)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def one_of(session: AsyncSession, column: Any,
           values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` for a batch. On PostgreSQL one array parameter (``= ANY``), so the
    statement's text, hence its prepared plan, is the same whatever the batch's size: an IN list
    of a new length is parsed and planned anew. Elsewhere an IN list (SQLite takes at most 999
    parameters per statement: callers send chunks)."""
    if session.get_bind().dialect.name == "postgresql":
        array = _ARRAYS.get(column)
        if array is None:
            array = _ARRAYS[column] = ARRAY(column.type)
        return column == any_(cast(list(values), array))
    return column.in_(values)


_ARRAYS: dict[Any, ARRAY[Any]] = {}  # column -> its array type, made once


def in_param(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """``column IN :name`` for a statement built once per dialect and run for every batch,
    the values given at execution (building statements anew was a tenth of the alarm
    engine's time): as :func:`one_of`, one array parameter on PostgreSQL, an expanding IN
    list elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def json_text(value: Any) -> str:
    """JSON as every JSON column stores it (None is 'null'), by orjson."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, echo: bool = False, **kw: Any) -> AsyncEngine:
    """An async engine with the pragmas SQLite needs to be a safe journal (WAL, FKs, busy wait),
    and JSON columns read and written by orjson (the standard library's was a visible share of
    the alarm engine's time)."""
    kw.setdefault("json_serializer", json_text)
    kw.setdefault("json_deserializer", orjson.loads)
    if is_sqlite(url):
        if ":memory:" in url or url.rstrip("/").endswith("sqlite+aiosqlite:"):
            kw.setdefault("poolclass", StaticPool)
            kw.setdefault("connect_args", {"check_same_thread": False})
        elif kw.pop("nullpool", False):
            kw["poolclass"] = NullPool
        engine = create_async_engine(url, echo=echo, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # an ACKed signal must survive a power cut
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        return engine
    if kw.pop("nullpool", False):
        kw["poolclass"] = NullPool
        return create_async_engine(url, echo=echo, **kw)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    return create_async_engine(url, echo=echo, **kw)


class Database:
    """Owns the engine and hands out sessions; one per process."""

    def __init__(self, url: str, echo: bool = False, pre_ping: bool = True) -> None:
        """``pre_ping`` checks each connection as it leaves the pool (on asyncpg three round
        trips: BEGIN, a no-op, ROLLBACK), so a request never meets a connection the server
        dropped; a caller that retries on a lost connection can do without it."""
        self.url = url
        self.engine = make_engine(url, echo=echo, **({} if pre_ping else {"pool_pre_ping": False}))
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the caller commits. Rolled back if the block raises."""
        async with self.sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads that need no snapshot across statements. On PostgreSQL it runs
        outside a transaction (autocommit), so each query is one round trip, without a BEGIN
        before and a ROLLBACK after: the alarm engine's lookups of every batch. Elsewhere a
        plain session."""
        if self.dialect != "postgresql":
            async with self.session() as session:
                yield session
            return
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed when the block ends without error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
