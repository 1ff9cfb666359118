"""The world of the pbxsim end-to-end tests: a caller on pbxsim (virtual time, its FastAGI client
over a real socket) into the IVR server, with the real crm and the real alarm engine on the test
database. ``tests/ivr/conftest.py`` makes :func:`world` a fixture of every IVR test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alarms.config import AlarmSettings
from alarms.engine import AlarmEngine
from alarms.models import Incident
from alarms.subscriber import CrmDirectory
from core.audit import Actor
from core.clock import FakeClock
from core.services import Services
from crm import records
from ivr import session_log
from ivr.adapters import AlarmsApi, CrmSubscribers, CrmTickets
from ivr.deps import IvrDeps
from ivr.models import IvrSession
from ivr.server import IvrServer
from tests.alarms.conftest import sig
from tests.ivr.conftest import FakeQueueStats, settings
from tests.ivr.pbx_rig import Caller, PbxRig

ADMIN = Actor("admin")
SUBSCRIBER = "+8613800000013"  # Li Na's mobile, a contact of account 8801
STRANGER = "+8613900000099"
PASSCODE, DURESS = "1357", "7531"  # Li Na's codes; the IVR PIN is checked against passcodes


@dataclass
class World:
    services: Services
    clock: FakeClock
    server: IvrServer
    alarms: AlarmEngine
    pbx: PbxRig
    account_id: int
    contact_id: int

    async def signal(self, code: str, **kw: Any) -> None:
        await self.alarms.handle_signals([sig(self.clock, "8801", code, **kw)])

    async def incidents(self) -> list[Incident]:
        async with self.services.db.session() as s:
            return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())

    async def session_of(self, caller: Caller) -> IvrSession:
        await self.server.flush_logs()
        async with self.services.db.session() as s:
            [row] = await session_log.by_uniqueid(s, caller.uniqueid)
        return row


@pytest.fixture
async def world(services: Services, clock: FakeClock, tmp_path: Path) -> AsyncIterator[World]:
    async with services.db.transaction() as s:
        acc = await records.create_account(s, clock, ADMIN, number="8801", name="Li Shop",
                                           language="en")
        contact = await records.create_contact(
            s, clock, ADMIN, account_id=acc.id, name="Li Na", passcode=PASSCODE,
            duress_code=DURESS, phones=[{"number": "138 0000 0013"}])
        account_id, contact_id = acc.id, contact.id
    engine = AlarmEngine(services, CrmDirectory(services.db, clock),
                         AlarmSettings(_env_file=None))  # type: ignore[call-arg]
    deps = IvrDeps(db=services.db, bus=services.bus, clock=clock, settings=settings(),
                   subscribers=CrmSubscribers(services.db, clock),
                   alarms=AlarmsApi(services.db, clock, services.bus),
                   tickets=CrmTickets(services.db, clock), queue_stats=FakeQueueStats())
    server = IvrServer(deps, port=0)
    await server.start()
    pbx = PbxRig(server.bound_port, str(tmp_path))
    try:
        yield World(services, clock, server, engine, pbx, account_id, contact_id)
    finally:
        await pbx.engine.close_io()
        await server.stop()
        await engine.stop()
