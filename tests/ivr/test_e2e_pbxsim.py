"""Every path of the IVR end to end: a caller on pbxsim (virtual time, its FastAGI client over a
real socket) into the IVR server, with the real crm and the real alarm engine on the test
database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from alarms import api as alarms_api
from alarms.incidents import Outbox
from alarms.models import IncidentSignal
from core.audit import Actor
from core.models import AuditEntry
from crm.models import Ticket
from ivr import blacklist
from ivr.models import CallbackRequest
from tests.ivr.pbx_rig import HANG_UP, Caller
from tests.ivr.pbx_world import ADMIN, DURESS, PASSCODE, STRANGER, SUBSCRIBER, World


def hung_up_by_ivr(world: World, caller: Caller) -> bool:
    return any(e.get("Variable") == "AGISTATUS" and e.get("Value") == "HANGUP"
               for e in caller.events) and not caller.named("QueueCallerJoin")


async def test_blacklisted_number_hears_the_short_message_and_is_hung_up(world: World) -> None:
    async with world.services.db.transaction() as s:
        await blacklist.add_number(s, world.clock, ADMIN, "139 0000 0099", "nuisance")
    caller = world.pbx.call(STRANGER)
    await world.pbx.run()
    assert caller.prompts() == ["blacklisted", "blacklisted"]
    assert caller.commands[-1] == "HANGUP" and hung_up_by_ivr(world, caller)
    assert not world.pbx.engine.channels
    assert (await world.session_of(caller)).outcome == "blacklisted"


async def test_unknown_caller_presses_9_then_hears_english(world: World) -> None:
    caller = world.pbx.call(STRANGER, ["9", "1"])
    await world.pbx.run()
    played = caller.played()
    assert played[:3] == ["vigil/zh-CN/welcome", "vigil/en/switch-language",
                          "vigil/zh-CN/main-menu"]
    assert caller.var_sets()["CHANNEL(language)"] == "en"
    assert all(p.startswith("vigil/en/") for p in played[3:])
    assert played[3:5] == ["vigil/en/welcome", "vigil/en/main-menu"]
    rec = await world.session_of(caller)
    assert rec.language == "en" and rec.path.startswith("answer>main-menu>language>en")


async def test_unknown_caller_is_served_in_chinese(world: World) -> None:
    caller = world.pbx.call(STRANGER, ["1"])
    await world.pbx.run()
    assert caller.var_sets()["CHANNEL(language)"] == "zh"
    assert "vigil/zh-CN/main-menu" in caller.played()
    [join] = caller.named("QueueCallerJoin")
    assert join.get("Queue") == "emergency"


async def test_storm_greeting_plays_only_in_disaster_mode(world: World) -> None:
    calm = world.pbx.call(SUBSCRIBER, ["1"])
    await world.pbx.run()
    out = Outbox()
    async with world.services.db.transaction() as s:
        await alarms_api.set_disaster(s, world.clock, Actor("sup"), True, {}, out)
    storm = world.pbx.call(SUBSCRIBER, ["1"])
    await world.pbx.run()
    assert "storm-greeting" not in calm.prompts()
    p = storm.prompts()
    assert "storm-greeting" in p and p.index("welcome") < p.index("storm-greeting") < p.index(
        "main-menu")


async def services_call(world: World, *keys: str | None) -> Caller:
    """The known subscriber: 2 services, PIN, then ``keys``."""
    caller = world.pbx.call(SUBSCRIBER, ["2", PASSCODE + "#", *keys])
    await world.pbx.run()
    return caller


async def test_cancel_alarm_with_passcode_closes_the_incident(world: World) -> None:
    await world.signal("130")
    [inc] = await world.incidents()
    assert inc.status != "closed"
    caller = await services_call(world, "1", PASSCODE + "#", None, None, None)
    assert "alarm-cancelled" in caller.prompts()
    [inc] = await world.incidents()
    assert inc.status == "closed" and inc.disposition == "cancelled_by_subscriber"
    assert "cancelled by subscriber by phone, passcode verified" in (inc.close_note or "")
    async with world.services.db.session() as s:
        audits = (await s.execute(select(AuditEntry.action).where(
            AuditEntry.entity == "incident", AuditEntry.entity_id == str(inc.id)))).scalars()
        assert "subscriber_cancel" in list(audits)
    assert (await world.session_of(caller)).outcome == "alarm_cancelled"


async def test_duress_sounds_the_same_but_escalates(world: World) -> None:
    await world.signal("130")
    honest = await services_call(world, "1", PASSCODE + "#", None, None, None)
    await world.signal("130", zone="002")
    [_, inc] = await world.incidents()
    assert inc.priority > 1 and not inc.duress
    forced = await services_call(world, "1", DURESS + "#", None, None, None)
    assert forced.played() == honest.played()  # word for word what a real cancel sounds like
    assert forced.commands == honest.commands
    [_, inc] = await world.incidents()
    assert inc.duress and inc.priority == 1 and inc.status != "closed"
    assert inc.steps and inc.steps[0]["step"] == "notify_police"


async def test_on_test_stops_later_signals_opening_incidents(world: World) -> None:
    caller = await services_call(world, "2", "4#", None, None, None)
    p = caller.prompts()
    assert p[p.index("on-test-confirmed"):][:3] == ["on-test-confirmed", "digit-4", "unit-hours"]
    await world.signal("130")
    assert await world.incidents() == []
    async with world.services.db.session() as s:
        [row] = (await s.execute(select(IncidentSignal))).scalars()
    assert row.logged_reason == "on_test"
    world.clock.advance(5 * 3600)
    await world.signal("130")
    assert len(await world.incidents()) == 1  # the test period is over


async def test_three_wrong_pins_lock_the_line_and_are_audited(world: World) -> None:
    first = world.pbx.call(SUBSCRIBER, ["2", "0000#", "1111#", "2222#"])
    await world.pbx.run()
    assert first.prompts().count("pin-wrong") == 2 and first.prompts()[-1] == "pin-locked"
    assert hung_up_by_ivr(world, first)
    async with world.services.db.session() as s:
        entries = list((await s.execute(select(AuditEntry).where(
            AuditEntry.action == "ivr_pin_lockout"))).scalars())
    assert len(entries) == 1 and entries[0].entity_id == str(world.account_id)
    again = world.pbx.call(SUBSCRIBER, ["2", PASSCODE + "#"])
    await world.pbx.run()
    assert "enter-pin" not in again.prompts() and again.prompts()[-1] == "pin-locked"
    assert (await world.session_of(again)).outcome == "locked"


async def test_voicemail_leaves_a_ticket_with_the_recording(world: World,
                                                            tmp_path: Path) -> None:
    caller = world.pbx.call(SUBSCRIBER, ["0"], hang_up_after="EXEC Record")
    await world.pbx.run()
    [record] = [c for c in caller.commands if c.startswith("EXEC Record")]
    name = f"vigil-voicemail/{caller.uniqueid.replace('.', '-')}.wav"
    assert name in record
    assert (tmp_path / name).is_file()  # pbxsim wrote what the caller said
    async with world.services.db.session() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
    assert ticket.account_id == world.account_id and name in ticket.body
    assert (await world.session_of(caller)).outcome == "voicemail"


async def test_queue_entry_sets_the_channel_variables_and_the_dialplan_queues(
        world: World) -> None:
    world.pbx.add_agent("emergency")
    caller = world.pbx.call(SUBSCRIBER, ["1"], talk_s=60)
    await world.pbx.advance(40)  # through the IVR, into the queue, the agent answers
    [connect] = caller.named("AgentConnect")
    agent_leg = world.pbx.engine.find_channel(str(connect.get("DestChannel")))
    assert agent_leg is not None  # the screen pop reads the account on the agent's leg too
    assert agent_leg.get_var("VIGIL_ACCOUNT_ID") == str(world.account_id)
    await world.pbx.run()
    sets = caller.var_sets()
    assert sets["__VIGIL_ACCOUNT_ID"] == str(world.account_id)
    assert sets["__VIGIL_IVR_PATH"].split(">")[-2:] == ["emergency", "queue:emergency"]
    assert sets["VIGIL_QUEUE"] == "emergency" and sets["QUEUE_PRIO"] == "10"
    assert sets["AGISTATUS"] == "SUCCESS"  # the IVR let the dialplan go on
    assert not any(c.startswith("EXEC") for c in caller.commands)
    [join] = caller.named("QueueCallerJoin")
    assert join.get("Queue") == "emergency"
    rec = await world.session_of(caller)
    assert rec.outcome == "queued" and rec.account_id == world.account_id


async def test_callback_request_from_subscriber_services(world: World) -> None:
    events = world.services.bus.subscribe("ivr.callback_requested")
    caller = await services_call(world, "4")
    assert "callback-confirmed" in caller.prompts() and hung_up_by_ivr(world, caller)
    async with world.services.db.session() as s:
        req = (await s.execute(select(CallbackRequest))).scalar_one()
    assert (req.number, req.account_id, req.queue, req.status) == (
        SUBSCRIBER, world.account_id, "emergency", "pending")
    assert req.uniqueid == caller.uniqueid
    assert (await events.get(within=1)).data["id"] == req.id


async def test_caller_hanging_up_mid_menu_is_logged_where_they_left(world: World) -> None:
    caller = world.pbx.call(SUBSCRIBER, ["2", HANG_UP])
    await world.pbx.run()
    assert not world.pbx.engine.channels
    assert caller.prompts()[-1] == "enter-pin"
    rec = await world.session_of(caller)
    assert rec.outcome == "hung_up" and rec.last_step == "pin"
    assert not caller.named("QueueCallerJoin")


async def test_subscriber_line_goes_straight_to_services(world: World) -> None:
    await world.signal("130")
    world.clock.advance(3 * 3600 + 60)
    caller = world.pbx.call(SUBSCRIBER, [PASSCODE + "#", "3", None, None, None],
                            path="ivr/subscriber")
    await world.pbx.run()
    p = caller.prompts()
    assert "main-menu" not in p and "welcome" not in p
    assert p[:7] == ["account-number-is", "digit-8", "digit-8", "digit-0", "digit-1", "enter-pin",
                     "services-menu"]
    heard = p[p.index("last-events") + 1:]
    assert heard[:3] == ["event-alarm", "digit-3", "ago-hours"]  # the burglary, 3 hours ago


async def test_message_line_after_billing_wait_makes_a_ticket_for_the_account(
        world: World) -> None:
    caller = world.pbx.call(SUBSCRIBER, [], path="ivr/message", hang_up_after="EXEC Record")
    await world.pbx.run()
    assert caller.prompts() == ["leave-message"]
    async with world.services.db.session() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
    assert "vigil-voicemail/" in ticket.body
