"""IVR fixtures: fakes of the ports, deps over the test database, a server on an ephemeral port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import pytest

from core.services import Services
from ivr.config import IvrSettings
from ivr.deps import IvrDeps
from ivr.ports import (
    ArmedState,
    CodeCheck,
    IncidentRef,
    PastEvent,
    QueueSnapshot,
    Subscriber,
)
from ivr.server import IvrServer

KNOWN_CALLER = "+8613800000013"
ACCOUNT = Subscriber(account_id=7, account_number="1234", language="en", contact_id=70)


@dataclass
class FakeSubscribers:
    pin: str = "2468"
    duress_pin: str = "9999"
    passcode: str = "1357"
    duress: str = "7531"
    phones: dict[str, Subscriber] = field(default_factory=lambda: {KNOWN_CALLER: ACCOUNT})

    async def by_caller_id(self, number: str) -> list[Subscriber]:
        return [self.phones[number]] if number in self.phones else []

    async def by_account_number(self, number: str) -> Subscriber | None:
        return next((s for s in self.phones.values() if s.account_number == number), None)

    async def verify_pin(self, subscriber: Subscriber, pin: str) -> CodeCheck:
        return "valid" if pin == self.pin else "duress" if pin == self.duress_pin else "invalid"

    async def verify_passcode(self, subscriber: Subscriber,
                              code: str) -> tuple[CodeCheck, int | None]:
        if code == self.passcode:
            return "valid", subscriber.contact_id
        if code == self.duress:
            return "duress", subscriber.contact_id
        return "invalid", None


@dataclass
class FakeAlarms:
    """An alarm engine in memory: one open incident per account, on-test windows, events."""

    clock: object
    storm: bool = False
    incidents: dict[int, dict[str, object]] = field(default_factory=dict)
    duress_calls: list[dict[str, object]] = field(default_factory=list)
    on_test: dict[int, datetime] = field(default_factory=dict)
    events: list[PastEvent] = field(default_factory=list)
    state: ArmedState = "armed"

    async def disaster_mode(self) -> bool:
        return self.storm

    async def recent_incident(self, account_id: int) -> IncidentRef | None:
        inc = self.incidents.get(account_id)
        if inc is None or inc["status"] != "open":
            return None
        return IncidentRef(int(str(inc["id"])), account_id, inc["opened_at"])  # type: ignore[arg-type]

    async def cancel_by_subscriber(self, incident: IncidentRef, contact_id: int | None,
                                   caller: str, note: str) -> None:
        self.incidents[incident.account_id].update(
            status="closed", disposition="cancelled_by_subscriber", note=note, by=contact_id)

    async def escalate_duress(self, account_id: int, incident: IncidentRef | None,
                              contact_id: int | None, caller: str) -> None:
        self.duress_calls.append({"account_id": account_id, "incident": incident,
                                  "contact_id": contact_id, "caller": caller})

    async def put_on_test(self, account_id: int, hours: int, caller: str) -> datetime:
        until: datetime = self.clock.now() + timedelta(hours=hours)  # type: ignore[attr-defined]
        self.on_test[account_id] = until
        return until

    def signal(self, account_id: int) -> bool:
        """A later alarm signal: True when it opens an incident (not while on test)."""
        until = self.on_test.get(account_id)
        return not (until and until > self.clock.now())  # type: ignore[attr-defined]

    async def last_events(self, account_id: int, limit: int) -> list[PastEvent]:
        return self.events[:limit]

    async def armed_state(self, account_id: int) -> ArmedState:
        return self.state


@dataclass
class FakeTickets:
    made: list[dict[str, object]] = field(default_factory=list)

    async def voicemail(self, account_id: int | None, caller: str, recording: str,
                        language: str) -> int:
        self.made.append({"account_id": account_id, "caller": caller, "recording": recording,
                          "language": language})
        return len(self.made)


@dataclass
class FakeQueueStats:
    figures: dict[str, QueueSnapshot] = field(default_factory=dict)

    def snapshot(self, queue: str) -> QueueSnapshot | None:
        return self.figures.get(queue)


def settings(**kw: object) -> IvrSettings:
    base: dict[str, object] = {"desk_weekdays": [0, 1, 2, 3, 4, 5, 6], "desk_opens": time(0, 0),
                               "desk_closes": time(23, 59, 59)}
    base.update(kw)
    return IvrSettings(_env_file=None, **base)  # type: ignore[call-arg,arg-type]


@pytest.fixture
def fakes(services: Services) -> dict[str, object]:
    return {"subscribers": FakeSubscribers(), "alarms": FakeAlarms(services.clock),
            "tickets": FakeTickets(), "queue_stats": FakeQueueStats()}


@pytest.fixture
def deps(services: Services, fakes: dict[str, object]) -> IvrDeps:
    return IvrDeps(db=services.db, bus=services.bus, clock=services.clock, settings=settings(),
                   subscribers=fakes["subscribers"], alarms=fakes["alarms"],  # type: ignore[arg-type]
                   tickets=fakes["tickets"], queue_stats=fakes["queue_stats"])  # type: ignore[arg-type]


@pytest.fixture
async def server(deps: IvrDeps) -> AsyncIterator[IvrServer]:
    srv = IvrServer(deps, port=0)
    await srv.start()
    yield srv
    await srv.stop()


# The pbxsim world (real crm and alarm engine) is a fixture of every IVR test; imported last
# because it builds on the fakes above.
from tests.ivr.pbx_world import world  # noqa: E402,F401
