"""The IVR over the real crm: caller-ID recognition, PIN by passcode, voicemail ticket."""

from __future__ import annotations

from sqlalchemy import select

from core.audit import Actor
from core.services import Services
from crm import records
from crm.models import Ticket
from ivr.adapters import CrmSubscribers, CrmTickets
from ivr.deps import IvrDeps
from ivr.server import IvrServer
from tests.ivr.fake_asterisk import FakeAsterisk

ADMIN = Actor("admin")


async def seed(services: Services) -> tuple[int, int]:
    async with services.db.transaction() as s:
        acc = await records.create_account(s, services.clock, ADMIN, number="8801",
                                           name="Li Shop", language="en")
        contact = await records.create_contact(
            s, services.clock, ADMIN, account_id=acc.id, name="Li Na", passcode="1357",
            duress_code="7531", phones=[{"number": "138 0000 0013"}])
        return acc.id, contact.id


async def test_crm_subscriber_lookup_and_codes(services: Services) -> None:
    account_id, contact_id = await seed(services)
    subs = CrmSubscribers(services.db, services.clock)
    [sub] = await subs.by_caller_id("+8613800000013")
    assert (sub.account_id, sub.account_number, sub.language, sub.contact_id) == (
        account_id, "8801", "en", contact_id)
    assert await subs.by_caller_id("+8613999999999") == []
    by_number = await subs.by_account_number("8801")
    assert by_number is not None and by_number.account_id == account_id
    assert await subs.by_account_number("0000") is None
    assert await subs.verify_passcode(sub, "1357") == ("valid", contact_id)
    assert await subs.verify_passcode(sub, "7531") == ("duress", contact_id)
    assert await subs.verify_pin(sub, "0000") == "invalid"


async def test_voicemail_through_crm_makes_a_ticket(services: Services, deps: IvrDeps) -> None:
    account_id, _ = await seed(services)
    deps.subscribers = CrmSubscribers(services.db, services.clock)
    deps.tickets = CrmTickets(services.db, services.clock)
    async with IvrServer(deps, port=0) as server:
        got = await FakeAsterisk(["0"]).run(server.bound_port, caller="+86 138 0000 0013")
    assert got.variables["CHANNEL(language)"] == "en"  # the account's language, no question
    async with services.db.session() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
    assert ticket.account_id == account_id and ticket.created_by == "system:ivr"
    assert "vigil-voicemail/1795300126-58.wav" in ticket.body
