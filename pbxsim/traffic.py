"""Simulated subscribers calling in: Poisson arrivals, a mix of IVR paths (keys pressed at set
moments), patience (they abandon when nobody answers in time) and talk time, caller numbers
from a supplied list (the CRM's subscribers, so screen pops find them). Seedable.

Each call is an Originate of ``Local/sim@callers`` into the IVR line or a queue line; the
caller side runs ``SimCaller``, which presses the path's keys, then hangs up when its patience
runs out before an agent answers, or ``talk`` seconds after one does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine.core import Engine
from .engine.dialplan import APPS, Pbx, Step
from .engine.originate import OriginateRequest, originate


@dataclass(frozen=True)
class IvrPath:
    """Keys a caller presses in the IVR: ``script`` is ``delay:digits;delay:digits``."""

    name: str
    script: str
    weight: float = 1.0


@dataclass
class TrafficProfile:
    rate_per_minute: float = 2.0
    numbers: Sequence[tuple[str, str]] = (("+8613800000001", "Zhang Wei"),)
    ivr_line: str = "4100"
    ivr_share: float = 0.5
    lines: dict[str, float] = field(default_factory=lambda: {"4000": 0.6, "4001": 0.2,
                                                             "4002": 0.2})
    paths: Sequence[IvrPath] = (IvrPath("account", "3:1;4:123456#"),
                                IvrPath("emergency", "3:9", 0.3),
                                IvrPath("silent", "", 0.2))
    patience_mean: float = 90.0
    talk_mean: float = 120.0
    talk_min: float = 10.0


@dataclass(frozen=True)
class CallPlan:
    at: float  # seconds after the previous call
    number: str
    name: str
    line: str
    path: str
    script: str
    patience: float
    talk: float


def plan_calls(profile: TrafficProfile, rng: random.Random) -> CallPlan:
    """The next caller: exponential gap (Poisson arrivals), exponential patience, talk time
    lognormal-ish around the mean."""
    gap = rng.expovariate(profile.rate_per_minute / 60.0) if profile.rate_per_minute > 0 else 0
    number, name = rng.choice(list(profile.numbers))
    if profile.paths and rng.random() < profile.ivr_share:
        path = rng.choices(list(profile.paths), [p.weight for p in profile.paths])[0]
        line, pname, script = profile.ivr_line, path.name, path.script
    else:
        lines = list(profile.lines)
        line = rng.choices(lines, [profile.lines[k] for k in lines])[0]
        pname, script = "direct", ""
    patience = rng.expovariate(1.0 / profile.patience_mean)
    talk = max(profile.talk_min, rng.lognormvariate(0, 0.5) * profile.talk_mean * 0.88)
    return CallPlan(gap, number, name, line, pname, script, round(patience, 2), round(talk, 2))


class TrafficGenerator:
    def __init__(self, engine: Engine, profile: TrafficProfile, seed: int | None = None) -> None:
        self.engine, self.profile = engine, profile
        self.rng = random.Random(seed)
        self.placed: list[CallPlan] = []
        self._timer: Any = None
        self.running = False

    def start(self) -> None:
        self.running = True
        self._schedule()

    def stop(self) -> None:
        self.running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        if not self.running or self.profile.rate_per_minute <= 0:
            return
        plan = plan_calls(self.profile, self.rng)
        self._timer = self.engine.later(plan.at, self._fire, plan)

    def _fire(self, plan: CallPlan) -> None:
        self._timer = None
        self.place(plan)
        self._schedule()

    def place(self, plan: CallPlan) -> None:
        self.placed.append(plan)
        originate(self.engine, OriginateRequest(
            channel="Local/sim@callers", context="from-pstn", exten=plan.line,
            cid_num=plan.number, cid_name=plan.name,
            variables=[("SCRIPT", plan.script), ("PATIENCE", str(plan.patience)),
                       ("TALK", str(plan.talk)), ("IVR_PATH", plan.path)]), lambda p: None)


def _connected(pbx: Pbx) -> bool:
    """Has the call reached a person (the caller's other half bridged with someone)?"""
    peer = pbx.ch.local_peer
    if peer is None or peer.dead:
        return False
    br = peer.bridge
    return br is not None and br.technology != "holding_bridge" and len(br.channels) > 1


def app_simcaller(pbx: Pbx, data: str, step: Step) -> bool:
    """SimCaller(): press the script's keys, give up after PATIENCE s unless answered, then
    talk TALK s."""
    eng, ch = pbx.engine, pbx.ch
    patience = float(ch.variables.get("PATIENCE") or 60)
    talk = float(ch.variables.get("TALK") or 60)
    script = ch.variables.get("SCRIPT", "")
    t = 0.0
    for item in filter(None, script.split(";")):
        delay, _, digits = item.partition(":")
        t += float(delay or 0)
        eng.later(t, _keys, pbx, digits)
        t += len(digits) * 0.35
    st: dict[str, Any] = {"since": eng.sched.now(), "talking": False}

    def tick() -> None:
        pbx.extra_timer = None
        if pbx.finished or ch.dead:
            return
        now = eng.sched.now()
        if not st["talking"] and _connected(pbx):
            st["talking"] = True
            pbx.extra_timer = eng.later(talk, pbx.end, 16)
            return
        if not st["talking"] and now - st["since"] >= patience:
            pbx.end(16)
            return
        pbx.extra_timer = eng.later(1.0, tick)

    def gone() -> None:
        if pbx.extra_timer is not None:
            pbx.extra_timer.cancel()
        pbx.end(int(ch.extra.get("req_cause", 16)))

    pbx.cleanup = gone
    pbx.extra_timer = eng.later(1.0, tick)
    return False


def _keys(pbx: Pbx, digits: str) -> None:
    if not pbx.finished and not pbx.ch.dead:
        pbx.engine.media.send_dtmf(pbx.ch, digits)


def install_callers(engine: Engine) -> None:
    """Add ``callers,sim`` to the engine's dialplan."""
    APPS["simcaller"] = app_simcaller
    engine.dialplan.add("callers", "sim", [Step("Answer", options={"delay": 0.02}),
                                          Step("SimCaller")])
