"""pbxsim and the CTI runtime together for the call-state tests: :func:`open_world` is
test_e2e_pbxsim's world with the runtime's queues.conf knowledge (wrap-up, shared_lastcall)
and the CTI settings a test wants, and two agents (1001 agent1, 1002 agent2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from core.bus import Bus, Event, Subscription
from core.db import Database
from core.services import Services
from core.settings import Settings
from crm.seed import seed
from cti.ami_client import AmiSettings
from cti.config import CtiSettings
from cti.runtime import DEMO_PHONES, CtiRuntime
from pbxsim.demo import PbxSim
from pbxsim.engine.clock import VirtualScheduler
from tests.conftest import ensure_user
from tests.cti.test_e2e_pbxsim import START, SchedClock, World


class Agents(World):
    agent2_id: int = 0

    def drain(self, sub: Subscription) -> list[Event]:
        out = []
        while (ev := sub.get_nowait()) is not None:
            out.append(ev)
        return out

    async def queue_call(self, number: str = "+8613900000077", seconds: int = 600,
                         line: str = "4000") -> None:
        """A subscriber calls the queue line (its dialplan answers, then queues)."""
        await self.cti.service.commands.originate({
            "Action": "Originate", "Channel": "Local/talk@callers", "Context": "from-pstn",
            "Exten": line, "Priority": 1, "CallerID": f'"Caller" <{number}>', "Async": "true",
            "Variable": [f"CALLTIME={seconds}"]})


@asynccontextmanager
async def open_world(db_url: str, accounts: int = 3, **cti: Any) -> AsyncIterator[Agents]:
    sched = VirtualScheduler(start=START)
    db = Database(db_url)
    await seed(db, accounts=accounts, users=False)
    settings = Settings(database_url=db_url, secret_key="t", _env_file=None)  # type: ignore[call-arg]
    services = Services(settings=settings, db=db, bus=Bus(node="t"), clock=SchedClock(sched))
    agent1 = await ensure_user(services, "agent1", "agent", extension="1001",
                               display_name="王芳 Wang Fang")
    agent2 = await ensure_user(services, "agent2", "agent", extension="1002",
                               display_name="Li Lei")
    sim = PbxSim(scheduler=sched)
    port = await sim.start("127.0.0.1", 0)
    runtime = CtiRuntime(
        services, plan=DEMO_PHONES, ami=AmiSettings(port=port, username="vigil", secret="vigil"),
        cti=CtiSettings(screenpop_detail="inline", _env_file=None, **cti),  # type: ignore[call-arg]
        queue_wrapup=sim.queue_wrapup(), shared_lastcall=sim.engine.queues.shared_lastcall)
    await runtime.start()
    await runtime.client.wait_ready(5)
    world = Agents(sim, sched, runtime, services, agent1)
    world.agent2_id = agent2
    try:
        yield world
    finally:
        await runtime.stop()
        await sim.close()
        await services.close()
