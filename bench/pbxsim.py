"""How many concurrent calls pbxsim sustains in real time with every event flowing to one AMI
client, and how many events per second it emits. Prints JSON.

Each step ramps up N inbound calls (half answered by auto-answering agent phones, the rest
waiting in queue with music on hold), holds them, and checks the engine kept up: 99th-percentile
event-loop lag under 250 ms (a loaded 2-core box has stray spikes; the max is printed too) and
the AMI client's backlog drained. Run: .venv/bin/python bench/pbxsim.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

# run as a script, this file's folder comes first on sys.path and its name shadows the package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pbxsim.demo import PbxSim  # noqa: E402
from pbxsim.framing import encode  # noqa: E402
from pbxsim.traffic import (  # noqa: E402
    CallPlan,
    TrafficGenerator,
    TrafficProfile,
    install_callers,
)

MAX_LAG = 0.25


async def ami_client(port: int, counter: dict[str, int]) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()
    writer.write(encode([("Action", "Login"), ("Username", "vigil"), ("Secret", "vigil"),
                         ("Events", "on"), ("ActionID", "1")]))

    async def pump() -> None:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return
            counter["bytes"] += len(data)
            counter["events"] += data.count(b"\r\nEvent: ") + data.startswith(b"Event: ")

    counter["task"] = id(asyncio.create_task(pump()))
    return writer


async def step(n: int, ramp: float, hold: float) -> dict[str, object]:
    sim = PbxSim(auto_answer={})
    eng = sim.engine
    install_callers(eng)
    agents = max(1, n // 2)
    for i in range(agents):
        ext = f"{3000 + i}"
        eng.phones.add_phone(ext, auto_answer=1.0)
        eng.queues.add_member("support", f"Local/{ext}@phones/n", f"agent{i}")
    port = await sim.start("127.0.0.1", 0)
    counter = {"events": 0, "bytes": 0}
    writer = await ami_client(port, counter)
    await asyncio.sleep(0.2)
    gen = TrafficGenerator(eng, TrafficProfile(numbers=[("+8613800000001", "Zhang Wei")]))
    lags: list[float] = []
    t0 = time.perf_counter()
    ev0 = counter["events"]
    for i in range(n):
        gen.place(CallPlan(0, f"+86138{i:08d}", "Bench", "4000", "direct", "",
                           patience=3600, talk=3600))
        if i % 10 == 9:
            before = time.perf_counter()
            await asyncio.sleep(ramp * 10 / n)
            lags.append(time.perf_counter() - before - ramp * 10 / n)
    deadline = time.perf_counter() + hold
    peak = 0
    while time.perf_counter() < deadline:
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(time.perf_counter() - before - 0.05)
        peak = max(peak, len({c.linkedid for c in eng.channels.values()}))
    elapsed = time.perf_counter() - t0
    events = counter["events"] - ev0
    backlog = sum(s.writer.transport.get_write_buffer_size() for s in sim.ami.sessions)
    writer.close()
    await sim.close()
    p99 = sorted(lags)[int(len(lags) * 0.99)]
    talking = sum(1 for c in eng.channels.values() if c.bridge is not None) // 2
    return {"calls": n, "concurrent_calls_peak": peak, "answered_pairs_estimate": talking,
            "events": events, "events_per_s": round(events / elapsed, 1),
            "max_loop_lag_ms": round(max(lags) * 1000, 1),
            "p99_loop_lag_ms": round(p99 * 1000, 1),
            "ami_backlog_bytes": backlog,
            "sustained": p99 < MAX_LAG and backlog < (1 << 20) and peak >= n * 0.95}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default="100,250,500,750,1000")
    ap.add_argument("--ramp", type=float, default=5.0)
    ap.add_argument("--hold", type=float, default=5.0)
    args = ap.parse_args()
    results = []
    for n in (int(x) for x in args.steps.split(",")):
        r = await step(n, args.ramp, args.hold)
        results.append(r)
        if not r["sustained"]:
            break
    ok = [r for r in results if r["sustained"]]
    best = max(ok, key=lambda r: int(r["calls"])) if ok else None  # type: ignore[call-overload]
    print(json.dumps({
        "benchmark": "pbxsim",
        "target_concurrent_calls": 500,
        "max_sustained_concurrent_calls": best["calls"] if best else 0,
        "events_per_s_at_max": best["events_per_s"] if best else 0,
        "steps": results,
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
