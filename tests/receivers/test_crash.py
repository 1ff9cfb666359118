"""THE crash test: a receiver process is killed with SIGKILL in the middle of a burst of 10,000
DC-09 signals. After a restart every signal a panel saw ACKed is in the journal exactly once, and
the messages the panels had to retransmit are stored too (once each)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy import func, select

from core.db import Database
from receivers.models import SignalRecord
from receivers.simulate.panels import PanelReport, run_panels

REPO = Path(__file__).resolve().parents[2]
BURST = 10_000
PANELS = 50


async def start_receiver(db_url: str, port: int = 0) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "receivers.runtime", "--db", db_url, "--port", str(port),
        cwd=REPO, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.startswith(b"listening"), line
    return proc, int(line.split()[1])


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def test_sigkill_mid_burst_loses_no_acked_signal_and_stores_none_twice(
    db_url: str,
) -> None:
    first, port = await start_receiver(db_url)
    procs = [first]
    report = PanelReport()
    burst = asyncio.create_task(run_panels(
        "127.0.0.1", port, count=PANELS, rate=0, messages=BURST, report=report,
        ack_timeout=5.0, retry_delay=0.05, give_up_after=90.0))
    try:
        while report.acked_messages < BURST // 3:
            assert not burst.done(), "the burst ended before the crash"
            await asyncio.sleep(0.005)
        first.kill()  # SIGKILL: no flush, no goodbye
        await first.wait()
        acked_before_crash = set(report.acked)
        await asyncio.sleep(0.3)  # the panels keep retrying against a dead port
        second, _ = await start_receiver(db_url, port)
        procs.append(second)
        await asyncio.wait_for(burst, 120)
    finally:
        burst.cancel()
        for p in procs:
            await stop(p)

    assert (report.sent, report.acked_messages, report.duhs, report.gave_up) == (
        BURST, BURST, 0, 0)
    assert report.retried, "the crash interrupted no message; the test proved nothing"
    db = Database(db_url)
    try:
        async with db.session() as s:
            counts = dict((await s.execute(
                select(SignalRecord.account + "/" + SignalRecord.sequence, func.count())
                .group_by(SignalRecord.account, SignalRecord.sequence))).all())
    finally:
        await db.dispose()
    acked = {f"{a}/{q}" for a, q in report.acked}
    assert len(acked) == BURST  # every message the panels sent was eventually ACKed
    assert {k for k, n in counts.items() if n > 1} == set()  # nothing stored twice
    assert set(counts) == acked  # every ACKed signal is there, and nothing else
    assert {f"{a}/{q}" for a, q in acked_before_crash} <= set(counts)
    assert {f"{a}/{q}" for a, q in report.retried} <= set(counts)
