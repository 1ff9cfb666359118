"""The cross-node bus backend on PostgreSQL LISTEN/NOTIFY (asyncpg).

Every node LISTENs on one channel; publishing sends ``NOTIFY`` with the event as JSON
(``{"i": <sender instance>, "e": Event.to_dict()}``). PostgreSQL delivers notifications of
one transaction in order and after commit, so a node's events reach the others in the order
it published them: one sender task sends each batch in a single statement.

A NOTIFY payload is limited to 8000 bytes. A larger event is stored in ``bus_overflow`` in
the same transaction and only ``{"i": ..., "ref": <id>}`` is notified; receivers read the row
back. Rows are deleted after ``overflow_retention`` seconds.

The listening connection is watched (termination callback and a periodic ``SELECT 1`` with a
timeout, for half-open sockets) and replaced with backoff when it drops. Notifications sent
while a node was not listening are lost to it, so after every reconnect the backend delivers a
local ``bus.reconnected`` event: subscribers that keep state resynchronize from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from sqlalchemy import BigInteger, Column, Integer, Table, Text
from sqlalchemy.engine import make_url

from core.bus import Event
from core.db import Base, UTCDateTime

log = logging.getLogger(__name__)

NOTIFY_LIMIT = 8000  # bytes, PostgreSQL's limit for a NOTIFY payload
INLINE_LIMIT = 7900  # leave room for the channel name and quoting
DEFAULT_CHANNEL = "vigil_bus"

overflow_table = Table(
    "bus_overflow",
    Base.metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
    Column("payload", Text, nullable=False),
)

BackendChoice = Literal["local", "postgres"]


def choose_backend(database_url: str, bus_backend: str, cluster_nodes: int) -> BackendChoice:
    """``auto``: PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL and more than one
    node is configured, else the in-process bus alone."""
    if bus_backend == "local":
        return "local"
    is_pg = database_url.startswith("postgresql")
    if bus_backend == "postgres":
        if not is_pg:
            raise ValueError("VIGIL_BUS_BACKEND=postgres needs a PostgreSQL VIGIL_DATABASE_URL")
        return "postgres"
    if bus_backend != "auto":
        raise ValueError(f"unknown bus backend {bus_backend!r} (auto, local or postgres)")
    return "postgres" if is_pg and cluster_nodes > 1 else "local"


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://...`` (SQLAlchemy) -> ``postgresql://...`` (asyncpg)."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {url.drivername}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


Deliver = Callable[[Event], None]


class PostgresBusBackend:
    """A :class:`core.bus.BusBackend` over LISTEN/NOTIFY; one per node (process)."""

    def __init__(self, dsn: str, channel: str = DEFAULT_CHANNEL, node: str = "",
                 max_pending: int = 10_000,
                 batch: int = 200, health_interval: float = 5.0, health_timeout: float = 3.0,
                 reconnect_max: float = 10.0, overflow_retention: float = 300.0) -> None:
        self.dsn = asyncpg_dsn(dsn) if "+" in dsn.split("://", 1)[0] else dsn
        self.channel = channel
        self.node = node
        self.instance = uuid.uuid4().hex
        self.batch = batch
        self.health_interval = health_interval
        self.health_timeout = health_timeout
        self.reconnect_max = reconnect_max
        self.overflow_retention = overflow_retention
        self._pending: asyncio.Queue[str] = asyncio.Queue(maxsize=max_pending)
        self._incoming: asyncio.Queue[str | None] = asyncio.Queue()
        self._deliver: Deliver | None = None
        self._listen: asyncpg.Connection | None = None
        self._listen_lock = asyncio.Lock()
        self._lost = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.reconnects = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._warned_name_clash = False

    # ------------------------------------------------------------------ BusBackend protocol

    async def start(self, deliver: Any) -> None:
        """Connect and LISTEN before returning, so nothing published afterwards is missed."""
        self._deliver = deliver
        await self._connect_listener()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._watch(), name="bus-pg-watch"),
                       loop.create_task(self._dispatch(), name="bus-pg-dispatch"),
                       loop.create_task(self._send_loop(), name="bus-pg-send")]

    async def send(self, event: Event) -> None:
        """Queue the event for the sender task; never waits for the database."""
        payload = json.dumps({"i": self.instance, "e": event.to_dict()}, separators=(",", ":"),
                             ensure_ascii=False, default=str)
        if self._pending.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._pending.get_nowait()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("bus: PostgreSQL unreachable or slow, %d events not sent to other "
                          "nodes", self.dropped)
        self._pending.put_nowait(payload)
        self._idle.clear()

    async def stop(self) -> None:
        await self.flush(within=2.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._close_listener()

    # ------------------------------------------------------------------ sending

    async def flush(self, within: float = 5.0) -> None:
        """Wait until every queued event has been sent (tests, shutdown), at most ``within`` s."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)

    async def _send_loop(self) -> None:
        conn: asyncpg.Connection | None = None
        delay = 0.2
        last_cleanup = 0.0
        loop = asyncio.get_running_loop()
        while True:
            first = await self._pending.get()
            batch = [first]
            while len(batch) < self.batch and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            while True:
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self.dsn)
                    await self._send_batch(conn, batch)
                    delay = 0.2
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("bus: sending %d events failed (%r); retrying", len(batch), exc)
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await conn.close()
                    conn = None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.reconnect_max)
            self.sent += len(batch)
            if self._pending.empty():
                self._idle.set()
            if loop.time() - last_cleanup > 60 and conn is not None:
                last_cleanup = loop.time()
                with contextlib.suppress(Exception):
                    await self._cleanup(conn)

    async def _send_batch(self, conn: asyncpg.Connection, batch: list[str]) -> None:
        async with conn.transaction():
            notes: list[str] = []
            for payload in batch:
                if len(payload.encode()) <= INLINE_LIMIT:
                    notes.append(payload)
                    continue
                row_id = await conn.fetchval(
                    "INSERT INTO bus_overflow (created_at, payload) VALUES ($1, $2) RETURNING id",
                    datetime.now(UTC), payload)
                notes.append(json.dumps({"i": self.instance, "ref": row_id}))
            # one statement: the notifications keep their order and arrive after commit
            await conn.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) "
                               "WITH ORDINALITY AS t(p, n) ORDER BY n", self.channel, notes)

    async def _cleanup(self, conn: asyncpg.Connection) -> None:
        cutoff = datetime.now(UTC) - timedelta(seconds=self.overflow_retention)
        await conn.execute("DELETE FROM bus_overflow WHERE created_at < $1", cutoff)

    # ------------------------------------------------------------------ receiving

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._incoming.put_nowait(payload)

    def _on_terminate(self, _conn: Any) -> None:
        self._lost.set()

    async def _connect_listener(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        conn.add_termination_listener(self._on_terminate)
        await conn.add_listener(self.channel, self._on_notify)
        self._listen = conn
        self._lost.clear()

    async def _close_listener(self) -> None:
        conn, self._listen = self._listen, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            conn.remove_termination_listener(self._on_terminate)
            await conn.remove_listener(self.channel, self._on_notify)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), 2.0)
        if not conn.is_closed():
            conn.terminate()

    async def _healthy(self) -> bool:
        conn = self._listen
        if conn is None or conn.is_closed() or self._lost.is_set():
            return False
        try:
            async with self._listen_lock:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), self.health_timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    async def _watch(self) -> None:
        """Keep the listening connection alive; replace it when it drops or stops answering."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.health_interval)
            if await self._healthy():
                continue
            log.warning("bus: lost the LISTEN connection to PostgreSQL; reconnecting")
            lost_at = asyncio.get_running_loop().time()
            await self._close_listener()
            delay = 0.2
            while True:
                try:
                    await self._connect_listener()
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("bus: reconnect failed (%r), next try in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.reconnect_max)
            self.reconnects += 1
            down = asyncio.get_running_loop().time() - lost_at
            log.info("bus: listening again after %.1fs", down)
            if self._deliver is not None:
                self._deliver(Event(topic="bus.reconnected",
                                    data={"down_seconds": round(down, 3),
                                          "reconnects": self.reconnects}))

    async def _dispatch(self) -> None:
        while True:
            payload = await self._incoming.get()
            if payload is None:
                return
            try:
                event = await self._decode(payload)
            except Exception:  # noqa: BLE001 - one bad message must not stop the bus
                log.exception("bus: undecodable notification dropped")
                continue
            if event is not None and self._deliver is not None:
                self.received += 1
                self._deliver(event)

    async def _decode(self, payload: str) -> Event | None:
        envelope = json.loads(payload)
        if envelope.get("i") == self.instance:
            return None  # our own, already delivered locally
        if "ref" in envelope:
            async with self._listen_lock:
                if self._listen is None:
                    return None
                stored = await self._listen.fetchval(
                    "SELECT payload FROM bus_overflow WHERE id = $1", int(envelope["ref"]))
            if stored is None:
                log.warning("bus: large event %s already expired", envelope["ref"])
                return None
            envelope = json.loads(stored)
        event = Event.from_dict(envelope["e"])
        if self.node and event.origin == self.node and not self._warned_name_clash:
            # the local bus would drop it as our own: two nodes share a name
            self._warned_name_clash = True
            log.error("bus: another node also runs as %r; give each node its own "
                      "VIGIL_NODE_NAME", self.node)
        return event
