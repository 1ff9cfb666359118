"""Each path of the issue end to end: a scripted Asterisk over a real socket into the IVR server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from core.audit import Actor
from core.models import AuditEntry
from core.services import Services
from ivr import blacklist, session_log
from ivr.models import CallbackRequest, IvrSession
from ivr.ports import PastEvent, QueueSnapshot, Subscriber
from ivr.server import IvrServer
from tests.ivr.conftest import ACCOUNT, KNOWN_CALLER
from tests.ivr.fake_asterisk import HANG_UP, FakeAsterisk, Session

UNKNOWN_CALLER = "+8613900000099"


async def call(server: IvrServer, keys: list[str | None], caller: str = KNOWN_CALLER,
               uniqueid: str = "1795300126.58") -> Session:
    return await FakeAsterisk(keys).run(server.bound_port, caller=caller, uniqueid=uniqueid)


async def logged(services: Services, uniqueid: str = "1795300126.58",
                 server: IvrServer | None = None) -> IvrSession:
    if server is not None:
        await server.flush_logs()
    async with services.db.session() as s:
        rows = await session_log.by_uniqueid(s, uniqueid)
    assert len(rows) == 1
    return rows[0]


async def test_blacklisted_number_hears_short_message_and_is_hung_up(
        server: IvrServer, services: Services) -> None:
    async with services.db.transaction() as s:
        await blacklist.add_number(s, services.clock, Actor("sup"), "139 0000 0099", "nuisance")
    got = await call(server, [], caller=UNKNOWN_CALLER)
    assert got.commands[0] == "ANSWER"
    assert got.prompts() == ["blacklisted", "blacklisted"]
    assert got.played == ["vigil/zh-CN/blacklisted", "vigil/en/blacklisted"]
    assert got.commands[-1] == "HANGUP" and not any(c.startswith("GET DATA") for c in got.commands)
    assert (await logged(services, server=server)).outcome == "blacklisted"


async def test_unblacklisted_number_gets_the_menu(server: IvrServer, services: Services) -> None:
    async with services.db.transaction() as s:
        await blacklist.add_number(s, services.clock, Actor("sup"), UNKNOWN_CALLER)
        await blacklist.remove_number(s, services.clock, Actor("sup"), UNKNOWN_CALLER)
    got = await call(server, ["1"], caller=UNKNOWN_CALLER)
    assert "blacklisted" not in got.prompts()
    assert got.queue == "emergency" and not got.executed


async def test_unknown_caller_switches_to_english_with_9(server: IvrServer,
                                                         services: Services) -> None:
    got = await call(server, ["9", "1"], caller=UNKNOWN_CALLER)
    # the default language, the offer of English spoken in English, the menu
    assert got.played[:3] == ["vigil/zh-CN/welcome", "vigil/en/switch-language",
                              "vigil/zh-CN/main-menu"]
    assert got.variables["CHANNEL(language)"] == "en"
    # after 9: the welcome (with its emergency option) and the menu again, in English
    assert got.played[3:5] == ["vigil/en/welcome", "vigil/en/main-menu"]
    assert got.queue == "emergency"
    rec = await logged(services, server=server)
    assert rec.language == "en"
    assert rec.path.startswith("answer>main-menu>language>en>main-menu>emergency")


async def test_unknown_caller_is_served_in_the_default_language(server: IvrServer) -> None:
    got = await call(server, ["1"], caller=UNKNOWN_CALLER)
    assert got.commands[1] == 'SET VARIABLE CHANNEL(language) "zh"'
    assert all(p.startswith("vigil/zh-CN/") for p in got.played if "switch-language" not in p)
    assert got.queue == "emergency"


async def test_known_caller_is_greeted_in_account_language_without_choice(
        server: IvrServer) -> None:
    got = await call(server, ["1"])
    assert got.variables["CHANNEL(language)"] == "en"
    assert got.prompts()[:2] == ["welcome", "main-menu"]  # no offer of another language
    assert "account-number-is" not in got.prompts()  # read back only in self-service


async def test_self_service_reads_the_account_number_back_before_the_pin(
        server: IvrServer, fakes: dict[str, Any]) -> None:
    got = await call(server, ["2", HANG_UP])
    p = got.prompts()
    assert p[p.index("account-number-is"):][:6] == [
        "account-number-is", "digit-1", "digit-2", "digit-3", "digit-4", "enter-pin"]
    assert all(f.startswith("vigil/en/") for f in got.played)  # the account's language
    assert not any(c.startswith("SAY ") for c in got.commands)  # our own digits, not Asterisk's
    zh = Subscriber(account_id=8, account_number="8801", language="zh-CN")
    fakes["subscribers"].phones[UNKNOWN_CALLER] = zh
    got = await call(server, ["2", HANG_UP], caller=UNKNOWN_CALLER, uniqueid="9.1")
    digits = [f for f in got.played if "/digit-" in f]
    assert digits == ["vigil/zh-CN/digit-8", "vigil/zh-CN/digit-8", "vigil/zh-CN/digit-0",
                      "vigil/zh-CN/digit-1"]


async def test_storm_greeting_only_in_disaster_mode(server: IvrServer,
                                                    fakes: dict[str, Any]) -> None:
    calm = await call(server, ["2"], uniqueid="1.1")
    assert "storm-greeting" not in calm.prompts()
    fakes["alarms"].storm = True
    storm = await call(server, ["2"], uniqueid="1.2")
    assert storm.prompts().index("storm-greeting") < storm.prompts().index("main-menu")


async def test_after_hours_service_question_becomes_a_message(
        server: IvrServer, services: Services, fakes: dict[str, Any]) -> None:
    server.deps.settings.desk_weekdays = []  # the desk never opens
    got = await call(server, ["3"])
    assert got.prompts()[:2] == ["welcome", "main-menu"]  # the closed desk is told at option 3
    assert got.prompts()[2:4] == ["after-hours", "leave-message"]
    assert [a for a, _ in got.executed] == ["Record"]
    assert fakes["tickets"].made and (await logged(services, server=server)).outcome == "voicemail"


async def test_holiday_is_announced(server: IvrServer, services: Services) -> None:
    server.deps.settings.desk_holidays = [services.clock.now().date()]
    got = await call(server, ["3"])
    assert "holiday" in got.prompts() and "leave-message" in got.prompts()


async def test_operator_queue_gets_channel_variables_and_priority(
        server: IvrServer, services: Services) -> None:
    got = await call(server, ["1"])
    tagged = got.variables
    assert got.queue == "emergency" and not got.executed  # the dialplan runs Queue()
    assert tagged["VIGIL_ACCOUNT_ID"] == str(ACCOUNT.account_id)
    assert tagged["VIGIL_IVR_PATH"].split(">")[-2:] == ["emergency", "queue:emergency"]
    assert tagged["QUEUE_PRIO"] == "10"
    assert got.commands[-1] == 'SET VARIABLE VIGIL_QUEUE "emergency"'
    assert 'SET VARIABLE __VIGIL_ACCOUNT_ID "7"' in got.commands
    rec = await logged(services, server=server)
    assert rec.outcome == "queued" and rec.account_id == ACCOUNT.account_id


async def test_queue_announces_position_and_wait(server: IvrServer, fakes: dict[str, Any]) -> None:
    fakes["queue_stats"].figures["billing"] = QueueSnapshot(waiting=3, estimated_wait_s=50)
    got = await call(server, ["3"])
    p = got.prompts()
    # three ahead: fourth in line; 50 s rounds up to one minute
    assert p[p.index("queue-position"):] == ["queue-position", "digit-4", "queue-wait",
                                             "digit-1", "unit-minute", "queue-connecting"]
    assert got.queue == "billing" and got.variables["VIGIL_ACCOUNT_ID"] == "7"


async def test_long_wait_offers_callback_and_stores_request(
        server: IvrServer, services: Services, fakes: dict[str, Any]) -> None:
    fakes["queue_stats"].figures["billing"] = QueueSnapshot(waiting=9, estimated_wait_s=600)
    events = services.bus.subscribe("ivr.callback_requested")
    got = await call(server, ["3", "1"])
    assert "callback-offer" in got.prompts() and "callback-confirmed" in got.prompts()
    assert not got.executed and got.commands[-1] == "HANGUP"
    async with services.db.session() as s:
        req = (await s.execute(select(CallbackRequest))).scalar_one()
    assert (req.number, req.account_id, req.queue, req.status) == (
        KNOWN_CALLER, 7, "billing", "pending")
    assert (await events.get(within=1)).data["id"] == req.id
    assert (await logged(services, server=server)).outcome == "callback"


async def test_voicemail_becomes_ticket_with_recording(
        server: IvrServer, services: Services, fakes: dict[str, Any]) -> None:
    got = await call(server, ["0"])
    app, args = got.executed[0]
    assert app == "Record" and args == "vigil-voicemail/1795300126-58.wav,5,120,k"
    assert fakes["tickets"].made == [{"account_id": 7, "caller": KNOWN_CALLER, "language": "en",
                                      "recording": "vigil-voicemail/1795300126-58.wav"}]
    assert "message-saved" in got.prompts()


async def test_caller_hanging_up_during_recording_still_leaves_a_ticket(
        server: IvrServer, services: Services, fakes: dict[str, Any]) -> None:
    fa = FakeAsterisk(["0"])
    original = fa.reply

    def hang_up_on_record(cmd: str, s: Session) -> list[str]:
        if cmd.startswith("EXEC Record"):
            fa.dead = True
            return ["HANGUP", "200 result=-1"]
        return original(cmd, s)

    fa.reply = hang_up_on_record  # type: ignore[method-assign]
    await fa.run(server.bound_port)
    assert len(fakes["tickets"].made) == 1
    rec = await logged(services, server=server)
    assert rec.outcome == "voicemail" and "caller left at voicemail" in rec.detail


async def subscriber_keys(*after_pin: str | None) -> list[str | None]:
    return ["2", "2468#", *after_pin]


async def test_cancel_recent_alarm_with_passcode(server: IvrServer, services: Services,
                                                fakes: dict[str, Any]) -> None:
    alarms = fakes["alarms"]
    alarms.incidents[7] = {"id": 42, "status": "open", "opened_at": services.clock.now()}
    got = await call(server, await subscriber_keys("1", "1357#", HANG_UP))
    assert alarms.incidents[7]["status"] == "closed"
    assert alarms.incidents[7]["note"] == "cancelled by subscriber by phone, passcode verified"
    assert alarms.incidents[7]["by"] == ACCOUNT.contact_id
    assert "alarm-cancelled" in got.prompts() and not alarms.duress_calls
    rec = await logged(services, server=server)
    assert rec.outcome == "alarm_cancelled"
    assert "services>cancel-alarm>passcode" in rec.path


async def test_wrong_passcode_does_not_cancel(server: IvrServer, services: Services,
                                              fakes: dict[str, Any]) -> None:
    alarms = fakes["alarms"]
    alarms.incidents[7] = {"id": 42, "status": "open", "opened_at": services.clock.now()}
    got = await call(server, await subscriber_keys("1", "0000#", "0001#", "0002#"))
    assert alarms.incidents[7]["status"] == "open"
    assert got.prompts().count("passcode-wrong") == 3
    assert got.queue == "emergency"  # three wrong: an operator takes over


async def test_duress_sounds_the_same_but_escalates(server: IvrServer, services: Services,
                                                    fakes: dict[str, Any]) -> None:
    alarms = fakes["alarms"]
    alarms.incidents[7] = {"id": 42, "status": "open", "opened_at": services.clock.now()}
    bus = services.bus.subscribe("ivr.duress")
    genuine = await call(server, await subscriber_keys("1", "1357#", HANG_UP), uniqueid="2.1")
    alarms.incidents[7] = {"id": 43, "status": "open", "opened_at": services.clock.now()}
    forced = await call(server, await subscriber_keys("1", "7531#", HANG_UP), uniqueid="2.2")
    assert forced.commands == genuine.commands  # the caller hears exactly the same
    assert alarms.incidents[7]["status"] == "open"  # not cancelled...
    assert alarms.duress_calls[0]["incident"].incident_id == 43  # ...but escalated
    assert (await bus.get(within=1)).data["account_id"] == 7


async def test_no_recent_alarm_is_said(server: IvrServer) -> None:
    got = await call(server, await subscriber_keys("1", HANG_UP))
    assert "no-recent-alarm" in got.prompts() and "enter-passcode" not in got.prompts()


async def test_on_test_for_hours_stops_later_signals(server: IvrServer, services: Services,
                                                     fakes: dict[str, Any]) -> None:
    alarms = fakes["alarms"]
    got = await call(server, await subscriber_keys("2", "99#", "4#", HANG_UP))
    assert "invalid" in got.prompts()  # 99 hours is more than allowed
    p = got.prompts()
    assert p[p.index("on-test-confirmed"):][:3] == ["on-test-confirmed", "digit-4", "unit-hours"]
    assert alarms.on_test[7] == services.clock.now() + timedelta(hours=4)
    assert alarms.signal(7) is False
    services.clock.advance(5 * 3600)  # type: ignore[attr-defined]
    assert alarms.signal(7) is True
    assert (await logged(services, server=server)).outcome == "on_test"


async def test_last_three_events_and_armed_state(server: IvrServer, services: Services,
                                                 fakes: dict[str, Any]) -> None:
    now = services.clock.now()
    fakes["alarms"].events = [PastEvent("close", now - timedelta(minutes=5)),
                              PastEvent("alarm", now - timedelta(hours=1, minutes=10)),
                              PastEvent("open", now - timedelta(days=3)),
                              PastEvent("test", now)]
    got = await call(server, await subscriber_keys("3", HANG_UP))
    said = got.prompts()
    assert said[said.index("last-events") + 1:][:10] == [
        "event-close", "digit-5", "ago-minutes", "event-alarm", "digit-1", "ago-hour",
        "event-open", "digit-3", "ago-days", "state-armed"]


async def test_callback_request_from_services(server: IvrServer, services: Services) -> None:
    got = await call(server, await subscriber_keys("4"))
    assert "callback-confirmed" in got.prompts()
    async with services.db.session() as s:
        req = (await s.execute(select(CallbackRequest))).scalar_one()
    assert req.account_id == 7 and req.ivr_path.endswith("callback-request>callback")


async def test_account_number_identifies_unknown_caller(server: IvrServer) -> None:
    got = await call(server, ["9", "2", "5555#", "1234#", "2468#", "0"], caller=UNKNOWN_CALLER)
    assert "account-unknown" in got.prompts()
    assert got.queue == "emergency" and got.variables["VIGIL_ACCOUNT_ID"] == "7"


async def test_three_wrong_pins_lock_and_audit(server: IvrServer, services: Services) -> None:
    got = await call(server, ["2", "1111#", "2222#", "3333#"], uniqueid="3.1")
    assert got.prompts().count("pin-wrong") == 2 and "pin-locked" in got.prompts()
    assert got.commands[-1] == "HANGUP"
    assert (await logged(services, "3.1", server)).outcome == "locked"
    async with services.db.session() as s:
        entries = (await s.execute(select(AuditEntry).where(
            AuditEntry.action == "ivr_pin_lockout"))).scalars().all()
    assert [(e.entity, e.entity_id, e.actor) for e in entries] == [("account", "7", "system:ivr")]
    # Even the right PIN is refused while locked, from another call...
    again = await call(server, ["2", "2468#"], uniqueid="3.2")
    assert "enter-pin" not in again.prompts() and "pin-locked" in again.prompts()
    # ...until the lock runs out.
    services.clock.advance(31 * 60)  # type: ignore[attr-defined]
    later = await call(server, ["2", "2468#", HANG_UP], uniqueid="3.3")
    assert "services-menu" in later.prompts()


async def test_wrong_pins_count_across_calls_and_reset_on_success(
        server: IvrServer, services: Services) -> None:
    await call(server, ["2", "1111#", "2222#", HANG_UP], uniqueid="4.1")
    await call(server, ["2", "2468#", HANG_UP], uniqueid="4.2")  # right PIN: count reset
    got = await call(server, ["2", "1111#", "2222#", HANG_UP], uniqueid="4.3")
    assert "pin-locked" not in got.prompts()
    async with services.db.session() as s:
        locks = await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "ivr_pin_lockout"))
    assert locks == 0


async def test_caller_hangs_up_mid_menu(server: IvrServer, services: Services) -> None:
    got = await call(server, [HANG_UP])
    assert got.commands[-1].startswith("GET DATA vigil/en/main-menu")
    assert not got.hung_up_by_ivr  # nothing more was sent to the dead channel
    rec = await logged(services, server=server)
    assert (rec.outcome, rec.last_step) == ("hung_up", "main-menu")


async def test_silence_at_main_menu_reaches_an_operator_at_once(server: IvrServer,
                                                                services: Services) -> None:
    got = await call(server, [None])
    assert got.prompts() == ["welcome", "main-menu", "queue-connecting"]  # no retries
    assert got.queue == "emergency" and got.variables["QUEUE_PRIO"] == "10"
    assert (await logged(services, server=server)).path.endswith(
        "main-menu>no-input>queue:emergency")


async def test_wrong_keys_at_main_menu_retry_then_reach_an_operator(server: IvrServer) -> None:
    got = await call(server, ["7", "8", "5"])
    assert got.prompts().count("invalid") == 3 and got.prompts().count("main-menu") == 3
    assert got.queue == "emergency"
