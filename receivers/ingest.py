"""Asterisk AlarmReceiver hand-off: journal the events of ``app_alarmreceiver`` event files.

Two ways in: ``vigil ingest-alarmreceiver PATH`` (a file or a directory; what Asterisk's
``eventcmd`` runs per call), and the receivers part watching the ``eventspooldir``
(``VIGIL_RX_ALARMRECEIVER_SPOOL``), which moves each journaled file into ``done/``. Ingesting the
same file twice stores its events once (sequence = file time + position, checked against the
journal's table), so a re-run after a failure is safe. A file whose events could not be stored
stays where it is and is tried again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.bus import Bus
from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings
from receivers import alarmreceiver
from receivers.sink import SignalSink

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    files: int = 0
    signals: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    failed_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"files": self.files, "signals": self.signals, "stored": self.stored,
                "duplicates": self.duplicates, "rejected": self.rejected,
                "failed_files": self.failed_files}


def event_files(path: Path) -> list[Path]:
    """The file itself, or a directory's regular, non-hidden files in name order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or directory: {path}")
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))


async def ingest_file(path: Path, sink: SignalSink, clock: Clock, receiver: str,
                      report: IngestReport) -> bool:
    """Journal one file's events; False when storing failed (the file should stay)."""
    data = await asyncio.to_thread(path.read_bytes)
    decoded = alarmreceiver.parse(data, clock.now(), receiver)
    report.files += 1
    report.signals += len(decoded.signals)
    report.rejected += [{"file": str(path), "line": ln, "reason": why}
                        for ln, why in decoded.rejected]
    if not decoded.signals:
        return True
    try:
        results = await sink.store(list(decoded.signals))
    except Exception as exc:
        log.error("alarmreceiver: %s not stored: %s", path, exc)
        report.failed_files.append(str(path))
        return False
    report.stored += sum(results)
    report.duplicates += len(results) - sum(results)
    return True


async def ingest_paths(paths: list[Path], sink: SignalSink, clock: Clock,
                       receiver: str = "alarmreceiver") -> IngestReport:
    report = IngestReport()
    for path in paths:
        for f in event_files(path):
            await ingest_file(f, sink, clock, receiver, report)
    return report


async def watch_spool(spool: Path, sink: SignalSink, clock: Clock,
                      receiver: str = "alarmreceiver", interval: float = 2.0) -> None:
    """Journal every event file that appears in ``spool`` and move it into ``spool/done``."""
    done = spool / "done"
    await asyncio.to_thread(done.mkdir, parents=True, exist_ok=True)
    while True:
        try:
            files = await asyncio.to_thread(event_files, spool)
        except OSError as exc:
            log.warning("alarmreceiver spool %s: %s", spool, exc)
            files = []
        for f in files:
            report = IngestReport()
            if await ingest_file(f, sink, clock, receiver, report):
                await asyncio.to_thread(os.replace, f, done / f.name)
                log.info("alarmreceiver: %s: %d signals (%d new)", f.name, report.signals,
                         report.stored)
        await clock.sleep(interval)


async def run_cli(args: argparse.Namespace, settings: Settings) -> IngestReport:
    """``vigil ingest-alarmreceiver``: journal into the configured database; on PostgreSQL the
    ``signal.received`` events reach the running nodes through the cluster bus."""
    from receivers.config import get_receiver_settings
    from receivers.runtime import make_journal

    db = Database(settings.database_url)
    bus = Bus(node=f"{settings.node_name}-ingest")
    backend = None
    if settings.database_url.startswith("postgresql"):
        from core.bus_pg import PostgresBusBackend

        backend = PostgresBusBackend(settings.database_url, node=bus.node)
        await bus.attach_backend(backend)
    journal = make_journal(db, bus, SystemClock(), get_receiver_settings())
    try:
        return await ingest_paths([Path(p) for p in args.paths], journal, journal.clock,
                                  args.receiver)
    finally:
        await journal.close()
        with contextlib.suppress(Exception):
            await bus.close()  # flushes the backend
        await db.dispose()


def register(sub: Any) -> None:
    p = sub.add_parser("ingest-alarmreceiver",
                       help="journal Asterisk AlarmReceiver event files (a file or directory)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--receiver", default="alarmreceiver",
                   help="receiver name the signals carry (default: alarmreceiver)")
    p.set_defaults(func=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    report = asyncio.run(run_cli(args, Settings()))
    print(json.dumps(report.to_dict(), ensure_ascii=False))
    return 1 if report.failed_files else 0
