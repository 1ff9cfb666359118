"""The CTI end to end against pbxsim over real sockets, in pbxsim's virtual time.

pbxsim plays Asterisk (AMI on an ephemeral port, demo dialplan: phones ``Local/<ext>@phones``
answered from the test, premises through a scripted trunk); the CTI runs as in ``vigil demo``
(:class:`cti.runtime.CtiRuntime`) with a clock that follows pbxsim's scheduler, so waits and talk
times are exact without sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.bus import Bus, Event, Subscription
from core.db import Database
from core.services import Services
from core.settings import Settings
from crm.models import Phone
from crm.seed import seed
from cti.ami_client import AmiSettings
from cti.config import CtiSettings
from cti.runtime import DEMO_PHONES, CtiRuntime
from cti.service import CtiError
from cti.store import CallFilter, list_records
from pbxsim.demo import PbxSim
from pbxsim.drive import advance
from pbxsim.engine.clock import VirtualScheduler
from tests.conftest import ensure_user

START = 1_795_299_800.0


class SchedClock:
    """core.clock.Clock over pbxsim's virtual scheduler (sleeps are real: only pings use it)."""

    def __init__(self, sched: VirtualScheduler) -> None:
        self.sched = sched

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.sched.now(), UTC)

    def monotonic(self) -> float:
        return self.sched.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class World:
    sim: PbxSim
    sched: VirtualScheduler
    cti: CtiRuntime
    services: Services
    agent_id: int

    async def run_for(self, seconds: float, step: float = 0.25) -> None:
        """Advance virtual time, letting the CTI read and handle what pbxsim sent."""
        end = self.sched.now() + seconds
        while self.sched.now() < end:
            await self.settle()  # what pbxsim sent at this instant is read at this instant
            await advance(self.sched, self.sim.engine, min(step, end - self.sched.now()))
        await self.settle()

    async def settle(self) -> None:
        for _ in range(3):
            await asyncio.sleep(0.005)

    async def until(self, sub: Subscription, topic: str,
                    pred: Callable[[Event], bool] = lambda e: True,
                    within: float = 30.0) -> Event:
        end = self.sched.now() + within
        while self.sched.now() < end:
            while (ev := sub.get_nowait()) is not None:
                if ev.topic == topic and pred(ev):
                    return ev
            await self.run_for(0.25)
        raise AssertionError(f"no {topic} within {within} virtual s")


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    sched = VirtualScheduler(start=START)
    db = Database(db_url)
    await seed(db, accounts=3, users=False)
    settings = Settings(database_url=db_url, secret_key="t", _env_file=None)  # type: ignore[call-arg]
    services = Services(settings=settings, db=db, bus=Bus(node="t"), clock=SchedClock(sched))
    await ensure_user(services, "agent1", "agent", extension="1001",
                      display_name="王芳 Wang Fang")
    sim = PbxSim(scheduler=sched)
    port = await sim.start("127.0.0.1", 0)
    # the detail worker process has its own test (test_screenpop.py)
    cti = CtiRuntime(services, plan=DEMO_PHONES,
                     ami=AmiSettings(port=port, username="vigil", secret="vigil"),
                     cti=CtiSettings(screenpop_detail="inline", _env_file=None))  # type: ignore[call-arg]
    await cti.start()
    await cti.client.wait_ready(5)
    agent = await cti.directory.by_extension("1001")
    assert agent is not None
    w = World(sim, sched, cti, services, agent.id)
    try:
        yield w
    finally:
        await cti.stop()
        await sim.close()
        await services.close()


async def _premises_phone(db: Database) -> tuple[str, int]:
    async with db.session() as s:
        row = (await s.execute(select(Phone.e164, Phone.account_id).where(
            Phone.contact_id.is_(None)).order_by(Phone.id).limit(1))).one()
    return str(row[0]), int(row[1])


async def test_queue_call_pops_before_answer_and_stores_the_record(world: World) -> None:
    number, account_id = await _premises_phone(world.services.db)
    sub = world.services.bus.subscribe("*", name="test")
    svc = world.cti.service
    assert await svc.login(world.agent_id, ["support"]) == ["support"]
    await world.run_for(0.5)
    await svc.commands.originate({
        "Action": "Originate", "Channel": "Local/talk@callers", "Context": "from-pstn",
        "Exten": "4000", "Priority": 1, "CallerID": f'"Caller" <{number}>', "Async": "true",
        "Variable": ["CALLTIME=8"]})
    pop = await world.until(sub, "screenpop")
    data = pop.data
    assert (data["extension"], data["user_id"], data["queue"]) == ("1001", world.agent_id,
                                                                    "support")
    assert data["caller_number"] == number and not data["new_subscriber"]
    assert data["account"]["id"] == account_id and data["lookup"] == "caller_number"
    # before the answer: the agent's phone is still ringing
    assert [r.exten for r in world.sim.engine.phones.ringing()] == ["1001"]
    call = world.cti.model.calls[data["call_id"]]
    assert not call.connected
    await world.run_for(2.0)
    answered_at = world.sched.now()
    assert world.sim.engine.phones.answer("1001")
    await world.settle()
    ended = await world.until(sub, "call.ended")
    assert ended.data["extension"] == "1001" and ended.data["outcome"] == "answered"
    async with world.services.db.session() as s:
        rows, total = await list_records(s, CallFilter(queue="support"))
    assert total == 1
    rec = rows[0]
    assert (rec.direction, rec.outcome, rec.caller_number, rec.agent) == (
        "inbound", "answered", number, "王芳 Wang Fang")
    assert rec.id == ended.data["id"]
    # the caller waited while the phone rang (HoldTime, whole seconds) and talked the rest
    waited = answered_at - rec.data["enter_queue_at"]
    assert rec.data["answer_at"] == pytest.approx(answered_at, abs=0.01)
    assert rec.wait_seconds == round(waited)
    assert rec.talk_seconds == pytest.approx(rec.data["end_at"] - answered_at, abs=1)
    assert rec.data["end_at"] - rec.data["started_at"] == pytest.approx(8, abs=0.3)  # CALLTIME
    assert rec.data["ended_by"] == "caller"
    sub.close()


async def test_unknown_caller_pops_an_empty_card(world: World) -> None:
    sub = world.services.bus.subscribe("screenpop", name="test")
    await world.cti.service.login(world.agent_id, ["support"])
    await world.run_for(0.5)
    await world.cti.service.commands.originate({
        "Action": "Originate", "Channel": "Local/talk@callers", "Context": "from-pstn",
        "Exten": "4000", "Priority": 1, "CallerID": '"Nobody" <+8613111112222>',
        "Async": "true", "Variable": ["CALLTIME=3", "VIGIL_IVR_PATH=1>0"]})
    pop = await world.until(sub, "screenpop")
    assert pop.data["new_subscriber"] is True and pop.data["account"] is None
    assert pop.data["caller_id"] == "+8613111112222"
    sub.close()


async def test_agent_state_and_queue_stats_follow_the_model(world: World) -> None:
    sub = world.services.bus.subscribe("agent.state", "queue.stats", name="test")
    await world.cti.service.login(world.agent_id, ["support"])
    await world.run_for(0.5)
    world.cti.live.flush()
    await world.cti.service.pause(world.agent_id, "lunch")
    await world.run_for(0.5)
    world.cti.live.flush()
    events = []
    while (ev := sub.get_nowait()) is not None:
        events.append(ev)
    states = [(e.data["state"], e.data["reason"]) for e in events if e.topic == "agent.state"]
    assert states == [("ready", None), ("paused", "lunch")]
    assert all(e.data["user_id"] == world.agent_id for e in events if e.topic == "agent.state")
    queues = [e.data for e in events if e.topic == "queue.stats"]
    assert queues[-1]["queue"] == "support" and queues[-1]["agents_paused"] == 1
    world.cti.live.flush()
    assert sub.get_nowait() is None  # nothing changed: nothing published
    sub.close()


async def _answered_by_1002(world: World, number: str = "+8613900000077") -> tuple[int, str]:
    """agent2 (1002) logs in and answers a support call; returns agent2's id and the caller's
    channel."""
    user_id = await ensure_user(world.services, "agent2", "agent", extension="1002")
    svc = world.cti.service
    await svc.login(user_id, ["support"])
    await world.run_for(0.5)
    await svc.commands.originate({
        "Action": "Originate", "Channel": "Local/talk@callers", "Context": "from-pstn",
        "Exten": "4000", "Priority": 1, "CallerID": f'"Caller" <{number}>', "Async": "true",
        "Variable": ["CALLTIME=600"]})
    await world.run_for(1)
    assert [r.exten for r in world.sim.engine.phones.ringing()] == ["1002"]
    assert world.sim.engine.phones.answer("1002")
    await world.run_for(1)
    caller = svc.other_party("1002")
    assert caller.caller_number == number
    return user_id, caller.name


async def test_blind_transfer_to_an_agent_rings_them_and_the_caller_talks_to_them(
        world: World) -> None:
    agent2, caller = await _answered_by_1002(world)
    svc = world.cti.service
    await svc.transfer(agent2, "1001")
    await world.run_for(1)
    assert caller in world.sim.engine.channels  # the caller is still there, hearing ringing
    assert [r.exten for r in world.sim.engine.phones.ringing()] == ["1001"]
    with pytest.raises(CtiError):
        svc.agent_leg("1002")  # 1002 is out of the call
    assert world.sim.engine.phones.answer("1001")
    await world.run_for(1)
    assert svc.other_party("1001").name == caller  # the CTI sees 1001 talking to the caller
    # and so does pbxsim: the caller is bridged with 1001's phone
    peer = world.sim.engine.bridge_peer(world.sim.engine.channels[caller])
    assert peer is not None and peer.name.startswith("Local/1001@phones-")
    assert peer.local_peer is not None and peer.local_peer.state == 6


async def test_retrieved_park_is_no_longer_listed(world: World) -> None:
    agent2, caller = await _answered_by_1002(world)
    svc = world.cti.service
    await svc.park(agent2)
    await world.run_for(1)
    [park] = [p for c in svc.model.calls.values() for p in c.parks]
    assert park["ended_at"] is None
    await svc.retrieve(agent2, str(park["space"]))
    await world.run_for(1)
    assert world.sim.engine.phones.answer("1002")
    await world.run_for(1)
    assert (park["result"], park["ended_at"] is not None) == ("retrieved", True)
    assert svc.other_party("1002").name == caller  # back in conversation with the caller
