"""How long callers wait in the IVR, in pbxsim's virtual seconds with every prompt lasting as long
as its espeak-ng rendering (ivr.prompt_seconds); prints JSON.

For each kind of caller (a subscriber known by caller ID, in Chinese and in English; a stranger
with the default language Chinese or English; the same in disaster mode):

- ``emergency_option_s``: answer -> end of the welcome, which names the emergency key;
- ``no_input_queue_s``: answer -> QueueCallerJoin in ``emergency`` for a caller who presses
  nothing (target: under 20 s);
- ``key_1_in_welcome_queue_s``: answer -> QueueCallerJoin for a caller who presses 1 half a
  second into the welcome (barge-in).

The IVR runs in this process on a temporary SQLite database with in-memory subscribers.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.bus import Bus  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.db import Database  # noqa: E402
from ivr.deps import IvrDeps  # noqa: E402
from ivr.ports import Subscriber  # noqa: E402
from ivr.server import IvrServer  # noqa: E402
from tests.ivr.conftest import (  # noqa: E402
    FakeAlarms,
    FakeQueueStats,
    FakeSubscribers,
    FakeTickets,
    settings,
)
from tests.ivr.pbx_rig import Caller, PbxRig  # noqa: E402
from vigil import migrate  # noqa: E402

ZH_SUBSCRIBER, EN_SUBSCRIBER, STRANGER = "+8613800000021", "+8613800000022", "+8613900000099"
CASES = (("subscriber zh-CN", ZH_SUBSCRIBER, "zh-CN"), ("subscriber en", EN_SUBSCRIBER, "zh-CN"),
         ("stranger, default zh-CN", STRANGER, "zh-CN"), ("stranger, default en", STRANGER, "en"))


def since_answer(caller: Caller, t: float) -> float:
    return round(t - caller.answered_at, 2)


async def one(deps: IvrDeps, number: str, during: dict[str, str]) -> Caller:
    server = IvrServer(deps, port=0)
    await server.start()
    rig = PbxRig(server.bound_port, tempfile.gettempdir())
    try:
        caller = rig.call(number, [None], during=during)
        await rig.advance(60)
        return caller
    finally:
        await rig.engine.close_io()
        await server.stop()


async def run() -> dict[str, object]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await migrate.upgrade(url)
        db, clock = Database(url), SystemClock()
        subscribers = FakeSubscribers(phones={ZH_SUBSCRIBER: Subscriber(1, "8801", "zh-CN"),
                                              EN_SUBSCRIBER: Subscriber(2, "8802", "en")})
        for storm in (False, True):
            for name, number, default in CASES:
                alarms = FakeAlarms(clock, storm=storm)
                deps = IvrDeps(db=db, bus=Bus(), clock=clock,
                               settings=settings(default_language=default),
                               subscribers=subscribers, alarms=alarms,  # type: ignore[arg-type]
                               tickets=FakeTickets(), queue_stats=FakeQueueStats())
                silent = await one(deps, number, {})
                keyed = await one(deps, number, {"welcome": "1"})
                rows.append({
                    "caller": name, "disaster_mode": storm,
                    "emergency_option_s": since_answer(silent, silent.prompt_end("welcome")),
                    "no_input_queue_s": since_answer(
                        silent, silent.first_time("QueueCallerJoin", Queue="emergency")),
                    "key_1_in_welcome_queue_s": since_answer(
                        keyed, keyed.first_time("QueueCallerJoin", Queue="emergency")),
                })
        await db.dispose()
    calm = [r for r in rows if not r["disaster_mode"]]
    return {"bench": "ivr_timing", "clock": "pbxsim virtual seconds, rendered prompt lengths",
            "cases": rows,
            "max_emergency_option_s": max(float(str(r["emergency_option_s"])) for r in calm),
            "max_no_input_queue_s": max(float(str(r["no_input_queue_s"])) for r in calm),
            "target": "emergency option < 5 s, no input -> emergency queue < 20 s"}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run()), ensure_ascii=False))
