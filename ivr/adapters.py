"""The ports of :mod:`ivr.ports` over the real packages, through their public functions only.

- :class:`CrmSubscribers` and :class:`CrmTickets` use ``crm.services``.
- :class:`AlarmsApi` uses ``alarms.api`` (storm greeting flag, put on test, open incidents, last
  events, cancel by subscriber, duress; the armed state is read from the latest
  opening/closing among the last events). A database failure answers
  :class:`~ivr.ports.ServiceUnavailable`, which the flows turn into "not available, putting you
  through to an operator".
- Live queue statistics come from ``cti``, which the IVR may not import: the composition root
  passes an object with ``snapshot(queue)`` (:class:`ivr.ports.QueueStats`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from alarms import api as alarms_api
from alarms.incidents import Outbox
from alarms.workflow import TransitionError
from core import audit
from core.bus import Bus
from core.clock import Clock
from core.db import Database
from core.event_codes import KINDS
from crm import services as crm
from ivr.ports import (
    ArmedState,
    CodeCheck,
    EventKind,
    IncidentRef,
    PastEvent,
    ServiceUnavailable,
    Subscriber,
)

ACTOR = audit.Actor.system("ivr")


class CrmSubscribers:
    """Callers and codes from crm. crm keeps no separate IVR PIN yet, so the PIN is checked
    against the passcodes of the account's contacts (the caller's own contact first)."""

    def __init__(self, db: Database, clock: Clock, region: str = "CN") -> None:
        self.db = db
        self.clock = clock
        self.region = region

    async def by_caller_id(self, number: str) -> list[Subscriber]:
        async with self.db.session() as session:
            owners = await crm.lookup_by_phone(session, number, self.region)
        seen: set[int] = set()
        out: list[Subscriber] = []
        for o in owners:
            if o.account_id in seen or o.account_status == "cancelled":
                continue
            seen.add(o.account_id)
            out.append(Subscriber(o.account_id, o.account_number, o.language, o.contact_id))
        return out

    async def by_account_number(self, number: str) -> Subscriber | None:
        async with self.db.session() as session:
            account_id = await crm.find_account(session, number)
            if account_id is None:
                return None
            summary = await crm.account_summary(session, account_id, self.clock.now().date())
        return Subscriber(account_id, str(summary["number"]), str(summary["language"]))

    async def verify_pin(self, subscriber: Subscriber, pin: str) -> CodeCheck:
        result, _contact = await self.verify_passcode(subscriber, pin)
        return result

    async def verify_passcode(self, subscriber: Subscriber,
                              code: str) -> tuple[CodeCheck, int | None]:
        async with self.db.transaction() as session:
            entries = await crm.call_list(session, subscriber.account_id)
            ids = [e.contact_id for e in entries if e.contact_id is not None and e.has_passcode]
            if subscriber.contact_id in ids:
                ids.remove(subscriber.contact_id)
                ids.insert(0, subscriber.contact_id)
            for contact_id in ids:
                result = await crm.verify_contact_code(session, self.clock, ACTOR, contact_id,
                                                       code)
                if result != "invalid":
                    return result, contact_id
        return "invalid", None


class CrmTickets:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def voicemail(self, account_id: int | None, caller: str, recording: str,
                        language: str) -> int:
        """A consultation ticket; crm has no attachments yet, so the recording's file name is
        in the body (and in the session log)."""
        async with self.db.transaction() as session:
            ticket = await crm.create_ticket(
                session, self.clock, ACTOR, kind="consultation",
                subject=f"IVR message from {caller or 'unknown number'}",
                body=f"Voice message left in the IVR (language {language}).\n"
                     f"Recording: {recording}",
                account_id=account_id)
            return int(ticket.id)


class AlarmsNotReady:
    """Stands in until ``alarms`` offers these calls; every request is 'not available'."""

    async def disaster_mode(self) -> bool:
        raise ServiceUnavailable("alarms: disaster mode")

    async def recent_incident(self, account_id: int) -> IncidentRef | None:
        raise ServiceUnavailable("alarms: recent incident")

    async def cancel_by_subscriber(self, incident: IncidentRef, contact_id: int | None,
                                   caller: str, note: str) -> None:
        raise ServiceUnavailable("alarms: cancel")

    async def escalate_duress(self, account_id: int, incident: IncidentRef | None,
                              contact_id: int | None, caller: str) -> None:
        raise ServiceUnavailable("alarms: duress")

    async def put_on_test(self, account_id: int, hours: int, caller: str) -> datetime:
        raise ServiceUnavailable("alarms: on test")

    async def last_events(self, account_id: int, limit: int) -> list[PastEvent]:
        raise ServiceUnavailable("alarms: last events")

    async def armed_state(self, account_id: int) -> ArmedState:
        raise ServiceUnavailable("alarms: armed state")


_EVENT_KINDS: dict[str, EventKind] = {
    "opening": "open", "early_open": "open", "unscheduled_open": "open",
    "closing": "close", "unscheduled_close": "close", "test": "test", "trouble": "trouble",
    "ac_loss": "trouble", "low_battery": "trouble", "comm_trouble": "trouble",
}
_ALARM_KINDS = frozenset(k for k, i in KINDS.items() if i.event_class == "alarm")


def event_kind(kind: str) -> EventKind:
    """alarms' fine kinds folded into what the IVR can say."""
    if kind in _ALARM_KINDS:
        return "alarm"
    return _EVENT_KINDS.get(kind, "other")


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class AlarmsApi:
    """The alarm engine through ``alarms.api``; events it returns are published after commit."""

    def __init__(self, db: Database, clock: Clock, bus: Bus, recent_minutes: int = 60) -> None:
        self.db = db
        self.clock = clock
        self.bus = bus
        self.recent = timedelta(minutes=recent_minutes)

    async def disaster_mode(self) -> bool:
        async with self.db.session() as session:
            return await alarms_api.storm_greeting_active(session)

    async def recent_incident(self, account_id: int) -> IncidentRef | None:
        async with self.db.session() as session:
            rows = await alarms_api.open_incidents_of(session, account_id)
        since = self.clock.now() - self.recent
        found = [(opened, int(r["id"])) for r in rows
                 if (opened := _when(r.get("opened_at"))) is not None and opened >= since]
        if not found:
            return None
        opened, incident_id = max(found)
        return IncidentRef(incident_id, account_id, opened)

    async def cancel_by_subscriber(self, incident: IncidentRef, contact_id: int | None,
                                   caller: str, note: str) -> None:
        """Close the incident as cancelled by the subscriber. alarms writes its own wording
        ("cancelled by subscriber by phone, passcode verified"); ours adds who and from where.
        An incident an operator closed meanwhile is left as it is."""
        detail = f"contact {contact_id} from {caller or 'unknown number'}"
        if note and note != alarms_api.SUBSCRIBER_CANCEL_NOTE:
            detail = f"{note}; {detail}"
        out = Outbox()
        try:
            async with self.db.transaction() as session:
                await alarms_api.cancel_by_subscriber(session, self.clock, ACTOR,
                                                      incident.incident_id, detail, out)
        except TransitionError:
            return
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"alarms: cancel ({exc})") from exc
        await out.publish(self.bus)

    async def escalate_duress(self, account_id: int, incident: IncidentRef | None,
                              contact_id: int | None, caller: str) -> None:
        note = f"by phone (IVR), contact {contact_id} from {caller or 'unknown number'}"
        out = Outbox()
        try:
            async with self.db.transaction() as session:
                await alarms_api.raise_duress(
                    session, self.clock, ACTOR, account_id,
                    incident.incident_id if incident else None, note, out)
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"alarms: duress ({exc})") from exc
        await out.publish(self.bus)

    async def put_on_test(self, account_id: int, hours: int, caller: str) -> datetime:
        until = self.clock.now() + timedelta(hours=hours)
        out = Outbox()
        async with self.db.transaction() as session:
            await alarms_api.put_on_test(session, self.clock, ACTOR, account_id, until, out)
        await out.publish(self.bus)
        return until

    async def last_events(self, account_id: int, limit: int) -> list[PastEvent]:
        async with self.db.session() as session:
            rows = await alarms_api.last_events(session, account_id, limit)
        return [PastEvent(event_kind(str(r["kind"])), at) for r in rows
                if (at := _when(r.get("at"))) is not None]

    async def armed_state(self, account_id: int) -> ArmedState:
        for event in await self.last_events(account_id, 20):
            if event.kind == "open":
                return "disarmed"
            if event.kind == "close":
                return "armed"
        return "unknown"
