"""The signal journal on SQLite and PostgreSQL: group commit, duplicates stored once, ACK and
``signal.received`` only after the commit, a failed commit acknowledges nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core.clock import FakeClock
from core.db import Database, make_engine
from core.services import Services
from receivers import dc09
from receivers.dc09 import Dc09Config, Dc09Receiver
from receivers.journal import AccountKey, SignalJournal
from receivers.models import SignalRecord
from receivers.signal import Signal
from receivers.transport_dc09 import Dc09Server

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def sig(seq: str | None = "0001", account: str = "1234", **kw: object) -> Signal:
    args: dict[str, object] = dict(
        received_at=T0, receiver="ip1", line="R1L1", protocol="dc09", account=account,
        event_code="130", event_system="cid", qualifier="new", partition="01", zone="005",
        sequence=seq, extra={"text": "前门"}, raw=b"\nraw\r",
    )
    args.update(kw)
    return Signal(**args)  # type: ignore[arg-type]


async def rows(db: Database) -> list[SignalRecord]:
    async with db.session() as s:
        return list((await s.execute(select(SignalRecord).order_by(SignalRecord.id))).scalars())


@pytest.fixture
async def journal(services: Services) -> AsyncIterator[SignalJournal]:
    j = SignalJournal(services.db, services.bus, services.clock)
    yield j
    await j.close()


async def test_concurrent_stores_share_one_commit_and_all_fields_survive(
    journal: SignalJournal, services: Services
) -> None:
    results = await asyncio.gather(*(journal.store([sig(f"{i:04d}")]) for i in range(50)))
    assert results == [[True]] * 50
    assert journal.stats.batches == 1  # everything queued together went in one transaction
    stored = await rows(services.db)
    assert sorted(r.sequence or "" for r in stored) == [f"{i:04d}" for i in range(50)]
    r = stored[0]
    assert (r.received_at, r.account, r.event_code, r.event_class, r.priority) == (
        T0, "1234", "130", "alarm", 2)
    assert (r.extra, r.raw, r.zone, r.partition, r.unknown_account) == (
        {"text": "前门"}, b"\nraw\r", "005", "01", None)


async def test_retransmission_is_acknowledged_again_but_stored_once(
    journal: SignalJournal, services: Services, clock: FakeClock
) -> None:
    assert await journal.store([sig("0007"), sig("0007")]) == [True, False]  # same batch
    assert await journal.store([sig("0007")]) == [False]  # a later batch
    assert await journal.store([sig("0007", line="R1L2")]) == [True]  # other line: other panel
    assert await journal.store([sig(None), sig(None)]) == [True, True]  # no sequence: no key
    later = T0 + timedelta(hours=2)  # outside the window: the sequence number was reused
    clock.set(later)
    assert await journal.store([sig("0007", received_at=later)]) == [True]
    assert len(await rows(services.db)) == 5


@pytest.mark.parametrize("preload_limit", [500_000, 0], ids=["preloaded", "asks-table"])
async def test_duplicates_recognised_after_a_restart_from_the_table(
    services: Services, clock: FakeClock, preload_limit: int
) -> None:
    clock.set(T0)
    first = SignalJournal(services.db, None, clock)
    assert await first.store([sig("0100"), sig("0101")]) == [True, True]
    await first.close()
    clock.advance(30)  # the panel retransmits half a minute later to the restarted receiver
    # preload_limit 0: too many recent signals to load, so each batch asks the table
    again = SignalJournal(services.db, None, clock, preload_limit=preload_limit)
    try:
        retry = [sig("0101", received_at=clock.now()), sig("0102", received_at=clock.now())]
        assert await again.store(retry) == [False, True]
        assert await again.store([sig("0100", received_at=clock.now())]) == [False]
        if preload_limit == 0:
            assert again.stats.db_dedup_queries >= 1
    finally:
        await again.close()
    assert [r.sequence for r in await rows(services.db)] == ["0100", "0101", "0102"]


async def test_published_after_commit_with_the_row_id(
    journal: SignalJournal, services: Services
) -> None:
    seen: list[tuple[dict[str, object], int]] = []
    with services.bus.subscribe("signal.received") as sub:
        await journal.store([sig("0001"), sig("0001")])
        event = await sub.get(within=2)
        async with services.db.session() as s:  # the row is already visible to others
            count = await s.scalar(select(func.count()).select_from(SignalRecord))
        seen.append((dict(event.data), int(count or 0)))
        assert sub.get_nowait() is None  # the duplicate was not published
    data, count = seen[0]
    stored = await rows(services.db)
    assert count == 1 and data["signal_id"] == stored[0].id
    assert data["unknown_account"] is False and data["account"] == "1234"
    assert Signal.from_dict(data) == sig("0001")  # type: ignore[arg-type]


class Directory:
    def __init__(self, known: dict[str, int]) -> None:
        self.known_accounts = known
        self.asked: list[set[AccountKey]] = []

    async def account_ids(self, accounts: set[AccountKey]) -> dict[AccountKey, int | None]:
        self.asked.append(set(accounts))
        return {pair: self.known_accounts.get(pair[1]) for pair in accounts}


class BrokenDirectory:
    async def account_ids(self, accounts: set[AccountKey]) -> dict[AccountKey, int | None]:
        raise ConnectionError("crm down")


async def test_each_signals_account_is_looked_up_once_stored_and_published(
        services: Services) -> None:
    directory = Directory({"1234": 17})
    j = SignalJournal(services.db, services.bus, services.clock, directory=directory)
    with services.bus.subscribe("signal.received") as sub:
        assert await j.store([sig("0001"), sig("0002", account="9999"),
                              sig("0003")]) == [True, True, True]
        published = [(await sub.get(within=2)).data for _ in range(3)]
    await j.close()
    assert directory.asked == [{("ip1", "1234"), ("ip1", "9999")}]  # once per batch
    assert [(p["account"], p["account_id"], p["unknown_account"]) for p in published] == [
        ("1234", 17, False), ("9999", None, True), ("1234", 17, False)]
    by_account = {r.account: r.unknown_account for r in await rows(services.db)}
    assert by_account == {"1234": False, "9999": True}
    broken = SignalJournal(services.db, services.bus, services.clock,
                           directory=BrokenDirectory())
    with services.bus.subscribe("signal.received") as sub:
        assert await broken.store([sig("0004")]) == [True]  # stored anyway, "not checked"
        unchecked = (await sub.get(within=2)).data
    await broken.close()
    assert (await rows(services.db))[-1].unknown_account is None
    assert (unchecked["account_id"], unchecked["unknown_account"]) == (None, False)


async def test_failed_commit_fails_every_caller_and_nothing_is_remembered(
    tmp_path: Path, services: Services
) -> None:
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")  # never migrated
    j = SignalJournal(empty, services.bus, services.clock)
    try:
        with services.bus.subscribe("signal.received") as sub:
            results = await asyncio.gather(j.store([sig("0001")]), j.store([sig("0002")]),
                                           return_exceptions=True)
            assert all(isinstance(r, RuntimeError) for r in results)
            assert sub.get_nowait() is None
        assert j.stats.failed_batches == 1
        # once the database works the retransmission is stored, not taken for a duplicate
        j.db = services.db
        assert await j.store([sig("0001")]) == [True]
    finally:
        await j.close()
        await empty.dispose()


async def hold_write_lock(url: str) -> tuple[object, object]:
    """Take the table's write lock in another connection, so the journal's commit waits."""
    engine = make_engine(url, nullpool=True)
    conn = await engine.connect()
    if url.startswith("sqlite"):
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        await conn.begin()
        await conn.execute(text("LOCK TABLE receiver_signals IN EXCLUSIVE MODE"))
    return engine, conn


async def test_no_ack_leaves_before_the_commit(services: Services, db_url: str) -> None:
    clock = FakeClock(T0)
    journal = SignalJournal(services.db, services.bus, clock)
    server = Dc09Server(Dc09Receiver(Dc09Config(receiver="ip1")), journal, clock)
    port = await server.start_tcp()
    engine, conn = await hold_write_lock(db_url)
    writer = None
    try:
        with services.bus.subscribe("signal.received") as sub:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(dc09.build_message("ADM-CID", 5, "1234", "#1234|1130 01 005",
                                            receiver="1", line="1", now=T0))
            await writer.drain()
            with pytest.raises(TimeoutError):  # the commit waits for the lock: no ACK yet
                await asyncio.wait_for(reader.readuntil(b"\r"), 0.5)
            assert sub.get_nowait() is None  # and nothing published
            await conn.rollback()  # type: ignore[attr-defined]
            ack = dc09.parse_frame(await asyncio.wait_for(reader.readuntil(b"\r"), 10))
            assert (ack.message_id, ack.sequence, ack.account) == ("ACK", "0005", "1234")
            event = await sub.get(within=5)
        assert [r.id for r in await rows(services.db)] == [event.data["signal_id"]]
    finally:
        if writer is not None:
            writer.close()
        await conn.close()  # type: ignore[attr-defined]
        await engine.dispose()  # type: ignore[attr-defined]
        await server.close()
        await journal.close()


class SlowFirstCommit(SignalJournal):
    """The first batch's commit takes a while (and may fail), so the next batch overtakes it."""

    fail_first = False

    def __init__(self, *a: object, **kw: object) -> None:
        super().__init__(*a, **kw)  # type: ignore[arg-type]
        self.commits = 0

    async def _insert(self, rows: list[dict[str, object]]) -> list[int]:
        self.commits += 1
        if self.commits == 1:
            await asyncio.sleep(0.3)
            if self.fail_first:
                raise RuntimeError("disk full")
        return await super()._insert(rows)  # type: ignore[arg-type]


@pytest.mark.parametrize("first_fails", [False, True])
async def test_duplicate_of_a_signal_still_committing_waits_for_that_commit(
    services: Services, first_fails: bool
) -> None:
    j = SlowFirstCommit(services.db, None, services.clock, pipeline=2)
    j.fail_first = first_fails
    try:
        first = asyncio.create_task(j.store([sig("0001")]))
        await asyncio.sleep(0.05)  # the first batch is committing now
        second = asyncio.create_task(j.store([sig("0001"), sig("0002")]))
        await asyncio.sleep(0.1)
        assert not second.done()  # its duplicate is not acknowledged before the original
        r1, r2 = await asyncio.gather(first, second, return_exceptions=True)
        if first_fails:  # the original is lost, so the retransmission must not be ACKed
            assert isinstance(r1, RuntimeError) and isinstance(r2, RuntimeError)
            assert await j.store([sig("0001")]) == [True]  # the next retry is stored
        else:
            assert (r1, r2) == ([True], [False, True])
    finally:
        await j.close()
    assert sorted(r.sequence or "" for r in await rows(services.db)) == ["0001", "0002"]
