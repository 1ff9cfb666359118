"""Ingest benchmark: DC-09 over TCP from 50 concurrent panel connections against a receiver
process, with the signal journal on SQLite and on PostgreSQL, and against a bare parse-and-ACK
loop that stores nothing (the ratio shows what durability costs). Prints JSON.

    .venv/bin/python bench/ingest.py [--seconds 10] [--panels 50] [--pg URL] [--cases bare,pg]

The receiver runs in its own process (``python -m receivers.runtime``), the panels in this one,
so each gets a core of a 2-core machine. PostgreSQL defaults to
``postgresql+asyncpg://postgres@127.0.0.1:5432/vigil_bench`` (created when missing; only the
journal table is emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pgdb import DEFAULT_URL, ensure_database  # noqa: E402

from core.db import make_engine  # noqa: E402
from receivers.models import SignalRecord  # noqa: E402
from receivers.simulate.panels import PanelReport, run_panels  # noqa: E402
from vigil import migrate  # noqa: E402

PG_DEFAULT = DEFAULT_URL


async def ensure_pg(url: str) -> None:
    """Create the benchmark database if it is missing, migrate it, empty the journal."""
    if (reason := await ensure_database(url)) is not None:
        raise OSError(reason)
    engine = make_engine(url, nullpool=True)
    try:
        async with engine.begin() as conn:
            # Other benchmarks share this database and build their own tables; the journal
            # needs only its own table (as its migration makes it).
            await conn.run_sync(lambda c: SignalRecord.metadata.create_all(
                c, tables=[Table(SignalRecord.__tablename__, SignalRecord.metadata)],
                checkfirst=True))
            await conn.execute(text("TRUNCATE receiver_signals RESTART IDENTITY"))
    finally:
        await engine.dispose()


async def count_rows(url: str) -> int:
    engine = make_engine(url, nullpool=True)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(SignalRecord)) or 0)
    finally:
        await engine.dispose()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_case(name: str, db_url: str | None, seconds: float, panels: int,
                   warmup: float) -> dict[str, Any]:
    args = [sys.executable, "-m", "receivers.runtime", "--port", "0"]
    if db_url:
        args += ["--db", db_url]
    env = dict(os.environ)
    proc = await asyncio.create_subprocess_exec(*args, cwd=REPO, env=env,
                                                stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        port = int(line.split()[1])
        accounts = [f"{200001 + i}" for i in range(panels)]
        # warm-up (connections, caches, JIT-less Python's first calls), not measured
        await run_panels("127.0.0.1", port, count=panels, rate=0, duration=warmup,
                         accounts=accounts, ack_timeout=10.0)
        before = await count_rows(db_url) if db_url else 0
        report = PanelReport()
        cpu0 = time.process_time()
        server0 = process_cpu(proc.pid)
        await run_panels("127.0.0.1", port, count=panels, rate=0, duration=seconds,
                         report=report, accounts=accounts, ack_timeout=10.0, first_sequence=5000)
        client_cpu = time.process_time() - cpu0
        server_cpu = process_cpu(proc.pid) - server0
        after = await count_rows(db_url) if db_url else 0
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    s = report.summary()
    out: dict[str, Any] = {
        "case": name,
        "signals_per_s": s["acked_per_s"],
        "ack_latency_ms_p50": s["ack_latency_ms"]["p50"],
        "ack_latency_ms_p99": s["ack_latency_ms"]["p99"],
        "ack_latency_ms_max": s["ack_latency_ms"]["max"],
        "acked": s["acked"],
        "seconds": s["elapsed_s"],
        "retransmissions": s["retransmissions"],
        "load_generator_cpu_share": round(client_cpu / s["elapsed_s"], 2),
        "receiver_cpu_share": round(server_cpu / s["elapsed_s"], 2),
        "receiver_cpu_ms_per_signal": round(server_cpu * 1000 / max(s["acked"], 1), 3),
    }
    if db_url:
        out["rows_stored"] = after - before
    return out


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--panels", type=int, default=50)
    p.add_argument("--pg", default=PG_DEFAULT)
    p.add_argument("--cases", default="bare,sqlite,pg", help="comma-separated subset")
    args = p.parse_args(argv)
    cases = set(args.cases.split(","))
    results = []
    if "bare" in cases:
        results.append(await run_case("bare parse-and-ACK (no storage)", None, args.seconds,
                                      args.panels, args.warmup))
    if "sqlite" in cases:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            await migrate.upgrade(sqlite_url)
            results.append(await run_case("journal on SQLite (WAL, synchronous=FULL)",
                                          sqlite_url, args.seconds, args.panels, args.warmup))
    if "pg" in cases:
        await ensure_pg(args.pg)
        results.append(await run_case("journal on PostgreSQL", args.pg, args.seconds,
                                      args.panels, args.warmup))
    if "bare" in cases:
        bare = results[0]["signals_per_s"] or 1
        for r in results[1:]:
            r["share_of_bare_throughput"] = round((r["signals_per_s"] or 0) / bare, 2)
    print(json.dumps({
        "benchmark": "DC-09 TCP ingest",
        "panels": args.panels,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "target": "PostgreSQL >= 2000 signals/s with ACK p99 < 50 ms",
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
