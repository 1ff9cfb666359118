"""pbxsim as Vigil's demo telephony: real time, AMI on a port, the IVR over FastAGI, agent
phones the console answers, queues ``support``/``emergency``/``billing``, a scripted trunk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from .ami_server import AmiServer
from .engine.clock import AsyncioScheduler, Scheduler
from .engine.confbridge import UserProfile
from .engine.core import Engine
from .engine.dialplan import Dialplan, Step, lab_dialplan
from .engine.queues import QueueConfig

DEMO_QUEUES = {"support": "4000", "emergency": "4001", "billing": "4002"}
IVR_LINE = "4100"
AGENT_PHONES = ("1001", "1002")
SUPERVISOR_PHONES = ("2001",)
#: as asterisk-config's [globals] and [supervisor-spy]
CENTER_CALLER_ID = "4000"
CENTER_CALLER_NAME = "Alarm Center"
VERIFY_RING_SECONDS = 30
SPY_CONTEXT = "supervisor-spy"
SPY_MODES = {"81": ("listen", "q"), "82": ("whisper", "qw"), "83": ("barge", "qB")}
#: SIP endpoints' phones (``Local/<ext>@sip-phones`` Dials ``PJSIP/<ext>``)
SIP_PHONES = "sip-phones"
#: where the CTI sends blind and attended transfers to an agent (as asterisk-config's
#: [from-agents]: agents dial each other there and the callee's phone is Dialled)
TRANSFER_CONTEXT = "from-agents"
#: three-way calls (asterisk-config's [vigil-conference] and confbridge.conf's user profiles)
CONFERENCE_CONTEXT = "vigil-conference"
CONFERENCE_AGENT = "vigil-agent"
CONFERENCE_PARTY = "vigil-party"


def demo_dialplan(agi_url: str) -> Dialplan:
    """The lab's dialplan plus what the demo needs: a line per queue, phones that ring until
    answered (``phones``) and dialled by
    transfers (``from-agents``), premises reached through the scripted trunk (``outbound``)."""
    dp = lab_dialplan(agi_url)
    for queue, line in DEMO_QUEUES.items():
        dp.add("from-pstn", line, [
            Step("NoOp", f"inbound {queue} line"), Step("Answer"),
            Step("Queue", f"{queue},t,,,300"), Step("Hangup")])
    # As asterisk-config's [vigil-ivr]: the IVR sets VIGIL_QUEUE and ends its session; the
    # dialplan queues the caller (emergency when the IVR named none or could not be reached).
    dp.add("from-pstn", IVR_LINE, [
        Step("NoOp", "inbound IVR line"), Step("Answer"), Step("AGI", agi_url),
        Step("Queue", '${IF($["${VIGIL_QUEUE}"=""]?emergency:${VIGIL_QUEUE})},t,,,300'),
        Step("Hangup")])
    dp.add("phones", "_XXXX", [Step("SimPhone")])
    # ``phones`` *is* the phone (as PJSIP/<ext>); a call sent to an agent Dials it, so the
    # caller keeps its own channel and talks to the phone once it answers. A blind transfer
    # resumes after priority 1 (as in the blind_transfer capture), hence the NoOp first.
    dp.add(TRANSFER_CONTEXT, "_[12]XXX", [
        Step("NoOp", "ringing phone ${EXTEN}"), Step("Dial", "Local/${EXTEN}@phones"),
        Step("Hangup")])
    dp.add("trunk", "_X.", [Step("SimTrunk")])
    # As asterisk-config's [vigil-conference]: three-way calls. The CTI redirects the agent's leg
    # (A<room>, the marked user who holds the room) and the other party (P<room>) here and dials
    # the third party in (P<room>); when the agent leaves, everyone is let go.
    for prefix, profile in (("A", CONFERENCE_AGENT), ("P", CONFERENCE_PARTY)):
        dp.add(CONFERENCE_CONTEXT, f"_{prefix}.", [
            Step("NoOp", "three-way call ${EXTEN:1}"),
            Step("ConfBridge", f"vigil-${{EXTEN:1}},vigil-bridge,{profile}"), Step("Hangup")])
    # As asterisk-config's [outbound]: the center's caller ID, the number through the SIP trunk
    # (pbxsim.engine.pjsip, scripted per number), Dial's result for the CTI from a hangup
    # handler (whoever hangs up, answered or not).
    dp.add("outbound", "_X.", [
        Step("NoOp", "verification call to ${EXTEN}"),
        Step("Set", f"CALLERID(num)={CENTER_CALLER_ID}"),
        Step("Set", f"CALLERID(name)={CENTER_CALLER_NAME}"),
        Step("Set", "CHANNEL(hangup_handler_push)=vigil-dialstatus,s,1"),
        Step("Dial", f"PJSIP/${{EXTEN}}@trunk,{VERIFY_RING_SECONDS}"), Step("Hangup")])
    dp.add("vigil-dialstatus", "s", [Step("Set", "VIGIL_DIALSTATUS=${DIALSTATUS}"),
                                     Step("Return")])
    add_spy_contexts(dp, "Local/${EXTEN:2}@phones-")
    # As asterisk-config's [agent-phones] for SIP endpoints (a WebRTC softphone registered as
    # PJSIP/<ext>): the pre-dial handler asks the phone to answer a call Vigil placed for it.
    dp.add(SIP_PHONES, "_XXXX", [
        Step("NoOp", "ringing phone ${EXTEN}"),
        Step("Dial", "PJSIP/${EXTEN},,b(vigil-autoanswer^s^1)"), Step("Hangup")])
    dp.add("vigil-autoanswer", "s", [
        Step("Set", "PJSIP_HEADER(add,Call-Info)=<sip:vigil>\\;answer-after=0",
             options={"when": "VIGIL_AUTOANSWER=yes"}),
        Step("Return")])
    return dp


def add_spy_contexts(dp: Dialplan, prefix_target: str) -> None:
    """asterisk-config's [supervisor-spy] and [vigil-spy] (pbxsim has no Goto: each extension
    carries both ChanSpy priorities, the one that does not apply is skipped): 81/82/83 + the
    agent's extension listen, whisper or barge. ``d`` lets keys 4/5/6 switch the mode, ``E``
    ends the spy with the spied channel; the CTI names that channel in VIGIL_SPY_CHANNEL and
    ChanSpy spies on it alone (``u``), else the agent's phone by name prefix."""
    for prefix, (mode, options) in SPY_MODES.items():
        dp.add(SPY_CONTEXT, f"_{prefix}XXXX", [
            Step("Set", f"VIGIL_SPY_MODE={mode}"),
            Step("ChanSpy", "${VIGIL_SPY_CHANNEL}," + options + "dEu",
                 options={"when": "VIGIL_SPY_CHANNEL!="}),
            Step("ChanSpy", f"{prefix_target},{options}dE",
                 options={"when": "VIGIL_SPY_CHANNEL="}),
            Step("Hangup")])


class PbxSim:
    """An engine and its AMI server; ``engine.phones`` is the console's control API."""

    def __init__(self, agi_host: str = "127.0.0.1", agi_port: int = 4573,
                 users: Mapping[str, str] | None = None, scheduler: Scheduler | None = None,
                 auto_answer: Mapping[str, float] | None = None) -> None:
        agi_url = f"agi://{agi_host}:{agi_port}/ivr"
        self.engine = Engine(scheduler or AsyncioScheduler(), demo_dialplan(agi_url))
        for name in DEMO_QUEUES:
            self.engine.queues.add_queue(QueueConfig(name, strategy="rrmemory", timeout=20,
                                                     retry=3, wrapuptime=5))
        self.engine.queues.shared_lastcall = True  # as asterisk-config/queues.conf
        profiles = self.engine.confbridges.user_profiles
        profiles[CONFERENCE_AGENT] = UserProfile(marked=True)
        profiles[CONFERENCE_PARTY] = UserProfile(end_marked=True)
        for exten in AGENT_PHONES + SUPERVISOR_PHONES:
            self.engine.phones.add_phone(exten, (auto_answer or {}).get(exten))
        self.ami = AmiServer(self.engine, dict(users or {"vigil": "vigil"}))
        self.ami_port = 0

    def queue_wrapup(self) -> dict[str, int]:
        """Each queue's wrap-up seconds: what the CTI reads from queues.conf in production."""
        return {name: int(q.cfg.wrapuptime) for name, q in self.engine.queues.queues.items()}

    async def start(self, host: str = "127.0.0.1", ami_port: int = 5038) -> int:
        self.ami_port = await self.ami.start(host, ami_port)
        return self.ami_port

    async def close(self) -> None:
        await self.ami.close()
        await self.engine.close_io()


async def run_pbxsim(host: str = "127.0.0.1", ami_port: int = 5038,
                     agi_host: str = "127.0.0.1", agi_port: int = 4573,
                     users: Mapping[str, str] | None = None,
                     stop_event: asyncio.Event | None = None,
                     on_ready: Callable[[PbxSim], None] | None = None,
                     auto_answer: Mapping[str, float] | None = None) -> None:
    """Serve until ``stop_event`` is set. ``users`` maps AMI usernames to secrets (default
    vigil/vigil); ``on_ready`` receives the running PbxSim (its ``engine.phones`` answers the
    console's softphone in demo mode)."""
    sim = PbxSim(agi_host, agi_port, users, auto_answer=auto_answer)
    await sim.start(host, ami_port)
    if on_ready is not None:
        on_ready(sim)
    try:
        await (stop_event or asyncio.Event()).wait()
    finally:
        await sim.close()
