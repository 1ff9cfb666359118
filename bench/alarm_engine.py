"""Alarm engine throughput and latency: signals/s through classification and incident update
with 100,000 accounts, and the time from ``signal.received`` to ``incident.*`` (p50/p99).

Runs on SQLite (a temporary file) and on PostgreSQL (``VIGIL_BENCH_PG_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/vigil_bench``; its public schema is reset).
The accounts are real crm accounts; the engine is built and started as ``vigil serve`` does
(crm directory, its account book loaded, its own pool, uvloop).
With ``--hot N`` the signals come from N of the accounts only, so most of them join an open
incident (the per-incident UPDATE path) instead of opening one.
Prints one JSON object.
Usage: ``python bench/alarm_engine.py [--signals N] [--rate R] [--hot N] [--only DB]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
from pgdb import DEFAULT_URL, ensure_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from alarms.config import AlarmSettings  # noqa: E402
from alarms.runtime import make_engine  # noqa: E402
from core import event_codes, heap  # noqa: E402
from core.bus import Bus  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.db import Database  # noqa: E402
from core.services import Services  # noqa: E402
from core.settings import Settings  # noqa: E402
from crm.models import Account  # noqa: E402
from vigil import migrate  # noqa: E402
from vigil.cli import run_main  # noqa: E402

ACCOUNTS = 100_000
PG_URL = os.environ.get("VIGIL_BENCH_PG_URL", DEFAULT_URL)


async def seed_accounts(db: Database, n: int) -> None:
    """n live crm accounts under receiver prefix "01", as a center's would be (their panels,
    contacts and schedules play no part in the engine's hot path)."""
    now = datetime.now(UTC)
    rows = [{"receiver_prefix": "01", "number": f"{i:06d}", "name": f"Account {i}",
             "status": "active", "language": "zh-CN", "timezone": "Asia/Shanghai",
             "created_at": now, "updated_at": now} for i in range(n)]
    async with db.transaction() as s:
        for i in range(0, n, 5000):
            await s.execute(insert(Account), rows[i:i + 5000])


def _classification(code: str, qualifier: str) -> dict[str, Any]:
    """What the receiver's Signal carries for the code (see core.event_codes)."""
    c = event_codes.classify("cid", code, qualifier)
    return {"event_class": c.event_class, "priority": c.priority, "kind": c.kind,
            "desk": c.desk, "restore": c.restore, "arming": c.arming}


CLASSIFIED = {(code, q): _classification(code, q) for code in ("130", "401", "602", "301")
              for q in ("new", "restore")}


def make_signal(n: int, rng: random.Random, hot: int = ACCOUNTS) -> dict[str, Any]:
    """``signal.received`` as the journal publishes it (the receiver's classification
    carried)."""
    acct = f"{rng.randrange(hot):06d}"
    r = rng.random()
    code, qual = (("130", "new") if r < 0.7 else
                  ("130", "restore") if r < 0.8 else
                  ("401", "new" if r < 0.85 else "restore") if r < 0.9 else
                  ("602", "new") if r < 0.95 else ("301", "new"))
    return {"received_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "receiver": "dc09", "line": "R01L1", "protocol": "dc09", "account": acct,
            "event_code": code, "event_system": "cid", "qualifier": qual, "partition": "01",
            "zone": f"{rng.randrange(1, 9):03d}", "user": None, "panel_time": None,
            "sequence": "0001", "extra": {}, **CLASSIFIED[(code, qual)], "signal_id": str(n)}


async def settle_database(url: str) -> None:
    """Statistics for the new tables and a checkpoint (PostgreSQL), as a running center's
    database has them: otherwise the checkpoint that the setup's writes (a new schema, 100,000
    accounts) call for runs during the measurement and stalls its commits."""
    if not url.startswith("postgresql"):
        return
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def prepare(url: str) -> None:
    if url.startswith("postgresql") and (reason := await ensure_database(url, reset=True)):
        raise OSError(reason)
    await migrate.upgrade(url)


async def run_one(url: str, signals: int, rate: float, hot: int) -> dict[str, Any]:
    await prepare(url)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    services = Services(settings=settings, db=Database(url), bus=Bus(queue_size=500_000),
                        clock=SystemClock())
    await seed_accounts(services.db, ACCOUNTS)
    await settle_database(url)
    # The production directory (crm) and account book, as a running node has them.
    engine = make_engine(services, AlarmSettings(  # as `vigil serve` makes it
        _env_file=None, runaway_capacity=1000, batch_size=500))  # type: ignore[call-arg]
    heap.settle()  # as `vigil serve` does once started
    rng = random.Random(7)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    sub = services.bus.subscribe("incident.*", maxsize=1_000_000)

    async def watch() -> None:
        async for ev in sub:
            now = time.perf_counter()
            for sid in ev.data.get("signal_ids") or ():
                t0 = sent.pop(sid, None)
                if t0 is not None:
                    latencies.append(now - t0)

    watcher = asyncio.create_task(watch())
    await engine.start(tick=False, book=True)  # as run_alarms starts it
    while engine.book_size is None:  # noqa: ASYNC110 - a running node has its book loaded
        await asyncio.sleep(0.05)
    # 1. burst: every signal queued at once (a power cut), throughput until all are handled.
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for n in range(signals):
        services.bus.publish_nowait("signal.received", make_signal(n, rng, hot))
    while engine.processed < signals:  # noqa: ASYNC110 - polling a counter is the point
        await asyncio.sleep(0.005)
    burst_s = time.perf_counter() - t0
    burst_cpu = time.process_time() - cpu0  # this process only: the figure a busy host skews least
    # 2. paced: a steady rate, latency from signal.received to incident.* per signal.
    paced = int(rate * 5)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    step = 0.01
    per_step = max(1, int(rate * step))
    n = signals
    while n < signals + paced:
        for _ in range(per_step):
            s = make_signal(n, rng, hot)
            sent[s["signal_id"]] = time.perf_counter()
            services.bus.publish_nowait("signal.received", s)
            n += 1
        target = t0 + (n - signals) / rate
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
    while engine.processed < signals + paced:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    paced_cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0)
    await asyncio.sleep(0.05)
    await engine.stop()
    sub.close()
    await watcher
    await services.close()
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100) if len(lat) > 100 else [float("nan")] * 99
    return {"accounts": ACCOUNTS, "signalling_accounts": hot, "burst_signals": signals,
            "burst_signals_per_s": round(signals / burst_s, 1),
            "burst_signals_per_cpu_s": round(signals / burst_cpu, 1),
            "host_load_1min": round(os.getloadavg()[0], 2),
            "paced_rate_per_s": rate, "paced_signals": paced,
            "paced_process_cpu_share": round(paced_cpu, 2),  # of one core, bench included
            "latency_samples": len(lat), "latency_p50_ms": round(q[49] * 1000, 2),
            "latency_p99_ms": round(q[98] * 1000, 2),
            "failed_batches": engine.failed_batches}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--signals", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--hot", type=int, default=ACCOUNTS,
                    help="signals come from this many of the accounts")
    args = ap.parse_args()
    hot = max(1, min(args.hot, ACCOUNTS))
    out: dict[str, Any] = {"bench": "alarm_engine"}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            out["sqlite"] = await run_one(f"sqlite+aiosqlite:///{tmp}/bench.db", args.signals,
                                          args.rate, hot)
    if args.only != "sqlite":
        try:
            out["postgresql"] = await run_one(PG_URL, args.signals, args.rate, hot)
        except OSError as exc:
            out["postgresql"] = {"error": f"PostgreSQL not reachable: {exc}"}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    run_main(main(), Settings().event_loop)  # on the loop `vigil serve` runs on
