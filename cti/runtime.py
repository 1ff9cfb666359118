"""The CTI part of a running Vigil: the AMI connection and everything hanging off it.

:class:`CtiRuntime` wires the AMI client and model to the screen pop, the recorder, the live
agent/queue publisher and the verification calls, and puts the console's facade
(:class:`cti.service.CtiService`) in ``services.extra["cti"]``. :func:`run_cti` is the part
``vigil demo``/``vigil serve`` start; in the demo the phones are pbxsim's (context ``phones``,
no PJSIP state interface), see ``vigil/parts.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from core.services import Services
from cti.agents import AgentDirectory, PhonePlan, record_user
from cti.ami_client import AmiClient, AmiSettings
from cti.away import AwayHandler
from cti.config import CtiSettings, cti_settings
from cti.live import LivePublisher
from cti.model import CtiModel, ModelConfig
from cti.placed import PlacedCalls
from cti.popdetail import detail_source
from cti.presence import CallPresence
from cti.recorder import Recorder
from cti.retention import RecordingPurger
from cti.screenpop import ScreenPop
from cti.service import CtiService
from cti.spies import SpyEvents
from cti.verification import Verifier

log = logging.getLogger(__name__)

#: the phone plan of pbxsim's demo telephony (pbxsim.demo: ``Local/<ext>@phones`` is the phone
#: itself, so transfers go to ``from-agents``, which Dials it, as asterisk-config's does)
DEMO_PHONES = PhonePlan(context="phones", state_technology=None,
                        transfer_context="from-agents")


def ami_settings(services: Services) -> AmiSettings:
    s = services.settings
    return AmiSettings(host=s.ami_host, port=s.ami_port, username=s.ami_user,
                       secret=s.ami_secret)


class CtiRuntime:
    def __init__(self, services: Services, *, plan: PhonePlan | None = None,
                 ami: AmiSettings | None = None, live_interval: float = 1.0,
                 cti: CtiSettings | None = None, queue_wrapup: Mapping[str, int] | None = None,
                 shared_lastcall: bool = False) -> None:
        """``queue_wrapup`` and ``shared_lastcall``: what queues.conf says (the composition
        root reads it, see vigil/cti_parts.py)."""
        s = services.settings
        self.cti_settings = c = cti or cti_settings(services)
        self.services = services
        self.plan = plan or PhonePlan(context=s.agent_phone_context)
        config = ModelConfig(outbound_contexts=frozenset({s.outbound_context}),
                             agent_contexts=frozenset({self.plan.context,
                                                       s.agent_phone_context}),
                             queue_wrapup=dict(queue_wrapup or {}),
                             shared_lastcall=shared_lastcall)
        self.model = CtiModel(config)
        self.client = AmiClient(ami or ami_settings(services), self.model, services.bus,
                                services.clock)
        self.directory = AgentDirectory(services.db, services.clock.monotonic)
        self.screenpop = ScreenPop(services.db, services.bus, services.clock, self.directory,
                                   self.model, region=s.default_region,
                                   cache_seconds=c.screenpop_cache_seconds,
                                   detail=detail_source(services.db, c.screenpop_detail,
                                                        c.screenpop_detail_workers))
        self.client.add_handler(self.screenpop.handle)
        self.live = LivePublisher(services.bus, self.model, self.directory,
                                  lambda: services.clock.now().timestamp(), live_interval,
                                  stats=c.stats_config())
        # calls placed for users: progress from the model after each message, the last event
        # from the call record as soon as the model emits it
        self.placed = PlacedCalls(services.bus, self.model, services.clock,
                                  result_timeout=c.verification_timeout_seconds)
        self.client.add_handler(self.placed.handle)
        self.client.record_listeners += [record_user(self.directory), self.placed.on_record]
        self.spies = SpyEvents(services.bus, self.model, self.directory)
        self.client.add_handler(self.spies.handle)
        self.service = CtiService(self.client, self.directory, self.plan,
                                  outbound_context=s.outbound_context,
                                  region=s.default_region, live=self.live,
                                  conference_context=c.conference_context, placed=self.placed)
        self.service.screenpop = self.screenpop
        self.client.add_handler(self.service.invitations.handle)
        self.presence = CallPresence(self.model, services.bus, self.directory, self.screenpop)
        self.client.add_handler(self.presence.handle)
        self.away = AwayHandler(services.bus, self.service, services.db, services.clock,
                                c.away_action)
        self.verifier = Verifier(services.bus, self.service, screenpop=self.screenpop,
                                 clock=services.clock,
                                 result_timeout=c.verification_timeout_seconds,
                                 is_live=self.model.calls.__contains__)
        self.recorder = Recorder(services.db, services.clock, services.bus, self.directory)
        self.recorder.enrichers.append(self.screenpop.enrich)
        self.recorder.listeners += [
            self.verifier.on_record, lambda rec, _id: self.live.add_record(rec),
            lambda rec, _id: self.screenpop.clear_call(str(rec.get("call_id")),
                                                       rec.get("originate_action_id"))]
        self.purger = RecordingPurger(services.db, services.clock, c.recordings_dir,
                                      c.recording_retention_days,
                                      c.recording_purge_interval_seconds)
        self._tasks: list[asyncio.Task[Any]] = []
        self._requests: set[asyncio.Task[Any]] = set()

    async def _place(self, data: dict[str, Any]) -> None:
        try:
            await self.verifier.request(data)
        except Exception:
            log.exception("verification call not placed: %s", data)

    async def _verification_requests(self) -> None:
        """Each request in its own task: one slow Originate must not hold back the next."""
        with self.services.bus.subscribe("verification.call_requested",
                                         name="cti-verification") as sub:
            async for event in sub:
                task = asyncio.create_task(self._place(dict(event.data)))
                self._requests.add(task)
                task.add_done_callback(self._requests.discard)

    async def start(self) -> None:
        self.services.extra["cti"] = self.service
        self._tasks = [
            asyncio.create_task(self.recorder.run(), name="cti-recorder"),
            asyncio.create_task(self._verification_requests(), name="cti-verification"),
            asyncio.create_task(self.live.run(self.services.clock.sleep), name="cti-live"),
            asyncio.create_task(self.away.run(), name="cti-agent-away"),
        ]
        if self.cti_settings.recording_retention_days > 0:
            self._tasks.append(asyncio.create_task(self.purger.run(), name="cti-retention"))
        await self.screenpop.start()
        await asyncio.sleep(0)  # the subscriptions exist before the first AMI event
        await self.client.start()

    async def stop(self) -> None:
        await self.client.stop()
        await self.placed.close()
        await self.screenpop.close()
        await self.verifier.close()
        await self.away.close()
        await self.service.invitations.close()
        tasks = self._tasks + list(self._requests)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.services.extra.get("cti") is self.service:
            del self.services.extra["cti"]


async def run_cti(services: Services, plan: PhonePlan | None = None,
                  queue_wrapup: Mapping[str, int] | None = None,
                  shared_lastcall: bool = False) -> None:
    """Connect to ``settings.ami_host:ami_port`` and run until cancelled."""
    runtime = CtiRuntime(services, plan=plan, queue_wrapup=queue_wrapup,
                         shared_lastcall=shared_lastcall)
    await runtime.start()
    try:
        await asyncio.Event().wait()
    finally:
        await runtime.stop()
