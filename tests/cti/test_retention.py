"""Recording retention: expired recording files go, call records stay and say so."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.clock import FakeClock
from core.services import Services
from cti.models import CallRecord
from cti.retention import RecordingPurger, purge_expired, resolve
from cti.store import store_record


async def _store(services: Services, call_id: str, days_ago: float,
                 files: list[str]) -> None:
    started = services.clock.now() - timedelta(days=days_ago)
    record: dict[str, Any] = {
        "call_id": call_id, "direction": "inbound", "outcome": "answered",
        "started_at": started.timestamp(), "recording_file": files[0] if files else None,
        "recordings": [{"file": f, "channel": "PJSIP/trunk-1"} for f in files]}
    async with services.db.transaction() as s:
        await store_record(s, services.clock, record)


async def _rows(services: Services) -> dict[str, CallRecord]:
    async with services.db.session() as s:
        rows = (await s.execute(select(CallRecord))).scalars().all()
    return {r.call_id: r for r in rows}


async def test_purge_deletes_only_expired_files_and_keeps_the_records(
        services: Services, tmp_path: Path) -> None:
    root = tmp_path / "monitor"
    (root / "2026").mkdir(parents=True)
    for name in ("old.wav", "old-2.wav", "2026/sub.wav", "young.wav"):
        (root / name).write_bytes(b"RIFF")
    outside = tmp_path / "secret.txt"
    outside.write_text("keep")
    await _store(services, "old", 31, ["old.wav", "old-2.wav"])
    await _store(services, "nested", 40, [str(root / "2026/sub.wav")])  # absolute, inside
    await _store(services, "gone", 45, ["already-gone.wav"])
    await _store(services, "escape", 50, ["../secret.txt"])
    await _store(services, "young", 29, ["young.wav"])
    await _store(services, "none", 90, [])

    result = await purge_expired(services.db, services.clock, root, retention_days=30)
    assert (result.records, result.deleted, result.missing, result.refused) == (4, 3, 1, 1)
    assert sorted(p.name for p in root.rglob("*.wav")) == ["young.wav"]
    assert outside.read_text() == "keep"  # never outside the recordings directory

    rows = await _rows(services)
    assert sorted(rows) == ["escape", "gone", "nested", "none", "old", "young"]
    old = rows["old"]
    assert old.recording_file is None
    assert old.data["recording_file"] == "old.wav"  # the name it was recorded under
    assert old.data["recording_purge"] == {"old.wav": "deleted", "old-2.wav": "deleted"}
    assert old.data["recording_purged_at"] == services.clock.now().isoformat()
    assert rows["gone"].data["recording_purge"] == {"already-gone.wav": "missing"}
    assert rows["escape"].data["recording_purge"] == {"../secret.txt": "refused"}
    assert rows["young"].recording_file == "young.wav"
    assert "recording_purged_at" not in rows["young"].data

    # a second run finds nothing new
    again = await purge_expired(services.db, services.clock, root, retention_days=30)
    assert again.records == 0


async def test_retention_zero_keeps_everything(services: Services, tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    await _store(services, "a", 3650, ["a.wav"])
    result = await purge_expired(services.db, services.clock, tmp_path, retention_days=0)
    assert result.records == 0 and (tmp_path / "a.wav").exists()


async def test_purger_runs_on_the_clock(services: Services, clock: FakeClock,
                                        tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "b.wav").write_bytes(b"RIFF")
    await _store(services, "a", 6.5, ["a.wav"])
    await _store(services, "b", 6, ["b.wav"])
    runs: list[int] = []
    purger = RecordingPurger(services.db, clock, tmp_path, retention_days=7, interval=3600,
                             on_purge=lambda r: runs.append(r.deleted))
    task = asyncio.create_task(purger.run())
    try:
        for _ in range(100):
            if runs:
                break
            await asyncio.sleep(0.01)
        assert runs == [0]
        for expected_runs, hours in ((2, 24), (3, 12), (4, 1)):
            clock.advance(hours * 3600)
            for _ in range(100):
                if len(runs) == expected_runs:
                    break
                await asyncio.sleep(0.01)
        # a expired after a day, b after another twelve hours, then nothing left
        assert runs == [0, 1, 1, 0]
        assert await asyncio.to_thread(lambda: list(tmp_path.glob("*.wav"))) == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_resolve_stays_inside(tmp_path: Path) -> None:
    assert resolve(tmp_path, "x.wav") == (tmp_path / "x.wav").resolve()
    assert resolve(tmp_path, "../x.wav") is None
    assert resolve(tmp_path, "/etc/passwd") is None
