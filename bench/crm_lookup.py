"""Seed 100,000 accounts (about 300,000 phone numbers) and time the screen-pop phone lookup.

Prints one JSON object: seed time, counts and ``lookup_by_phone`` p50/p99 (milliseconds) on
SQLite and on PostgreSQL (``postgresql+asyncpg://postgres@127.0.0.1:5432/vigil_bench``, created
when missing, its public schema emptied; skipped with a note when unreachable). Lookups use the
three written forms (national with spaces, +86 with dashes, 0086 prefix) of indexed numbers.

    .venv/bin/python bench/crm_lookup.py [--accounts N] [--lookups N] [--skip-pg] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pgdb import DEFAULT_URL, ensure_database  # noqa: E402
from sqlalchemy import select  # noqa: E402

from core.db import Database  # noqa: E402
from crm.models import Phone  # noqa: E402
from crm.phones import lookup_by_phone  # noqa: E402
from crm.seed import seed  # noqa: E402
from vigil import migrate  # noqa: E402

PG_URL = DEFAULT_URL


def written_forms(e164: str) -> list[str]:
    """The ways people and switches write a Chinese number (e164 is +86...)."""
    national = e164[3:]
    if national.startswith("1") and len(national) == 11:  # mobile
        spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
        dashed = f"+86-{national[:3]}-{national[3:7]}-{national[7:]}"
    else:
        spaced = f"0{national[:-8]} {national[-8:-4]} {national[-4:]}"
        dashed = f"+86-{national[:-8]}-{national[-8:]}"
    return [spaced, dashed, "0086" + national]


def percentile(sorted_values: list[float], q: float) -> float:
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


async def run_one(url: str, accounts: int, lookups: int) -> dict[str, Any]:
    await migrate.upgrade(url)
    db = Database(url)
    try:
        cpu0 = time.process_time()
        result = await seed(db, accounts=accounts, seed=1, users=False)
        seed_cpu = time.process_time() - cpu0  # this process only (with SQLite: all the work)
        async with db.session() as s:
            numbers = list((await s.execute(select(Phone.e164))).scalars())
        rng = random.Random(7)
        sample = [rng.choice(written_forms(rng.choice(numbers))) for _ in range(lookups)]
        gc.collect()
        gc.freeze()  # the seeded objects are long-lived, as in a running server
        timings: list[float] = []
        found = 0
        async with db.session() as s:
            for raw in sample[:200]:  # warm the connection and statement cache
                await lookup_by_phone(s, raw, "CN")
            for raw in sample:
                t0 = time.perf_counter()
                owners = await lookup_by_phone(s, raw, "CN")
                timings.append((time.perf_counter() - t0) * 1000)
                found += bool(owners)
        gc.unfreeze()
        timings.sort()
        return {
            "seed_seconds": result["seconds"], "seed_cpu_seconds": round(seed_cpu, 2),
            "accounts": result["accounts"],
            "phones": result["phones"], "lookups": len(timings), "found": found,
            "lookup_p50_ms": round(percentile(timings, 0.50), 3),
            "lookup_p99_ms": round(percentile(timings, 0.99), 3),
            "lookup_max_ms": round(timings[-1], 3),
        }
    finally:
        await db.dispose()


async def prepare_pg(url: str) -> str | None:
    """An empty bench database; a reason string when PostgreSQL is unreachable."""
    return await ensure_database(url, reset=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "crm_lookup", "targets": {
        "sqlite_seed_seconds": 60, "lookup_p99_ms": 2}}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = await run_one(f"sqlite+aiosqlite:///{tmp}/bench.db", args.accounts,
                                      args.lookups)
    if args.skip_pg:
        out["postgresql"] = {"skipped": "--skip-pg"}
    elif (reason := await prepare_pg(args.pg_url)) is not None:
        out["postgresql"] = {"skipped": reason}
    else:
        out["postgresql"] = await run_one(args.pg_url, args.accounts, args.lookups)
    # wall-clock figures depend on what else the machine runs: report its load and cores
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out["cpus"] = os.cpu_count()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
