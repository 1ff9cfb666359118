"""Leases in the database: exactly one node at a time does a job that must not run twice.

The CTI connection to one Asterisk is the main case (two AMI clients would both originate,
pause and record), and the same holds for any cluster-wide timer. A lease is a row with its
holder and an expiry; the holder renews it every ``ttl / 3`` seconds, and any other node may take
it once it has expired, so a dead holder is replaced within ``ttl + interval`` seconds (8 s with
the defaults). The holder stops its job by itself when it has not managed to renew for
``ttl - interval`` seconds, which is before anyone else may take over.

Why a table and not PostgreSQL advisory locks: an advisory lock is freed only when the server
notices the holder's connection is gone, which for a node that lost power or network is a TCP
keepalive timeout (hours by default), not 10 s; the holder cannot tell that it lost the lock
while partitioned; and the lock does not survive a connection pooler. A lease row expires on
time, can be read by anyone (who holds the CTI, since when) and works on SQLite too, so the
single-node default runs the same code. It needs the nodes' clocks in step (NTP) to well
under the ttl. Every takeover increments ``token``, a fencing number a job may pass along.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, String, Table, case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.bus import Bus
from core.clock import Clock
from core.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)

DEFAULT_TTL = 6.0

lease_table = Table(
    "cluster_lease",
    Base.metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("token", Integer, nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("renewed_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Lease:
    """A lease as stored: who holds it, since when, until when, and its fencing token."""

    name: str
    holder: str
    token: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now


class LeaseStore:
    """Atomic acquire / renew / release of named leases, on SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(self, name: str, holder: str, ttl: float, now: datetime) -> Lease | None:
        """Take the lease if it is free or expired, or renew it if ``holder`` has it.

        Returns the lease when ``holder`` holds it afterwards, else None. One UPDATE decides
        between contenders: the database serializes them on the row.
        """
        t = lease_table
        expires = now + timedelta(seconds=ttl)
        mine = t.c.holder == holder
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.name == name, or_(mine, t.c.expires_at <= now))
                .values(holder=holder, renewed_at=now, expires_at=expires,
                        token=case((mine, t.c.token), else_=t.c.token + 1),
                        acquired_at=case((mine, t.c.acquired_at), else_=now)))
            if result.rowcount == 1:
                return await self._get(conn, name)
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(insert(t).values(name=name, holder=holder, token=1,
                                                    acquired_at=now, renewed_at=now,
                                                    expires_at=expires))
        except IntegrityError:
            return None  # somebody else holds it (or inserted it just now)
        return Lease(name, holder, 1, now, now, expires)

    async def release(self, name: str, holder: str, now: datetime) -> bool:
        """Give the lease up now (when stopping cleanly), so a standby need not wait the ttl."""
        t = lease_table
        async with self.db.engine.begin() as conn:
            result = await conn.execute(update(t).where(t.c.name == name, t.c.holder == holder)
                                        .values(expires_at=now))
        return bool(result.rowcount)

    async def get(self, name: str) -> Lease | None:
        async with self.db.engine.connect() as conn:
            return await self._get(conn, name)

    async def all(self) -> list[Lease]:
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(lease_table).order_by(lease_table.c.name))).all()
        return [Lease(**r._mapping) for r in rows]

    @staticmethod
    async def _get(conn: Any, name: str) -> Lease | None:
        row = (await conn.execute(select(lease_table).where(lease_table.c.name == name))).first()
        return Lease(**row._mapping) if row is not None else None


Job = Callable[[], Coroutine[Any, Any, None]]


class LeaseKeeper:
    """Holds one lease for this node and runs a job exactly while it holds it.

    ``run(job)`` loops until cancelled: it tries to take or renew the lease every ``interval``
    seconds; on taking it, starts ``job`` as a task; on losing it (another node holds it, or
    renewals failed for ``ttl - interval`` seconds), cancels the job. A job that ends by itself
    is started again on the next round while the lease is held. Changes are published on the
    bus as ``cluster.lease`` when a bus is given.
    """

    def __init__(self, store: LeaseStore, name: str, holder: str, clock: Clock,
                 ttl: float = DEFAULT_TTL, interval: float | None = None,
                 bus: Bus | None = None) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.clock = clock
        self.ttl = ttl
        self.interval = interval if interval is not None else ttl / 3
        if self.interval >= ttl / 2:
            raise ValueError("renew at least twice per ttl")
        self.bus = bus
        self.lease: Lease | None = None
        self._last_renewed: float | None = None
        self._job: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self._job is not None

    async def run(self, job: Job) -> None:
        try:
            while True:
                await self.tick(job)
                await self.clock.sleep(self.interval)
        finally:
            await self._stop_job("released")
            with contextlib.suppress(Exception):
                await asyncio.shield(self.store.release(self.name, self.holder, self.clock.now()))

    async def tick(self, job: Job) -> None:
        """One round: renew or take the lease, start or stop the job accordingly."""
        started = self.clock.monotonic()
        try:
            lease = await asyncio.wait_for(
                self.store.acquire(self.name, self.holder, self.ttl, self.clock.now()),
                timeout=self.interval)
        except Exception as exc:  # noqa: BLE001 - the database is away; decide by the clock
            log.warning("lease %s: renewal failed: %r", self.name, exc)
            if (self._job is not None and self._last_renewed is not None
                    and self.clock.monotonic() - self._last_renewed >= self.ttl - self.interval):
                log.error("lease %s: not renewed for %.1fs, stepping down", self.name,
                          self.clock.monotonic() - self._last_renewed)
                await self._stop_job("lost")
            return
        self.lease = lease
        if lease is None:
            if self._job is not None:
                log.error("lease %s: taken over by another node", self.name)
                await self._stop_job("lost")
            return
        self._last_renewed = started
        if self._job is not None and self._job.done():
            if not self._job.cancelled() and self._job.exception() is not None:
                log.error("lease %s: job failed, restarting: %r", self.name,
                          self._job.exception())
            self._job = None
        if self._job is None:
            log.info("lease %s: held by %s (token %d)", self.name, self.holder, lease.token)
            self._job = asyncio.create_task(job(), name=f"lease:{self.name}")
            await self._publish("acquired")

    async def _stop_job(self, state: str) -> None:
        task, self._job = self._job, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await self._publish(state)

    async def _publish(self, state: str) -> None:
        if self.bus is None:
            return
        token = self.lease.token if self.lease else None
        with contextlib.suppress(Exception):
            await self.bus.publish("cluster.lease", {"name": self.name, "holder": self.holder,
                                                     "state": state, "token": token})
