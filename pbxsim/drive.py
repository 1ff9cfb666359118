"""Virtual time that waits for the outside: run due timers, but never while a FastAGI script
(or anything counted in ``engine.io_waiting``) still owes an answer."""

from __future__ import annotations

import asyncio

from .engine.clock import VirtualScheduler
from .engine.core import Engine


async def settle(engine: Engine, patience: float = 5.0) -> None:
    """Yield to the event loop until no session waits on its peer (or ``patience`` real s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    spins = 0
    while engine.io_waiting > 0 and loop.time() < deadline:
        spins += 1
        await asyncio.sleep(0 if spins < 50 else 0.001)
    if spins:
        for _ in range(3):
            await asyncio.sleep(0)


async def run_until(sched: VirtualScheduler, engine: Engine, when: float,
                    patience: float = 5.0) -> None:
    """Advance virtual time to ``when`` timer by timer, settling I/O before each."""
    while True:
        await settle(engine, patience)
        nxt = sched.next_due()
        if nxt is None or nxt > when:
            break
        sched.run_until(nxt)
    sched.run_until(when)
    await settle(engine, patience)


async def advance(sched: VirtualScheduler, engine: Engine, seconds: float) -> None:
    await run_until(sched, engine, sched.now() + seconds)
