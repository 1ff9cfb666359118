"""200 concurrent IVR sessions over real sockets; prints JSON with AGI round-trip figures.

pbxsim has no FastAGI client yet, so the scripted Asterisk of the IVR tests drives the calls
(tests/ivr/fake_asterisk.py), in its own process as Asterisk would be. Calls arrive over one
second and every prompt "plays" for 300 ms, so all 200 are in the IVR at once as in a storm.
Half go to the operator queue, half through subscriber services (PIN, put on test).

- ``rtt_ms``: measured by the IVR, command written -> reply read, for the commands Asterisk
  answers at once (ANSWER, SET/GET VARIABLE, HANGUP; media commands last as long as the audio).
- ``turnaround_ms``: measured at Asterisk's side, reply written -> next command read: how long
  the IVR takes to decide its next step, database reads and writes included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.bus import Bus  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.db import Database  # noqa: E402
from ivr.deps import IvrDeps  # noqa: E402
from ivr.flow import Call  # noqa: E402
from ivr.models import IvrSession  # noqa: E402
from ivr.server import IvrServer  # noqa: E402
from tests.ivr.conftest import (  # noqa: E402
    FakeAlarms,
    FakeQueueStats,
    FakeSubscribers,
    FakeTickets,
    settings,
)
from tests.ivr.fake_asterisk import HANG_UP, FakeAsterisk  # noqa: E402
from vigil import migrate  # noqa: E402

PLAYBACK_S = 0.3
RAMP_S = 1.0
INSTANT = ("ANSWER", "SET VARIABLE", "GET VARIABLE", "HANGUP")


async def one_call(port: int, i: int, sessions: int) -> tuple[list[float], bool]:
    await asyncio.sleep(RAMP_S * i / sessions)
    keys: list[str | None] = ["2"] if i % 2 else ["1", "2468#", "2", "4#", HANG_UP]
    caller = FakeAsterisk(keys, media_delay=PLAYBACK_S)
    session = await caller.run(port, uniqueid=f"1795300000.{i}")
    return caller.turnarounds, bool(session.commands)


def drive(port: int, sessions: int) -> tuple[list[float], int]:
    """Asterisk's side, run in a separate process."""

    async def main() -> list[tuple[list[float], bool]]:
        return await asyncio.gather(*(one_call(port, i, sessions) for i in range(sessions)))

    results = asyncio.run(main())
    return [t for turns, _ in results for t in turns], sum(ok for _, ok in results)


def pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000, 3)


async def run(sessions: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await migrate.upgrade(url)
        db, bus, clock = Database(url), Bus(), SystemClock()
        deps = IvrDeps(db=db, bus=bus, clock=clock, settings=settings(),
                       subscribers=FakeSubscribers(), alarms=FakeAlarms(clock),
                       tickets=FakeTickets(), queue_stats=FakeQueueStats())
        rtts: list[float] = []
        outcomes: dict[str, int] = {}
        peak = 0

        def collect(call: Call, record: IvrSession) -> None:
            rtts.extend(x.rtt for x in call.channel.log if x.command.startswith(INSTANT))
            outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1

        server = IvrServer(deps, port=0)
        server.on_session = collect
        await server.start()
        # Warm up both paths once (first-use statement compilation, mapper set-up) unmeasured.
        for keys in (["2"], ["1", "2468#", "2", "4#", HANG_UP]):
            await FakeAsterisk(keys).run(server.bound_port, uniqueid="warm-up")
        await server.flush_logs()
        rtts.clear()
        outcomes.clear()
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=1) as pool:
            start = time.perf_counter()
            fut = loop.run_in_executor(pool, drive, server.bound_port, sessions)
            while not fut.done():
                peak = max(peak, len(server.app.sessions) if server.app is not None else 0)
                await asyncio.sleep(0.05)
            turns, completed = await fut
            wall = time.perf_counter() - start
        await server.stop()
        await db.dispose()
    return {
        "bench": "ivr", "sessions": sessions, "peak_concurrent": peak,
        "agi_commands": sum(1 for _ in turns) + completed, "wall_s": round(wall, 3),
        "rtt_ms": {"p50": pct(rtts, 50), "p99": pct(rtts, 99), "max": round(max(rtts) * 1000, 3),
                   "n": len(rtts)},
        "turnaround_ms": {"p50": pct(turns, 50), "p99": pct(turns, 99),
                          "max": round(max(turns) * 1000, 3), "n": len(turns)},
        "outcomes": outcomes, "completed": completed, "target": "p99 < 10 ms",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.sessions))))


if __name__ == "__main__":
    main()
