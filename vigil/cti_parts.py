"""The CTI's background parts: against Asterisk in ``serve``; with pbxsim in ``demo``.

In the demo, pbxsim listens on ``ami_host:ami_port`` with its FastAGI client pointed at
``agi_host:agi_port`` (the IVR), a gentle traffic generator calls in with subscriber numbers from
the CRM (so screen pops find them), and the CTI connects once pbxsim is up.

At demo start the CTI logs ``agent2`` (extension 1002) into ``support`` and ``emergency``; its
phone answers queue calls by itself after a few seconds, so calls are taken before anyone signs
in. ``agent1`` (1001) is left for the person trying the demo: its phone rings until answered
from the console (``services.extra["pbxsim"].engine.phones``; after the queue's ring timeout the
call moves on to agent2). The calls a user places (verification, click-to-dial, a supervisor's
spy) are different: every demo phone answers those at once, because its user asked for the call
(``_VIGIL_AUTOANSWER``, as the production phone does on asterisk-config's auto-answer header);
agent2's hands-free delay never applies to them.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.services import Services
from vigil.roles import tag
from vigil.runtime import Part

if TYPE_CHECKING:
    from pbxsim.traffic import IvrPath

log = logging.getLogger(__name__)

DEMO_CALLS_PER_MINUTE = 1.5
DEMO_AUTO_ANSWER_SECONDS = 4.0
#: the demo agent that works the queues from the start (vigil.demo_users), its extension, queues
DEMO_AGENT = ("agent2", "1002", ("support", "emergency"))


async def subscriber_numbers(services: Services, limit: int = 200) -> list[tuple[str, str]]:
    """(E.164, name) of some subscribers' phones, for simulated callers."""
    from crm.services import sample_subscriber_numbers

    async with services.db.session() as s:
        return await sample_subscriber_numbers(s, limit)


async def log_in_demo_agent(services: Services, within: float = 30.0) -> bool:
    """Once the CTI is connected, put the demo agent into its queues (ready)."""
    from core.models import User
    from cti.service import CtiService

    username, _, queues = DEMO_AGENT
    async with services.db.session() as s:
        user_id = (await s.execute(select(User.id).where(User.username == username))).scalar()
    if user_id is None:
        log.warning("demo agent %s not found; nobody answers the demo calls", username)
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        cti = services.extra.get("cti")
        if isinstance(cti, CtiService):
            try:  # the service is published just before its AMI client starts
                await cti.client.wait_ready(1.0)
            except (AssertionError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            try:
                await cti.login(user_id, queues)
            except Exception:
                log.exception("demo agent %s not logged in", username)
                return False
            log.info("demo agent %s logged into %s", username, ", ".join(queues))
            return True
        await asyncio.sleep(0.2)
    log.warning("the CTI did not come up; demo agent %s not logged in", username)
    return False


def queue_settings(path: str | Path) -> tuple[dict[str, int], bool]:
    """Each queue's ``wrapuptime`` (templates applied, the last line winning as in app_queue)
    and ``[general] shared_lastcall`` from Asterisk's queues.conf; ({}, False) when the file is
    not there. AMI shows neither (GetConfig would need the AMI user's ``config`` class, which
    can also rewrite the configuration), so the CTI reads the file Asterisk reads."""
    from vigil.asterisk_conf import ConfigError, parse

    try:
        cfg = parse(path, strict_includes=False)
    except (OSError, ConfigError) as exc:
        log.warning("queues.conf not read (%s): wrap-up times unknown, agents show ready as "
                    "soon as a call ends", exc)
        return {}, False
    wrapup: dict[str, int] = {}
    shared = False
    for section in cfg.sections:
        if section.name == "general":
            shared = (section.get("shared_lastcall") or "").lower() in ("yes", "true", "1", "on")
        elif not section.template:
            value = section.get("wrapuptime") or "0"
            wrapup[section.name] = int(value) if value.strip().isdigit() else 0
    return wrapup, shared


def demo_ivr_paths() -> tuple[IvrPath, ...]:
    """What the demo's callers do in the IVR (ivr.main_line): the emergency key during the
    welcome (barge-in), billing from the menu, or nothing at all (the operators then)."""
    from ivr.main_line import EMERGENCY_KEY
    from pbxsim.traffic import IvrPath

    return (IvrPath("emergency", f"2:{EMERGENCY_KEY}", 0.4), IvrPath("billing", "8:3", 0.2),
            IvrPath("silent", "", 0.4))


async def run_cti(services: Services) -> None:
    from cti.config import cti_settings
    from cti.runtime import run_cti as run

    wrapup, shared = queue_settings(cti_settings(services).queues_conf)
    await run(services, queue_wrapup=wrapup, shared_lastcall=shared)


async def run_demo_telephony(services: Services) -> None:
    from cti.runtime import DEMO_PHONES
    from cti.runtime import run_cti as run
    from pbxsim.demo import AGENT_PHONES, PbxSim, run_pbxsim
    from pbxsim.traffic import TrafficGenerator, TrafficProfile, install_callers

    s = services.settings
    ready: asyncio.Future[PbxSim] = asyncio.get_running_loop().create_future()
    sim_task = asyncio.create_task(run_pbxsim(
        s.ami_host, s.ami_port, s.agi_host, s.agi_port, users={s.ami_user: s.ami_secret},
        on_ready=ready.set_result,
        auto_answer={ext: DEMO_AUTO_ANSWER_SECONDS for ext in AGENT_PHONES
                     if ext == DEMO_AGENT[1]}))
    try:
        sim = await asyncio.wait_for(asyncio.shield(ready), 10)
        services.extra["pbxsim"] = sim
        from ivr.prompts import played_seconds

        sim.engine.prompt_duration = played_seconds  # prompts take as long as they really do
        demo_premises(sim.engine.phones)
        numbers = await subscriber_numbers(services) or [("+8613800000001", "Zhang Wei")]
        install_callers(sim.engine)
        traffic = TrafficGenerator(sim.engine, TrafficProfile(
            rate_per_minute=DEMO_CALLS_PER_MINUTE, numbers=numbers, paths=demo_ivr_paths()),
            seed=1)
        traffic.start()
        agent = asyncio.create_task(log_in_demo_agent(services), name="demo-agent-login")
        try:
            await run(services, plan=DEMO_PHONES, queue_wrapup=sim.queue_wrapup(),
                      shared_lastcall=sim.engine.queues.shared_lastcall)
        finally:
            agent.cancel()
            traffic.stop()
    finally:
        sim_task.cancel()
        try:
            await sim_task
        except (asyncio.CancelledError, Exception):
            pass
        services.extra.pop("pbxsim", None)


def demo_premises(phones: Any) -> None:
    """How the demo's premises and keyholders behave when an operator calls them: most answer
    after a few seconds and stay on the line until the operator hangs up (time to check the
    passcode); a number ending in 7 is busy, in 8 rings out, in 9 cannot be reached (README)."""
    from pbxsim.engine.phones import TrunkScript

    phones.trunk_default = TrunkScript("answer", after=4.0, talk=600.0)
    phones.trunk_by_last_digit.update({
        "7": TrunkScript("busy", after=3.0), "8": TrunkScript("noanswer"),
        "9": TrunkScript("unavailable", after=0.5)})


def cti_parts(demo: bool) -> list[Part]:
    if demo:
        return [tag(run_demo_telephony, "cti", lease="cti")]
    return [tag(run_cti, "cti", lease="cti")]
