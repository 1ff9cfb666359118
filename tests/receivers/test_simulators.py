"""Simulators against the real receivers and the journal: DC-09 panels over TCP and UDP,
encrypted; a Sur-Gard receiver on a real pseudo-terminal that retransmits until stored;
AlarmReceiver files ingested once; the receivers part with keys reloaded from the admin API."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import SystemClock
from core.services import Services
from receivers import contact_id, surgard
from receivers.config import ReceiverSettings, parse_key
from receivers.dc09 import Dc09Config, Dc09Receiver
from receivers.ingest import IngestReport, ingest_paths, watch_spool
from receivers.journal import SignalJournal
from receivers.models import Dc09KeyRecord, SignalRecord
from receivers.runtime import Receivers
from receivers.signal import Signal
from receivers.simulate.panels import Panel, PanelReport, run_panels
from receivers.simulate.serial_receiver import PtyPair, SerialReceiverSim
from receivers.transport_dc09 import Dc09Server
from receivers.transport_serial import LineReceiver, serve_serial
from tests.conftest import CAPTURES

SAMPLES = CAPTURES / "alarmreceiver"
KEY = parse_key("hex:000102030405060708090A0B0C0D0E0F1011121314151617")


async def stored(services: Services) -> list[SignalRecord]:
    async with services.db.session() as s:
        return list((await s.execute(select(SignalRecord).order_by(SignalRecord.id))).scalars())


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_encrypted_panels_every_message_acked_and_stored_once(
    services: Services, transport: str
) -> None:
    clock = SystemClock()  # the panels stamp their messages with the real time
    journal = SignalJournal(services.db, services.bus, clock)
    server = Dc09Server(Dc09Receiver(Dc09Config(receiver="ip1", default_key=KEY)), journal,
                        clock)
    port = await (server.start_tcp() if transport == "tcp" else server.start_udp())
    try:
        report = await run_panels("127.0.0.1", port, count=5, rate=0, messages=60,
                                  transport=transport, key=KEY)  # type: ignore[arg-type]
        # a panel that missed its ACK sends the same sequence again: ACKed, not stored again
        again = Panel(report.acked[0][0], "127.0.0.1", port, PanelReport(),
                      transport=transport, key=KEY)  # type: ignore[arg-type]
        assert await again.send("ADM-CID", "1130 01 001")  # sequence 0001, like the first
        await again.close()
    finally:
        await server.close()
        await journal.close()
    assert (report.sent, report.acked_messages, report.bad_acks, report.duhs) == (60, 60, 0, 0)
    rows = await stored(services)
    assert len(rows) == 60
    assert {(r.account, r.sequence) for r in rows} == set(report.acked)
    assert sum(report.kinds.values()) == 60 and len(report.kinds) >= 4  # a mix of events


async def test_wrong_key_panel_gets_duh_and_nothing_is_stored(services: Services) -> None:
    clock = SystemClock()
    journal = SignalJournal(services.db, None, clock)
    server = Dc09Server(Dc09Receiver(Dc09Config(receiver="ip1", default_key=KEY)), journal,
                        clock)
    port = await server.start_tcp()
    try:
        report = await run_panels("127.0.0.1", port, count=1, rate=0, messages=2,
                                  key=parse_key("text:WrongKeyWrongKey"))
    finally:
        await server.close()
        await journal.close()
    assert (report.duhs, report.acked_messages) == (2, 0)
    assert await stored(services) == []


class FlakySink:
    """Fails the first store (database hiccup): the line gets no answer and is resent."""

    def __init__(self, inner: SignalJournal) -> None:
        self.inner = inner
        self.failures = 1

    async def store(self, signals: list[Signal]) -> list[bool]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database hiccup")
        return await self.inner.store(signals)


async def test_serial_receiver_on_a_pty_retransmits_until_stored(services: Services) -> None:
    pair = PtyPair()
    journal = SignalJournal(services.db, None, services.clock)
    line = LineReceiver("surgard", "mlr2", FlakySink(journal), services.clock)
    opened = asyncio.Event()
    serving = asyncio.create_task(serve_serial(line, pair.path, opened))
    sim = None
    try:
        await asyncio.wait_for(opened.wait(), 5)
        sim = SerialReceiverSim(pair.master, "surgard", ack_timeout=0.5, heartbeat=0.2)
        report = await asyncio.wait_for(sim.run(["1234", "5678"], rate=50, count=8), 30)
    finally:
        if sim is not None:
            sim.close()
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await journal.close()
        pair.close()
    assert report.timeouts >= 1 and report.automation_failures == 0  # the failed store
    assert report.heartbeats >= 1 and len(report.sent_lines) == 8
    rows = await stored(services)
    # every line stored exactly once, the retransmitted one included
    assert [r.raw for r in rows] == report.sent_lines
    assert all(r.protocol == "surgard" and r.receiver == "mlr2" for r in rows)
    assert rows[0].raw == surgard.build_contact_id_line("01", "1", _cid(rows[0]))


def _cid(row: SignalRecord) -> contact_id.ContactIdMessage:
    q = {"new": "1", "restore": "3", "status": "6"}[row.qualifier]
    number = row.zone or row.user or "000"
    return contact_id.parse(contact_id.build(row.account, q, row.event_code,
                                             row.partition or "00", number))


async def test_alarmreceiver_files_ingested_once_and_spool_moves_them(
    services: Services, tmp_path: Path
) -> None:
    journal = SignalJournal(services.db, services.bus, services.clock)
    try:
        first = await ingest_paths([SAMPLES], journal, services.clock)
        again = await ingest_paths([SAMPLES / "event-two-signals"], journal, services.clock)
        # a new journal (another process, hours later) still recognises the file's events
        services.clock.advance(timedelta(hours=5).total_seconds())  # type: ignore[attr-defined]
        later = SignalJournal(services.db, None, services.clock)
        third = await ingest_paths([SAMPLES / "event-fire"], later, services.clock)
        await later.close()
        spool = tmp_path / "spool"
        spool.mkdir()
        shutil.copy(SAMPLES / "event-fire", spool / "event-1")
        watcher = asyncio.create_task(watch_spool(spool, journal, SystemClock(), interval=0.05))
        for _ in range(100):
            if (spool / "done" / "event-1").exists():
                break
            await asyncio.sleep(0.05)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    finally:
        await journal.close()
    assert isinstance(first, IngestReport)
    assert first.files == 3 and first.stored == first.signals >= 3
    assert (again.stored, again.duplicates) == (0, 2)
    assert (third.stored, third.duplicates) == (0, third.signals)
    assert (spool / "done" / "event-1").exists() and not (spool / "event-1").exists()
    assert len(await stored(services)) == first.stored


async def test_receivers_part_listens_and_reloads_keys_from_the_admin_api(
    services: Services,
) -> None:
    services.clock = SystemClock()
    rx = ReceiverSettings(_env_file=None, dc09_udp=False)  # type: ignore[call-arg]
    services.settings.dc09_port = 0
    node = Receivers(services, rx)
    running = asyncio.create_task(node.run())
    try:
        for _ in range(100):
            if "dc09/tcp" in node.ports:
                break
            await asyncio.sleep(0.02)
        port = node.ports["dc09/tcp"]
        plain = await run_panels("127.0.0.1", port, count=1, rate=0, messages=1,
                                 accounts=["4321"])
        assert plain.acked_messages == 1
        async with services.db.transaction() as s:  # what POST /api/receivers/dc09-keys does
            now = services.clock.now()
            s.add(Dc09KeyRecord(receiver="", account="4321", kind="hex",
                                value="000102030405060708090A0B0C0D0E0F", created_at=now,
                                updated_at=now))
        await services.bus.publish("receivers.config_changed", {"what": "dc09_keys"})
        key = parse_key("hex:000102030405060708090A0B0C0D0E0F")
        for _ in range(100):
            if node.dc09[0].receiver.config.keys.get("4321") == key:
                break
            await asyncio.sleep(0.02)
        refused = await run_panels("127.0.0.1", port, count=1, rate=0, messages=1,
                                   accounts=["4321"])
        assert refused.duhs == 1  # keyed account sending plain text
        enc = await run_panels("127.0.0.1", port, count=1, rate=0, messages=1,
                               accounts=["4321"], key=key, first_sequence=2)
        assert enc.acked_messages == 1
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert len(await stored(services)) == 2


async def test_demo_panels_report_as_the_given_subscribers(services: Services) -> None:
    services.clock = SystemClock()
    services.settings.dc09_port = 0
    rx = ReceiverSettings(_env_file=None, demo_panels=3, demo_rate=30)  # type: ignore[call-arg]
    node = Receivers(services, rx)

    async def subscribers() -> list[str]:
        return ["1111", "2222", "3333", "4444"]

    seen: set[str] = set()
    with services.bus.subscribe("signal.received") as sub:
        running = asyncio.create_task(node.run(subscribers))
        try:
            while len(seen) < 3:
                seen.add(str((await sub.get(within=10)).data["account"]))
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    assert seen <= {"1111", "2222", "3333", "4444"}
