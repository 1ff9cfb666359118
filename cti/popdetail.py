"""The screen pop's second step, crm's full account summary, built off the event loop.

``crm.account_summary`` loads the whole account graph through the ORM: tens of milliseconds of
Python on 100,000 accounts, with tails past 100 ms. Awaited on the CTI's event loop (even in its
own task) that CPU time sits between the AMI socket and every other ring's quick lookup, so the
first ``screenpop`` of the next caller would queue behind it. :class:`ProcessDetail` builds the
summary in a worker process with its own event loop and its own database engine, so the main loop
only sends an account id and receives a dict; :class:`InlineDetail` awaits it in place (an
in-memory database, which another process cannot open, and tests).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from multiprocessing import util
from typing import Any, Protocol

from core.db import Database
from crm import services as crm

Json = dict[str, Any]


async def summary_of(db: Database, account_id: int, today: date) -> Json | None:
    """crm's account summary in a session of its own; None when the account does not exist."""
    async with db.session() as s:
        try:
            return await crm.account_summary(s, account_id, today)
        except crm.NotFound:
            return None


class DetailSource(Protocol):
    async def start(self) -> None: ...

    async def summary(self, account_id: int, today: date) -> Json | None: ...

    async def close(self) -> None: ...


class InlineDetail:
    """The summary on the caller's loop, at most ``concurrency`` at a time."""

    def __init__(self, db: Database, concurrency: int = 2) -> None:
        self.db = db
        self._slots = asyncio.Semaphore(concurrency)

    async def start(self) -> None:
        return None

    async def summary(self, account_id: int, today: date) -> Json | None:
        async with self._slots:
            return await summary_of(self.db, account_id, today)

    async def close(self) -> None:
        return None


# ---------------------------------------------------------------------- the worker process

_worker: tuple[asyncio.AbstractEventLoop, Database] | None = None


def _dispose() -> None:
    if _worker is not None:
        loop, db = _worker
        loop.run_until_complete(db.dispose())  # stops aiosqlite's (non-daemon) threads
        loop.close()


def _init_worker(url: str, nice: int) -> None:
    global _worker
    if nice:
        os.nice(nice)  # on a busy host the cores go to the event loop's first pops first
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _worker = (loop, Database(url))
    # runs when the pool shuts the worker down, before the interpreter joins threads
    util.Finalize(None, _dispose, exitpriority=10)


def _summary_in_worker(account_id: int, today: date) -> Json | None:
    if _worker is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("detail worker not initialised")
    loop, db = _worker
    return loop.run_until_complete(summary_of(db, account_id, today))


def _ping() -> bool:
    return _worker is not None


class ProcessDetail:
    """The summary from ``workers`` spawned processes, each with its own engine on ``url``.

    Spawned rather than forked: the parent has a running event loop and driver threads that a
    fork would copy in an unusable state. :meth:`start` waits until the workers have imported
    crm and opened their engine, so the first ring does not pay for it. The workers run at a
    lower priority (``nice``): the detail may wait, the next caller's first pop may not.
    """

    def __init__(self, url: str, workers: int = 1, nice: int = 10) -> None:
        if ":memory:" in url:
            raise ValueError("an in-memory database cannot be opened by another process")
        self.url = url
        self.workers = workers
        self.nice = nice
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(self.url, self.nice))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _ping)
                               for _ in range(self.workers)))

    async def summary(self, account_id: int, today: date) -> Json | None:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, _summary_in_worker, account_id, today)
        except BrokenProcessPool:
            # a worker died (killed, out of memory): start new ones and try once more
            if self._pool is pool:
                self._pool = self._new_pool()
                pool.shutdown(wait=False)
            return await loop.run_in_executor(self._pool, _summary_in_worker, account_id,
                                              today)

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)


def detail_source(db: Database, mode: str = "auto", workers: int = 1) -> DetailSource:
    """``process`` or ``inline`` as asked; ``auto`` is the process unless the database is in
    memory."""
    if mode == "inline" or (mode == "auto" and ":memory:" in db.url):
        return InlineDetail(db)
    return ProcessDetail(db.url, workers)
