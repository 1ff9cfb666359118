"""Recording retention: delete recording files older than the retention, keep the call record.

A call record's recordings (``recording_file`` and every ``recordings[].file`` in its data) are
deleted once the call started more than ``retention_days`` ago. The record itself stays, marked:
``data.recording_purged_at`` (ISO time), ``data.recording_purge`` (per file: ``deleted``,
``missing`` when it was already gone, ``refused`` when the name resolves outside the recordings
directory, which is never touched) and the ``recording_file`` column cleared, so the record is
not picked again and the console knows there is nothing to play. ``data.recording_file`` keeps
the name the call was recorded under.

Relative names (what MixMonitor is given) resolve in ``recordings_dir``; absolute names must lie
inside it. Retention 0 means keep for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.clock import Clock
from core.db import Database
from cti.models import CallRecord

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PurgeResult:
    records: int = 0
    deleted: int = 0
    missing: int = 0
    refused: int = 0
    files: list[str] = field(default_factory=list)


def resolve(recordings_dir: Path, name: str) -> Path | None:
    """The file ``name`` stands for, or None when it lies outside ``recordings_dir``."""
    root = recordings_dir.resolve()
    path = (root / name).resolve()  # an absolute name replaces root here
    return path if path.is_relative_to(root) else None


def _files_of(row: CallRecord) -> list[str]:
    names = [row.recording_file or ""]
    names += [str(r.get("file") or "") for r in (row.data or {}).get("recordings") or []]
    return list(dict.fromkeys(n for n in names if n))


def _delete(recordings_dir: Path, name: str) -> str:
    path = resolve(recordings_dir, name)
    if path is None:
        return "refused"
    try:
        path.unlink()
    except FileNotFoundError:
        return "missing"
    return "deleted"


async def purge_expired(db: Database, clock: Clock, recordings_dir: Path | str,
                        retention_days: int, batch: int = 500) -> PurgeResult:
    """Delete the recordings of calls that started before now − ``retention_days``."""
    result = PurgeResult()
    if retention_days <= 0:
        return result
    root = Path(recordings_dir)
    now = clock.now()
    cutoff = now - timedelta(days=retention_days)
    while True:
        async with db.transaction() as s:
            rows = (await s.execute(
                select(CallRecord).where(CallRecord.recording_file.is_not(None),
                                         CallRecord.started_at < cutoff)
                .order_by(CallRecord.id).limit(batch))).scalars().all()
            for row in rows:
                outcome: dict[str, str] = {}
                for name in _files_of(row):
                    outcome[name] = await asyncio.to_thread(_delete, root, name)
                    result.files.append(name)
                for status in outcome.values():
                    setattr(result, status, getattr(result, status) + 1)
                if outcome.get(row.recording_file or "") == "refused":
                    log.warning("recording %s of call record %s is outside %s; not deleted",
                                row.recording_file, row.id, root)
                row.data = {**(row.data or {}), "recording_purged_at": now.isoformat(),
                            "recording_purge": outcome}
                row.recording_file = None
                result.records += 1
        if len(rows) < batch:
            return result


class RecordingPurger:
    """Runs :func:`purge_expired` every ``interval`` seconds (on the clock, so tests drive it)."""

    def __init__(self, db: Database, clock: Clock, recordings_dir: Path | str,
                 retention_days: int, interval: float = 3600.0,
                 on_purge: Callable[[PurgeResult], Any] | None = None) -> None:
        self.db, self.clock = db, clock
        self.recordings_dir = Path(recordings_dir)
        self.retention_days = retention_days
        self.interval = interval
        self.on_purge = on_purge
        self.runs = 0

    async def run_once(self) -> PurgeResult:
        result = await purge_expired(self.db, self.clock, self.recordings_dir,
                                     self.retention_days)
        self.runs += 1
        if result.records:
            log.info("recording retention: %d records, %d files deleted, %d missing, "
                     "%d refused", result.records, result.deleted, result.missing,
                     result.refused)
        if self.on_purge is not None:
            self.on_purge(result)
        return result

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("recording retention run failed")
            await self.clock.sleep(self.interval)
