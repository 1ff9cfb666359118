"""Option 2: subscriber self-service. Identify (caller ID or account number), PIN with lockout,
then cancel a recent alarm with the passcode, put the system on test, hear the last events (how
long ago each was) and the armed state, or ask for a callback."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from ivr import lockout
from ivr.flow import Call, Collect, Menu, number_between
from ivr.ports import IncidentRef, ServiceUnavailable, Subscriber
from ivr.queue_entry import request_callback, to_operator

log = logging.getLogger(__name__)

CANCEL_NOTE = "cancelled by subscriber by phone, passcode verified"
EVENT_PROMPTS = {"alarm", "open", "close", "trouble", "test", "other"}


async def unavailable(call: Call, what: str) -> None:
    """A part behind a service is down: say so and put the caller through to an operator."""
    call.notes.append(f"{what} unavailable")
    await call.say("service-unavailable")
    await to_operator(call)


async def duress(call: Call, incident: IncidentRef | None, contact_id: int | None) -> None:
    """Escalate silently: on the bus (``ivr.duress``) for every console, and to the alarm
    engine. Nothing here may change what the caller hears, so failures are only logged."""
    assert call.subscriber is not None
    account_id = call.subscriber.account_id
    call.notes.append("duress code given")
    await call.deps.bus.publish("ivr.duress", {
        "account_id": account_id, "contact_id": contact_id, "caller": call.caller,
        "uniqueid": call.channel.uniqueid,
        "incident_id": incident.incident_id if incident else None})
    try:
        await call.deps.alarms.escalate_duress(account_id, incident, contact_id, call.caller)
    except ServiceUnavailable:
        log.error("duress on account %s could not reach the alarm engine", account_id)


async def identify(call: Call) -> Subscriber | None:
    """The caller-ID match found by the main line (read back, so the caller knows which
    account the PIN is for), else the account number the caller keys."""
    if call.subscriber is not None:
        if call.subscriber.account_number.isdigit():
            await call.say("account-number-is")
            await call.say_digits(call.subscriber.account_number)
        return call.subscriber
    call.at("account-number")

    async def lookup(digits: str) -> Subscriber | None:
        return await call.deps.subscribers.by_account_number(digits)

    found = await Collect("enter-account", 12, invalid="account-unknown").run(call, lookup)
    if found is not None:
        call.subscriber = found
    return found


async def check_pin(call: Call, sub: Subscriber) -> bool:
    """Up to ``pin_max_failures`` tries; wrong PINs count across calls and lock the account and
    the calling line. A duress PIN opens the menu like the right one and escalates silently."""
    deps, settings = call.deps, call.deps.settings
    call.at("pin")
    keys = lockout.keys_for(sub.account_id, call.caller)
    async with deps.db.session() as session:
        until, failures = await lockout.status(session, keys, deps.clock.now())
    if until is not None:
        await locked_out(call)
        return False
    for _ in range(settings.pin_max_failures):
        digits, _ = await call.ask("enter-pin", 8)
        if not digits:
            await call.say("no-input")
            continue
        result = await deps.subscribers.verify_pin(sub, digits)
        if result != "invalid":
            if failures:
                async with deps.db.transaction() as session:
                    await lockout.clear(session, deps.clock, keys)
            if result == "duress":
                await duress(call, None, sub.contact_id)
            call.pin_ok = True
            return True
        async with deps.db.transaction() as session:
            locked = await lockout.record_failure(
                session, deps.clock, keys, settings.pin_max_failures,
                timedelta(minutes=settings.pin_lockout_minutes), sub.account_id, call.caller)
        if locked is not None:
            await locked_out(call)
            return False
        failures += 1
        await call.say("pin-wrong")
    call.finish("pin_failed")
    await call.say("goodbye")
    await call.channel.hangup()
    return False


async def locked_out(call: Call) -> None:
    call.at("pin-locked")
    call.finish("locked")
    await call.say("pin-locked")
    await call.channel.hangup()


async def cancel_alarm(call: Call) -> None:
    assert call.subscriber is not None
    sub, deps = call.subscriber, call.deps
    try:
        incident = await deps.alarms.recent_incident(sub.account_id)
    except ServiceUnavailable:
        await unavailable(call, "alarms")
        return
    if incident is None:
        await call.say("no-recent-alarm")
        return
    call.at("passcode")
    for _ in range(deps.settings.menu_attempts):
        digits, _ = await call.ask("enter-passcode", 12)
        if not digits:
            await call.say("no-input")
            continue
        result, contact = await deps.subscribers.verify_passcode(sub, digits)
        if result == "valid":
            await deps.alarms.cancel_by_subscriber(incident, contact, call.caller, CANCEL_NOTE)
        elif result == "duress":
            # The caller must hear exactly what a right passcode gives; only the log knows.
            await duress(call, incident, contact)
        else:
            await call.say("passcode-wrong")
            continue
        call.finish("alarm_cancelled", done=False)
        await call.say("alarm-cancelled")
        return
    await to_operator(call)


async def put_on_test(call: Call) -> None:
    assert call.subscriber is not None
    deps = call.deps
    hours = await Collect("enter-test-hours", 2).run(
        call, number_between(1, deps.settings.max_test_hours))
    if hours is None:
        return
    try:
        await deps.alarms.put_on_test(call.subscriber.account_id, hours, call.caller)
    except ServiceUnavailable:
        await unavailable(call, "alarms")
        return
    call.finish("on_test", done=False)
    call.notes.append(f"on test {hours} h")
    await call.say("on-test-confirmed")
    await call.say_quantity(hours, "unit-hours")


async def last_events(call: Call) -> None:
    assert call.subscriber is not None
    deps = call.deps
    try:
        events = await deps.alarms.last_events(call.subscriber.account_id, 3)
        state = await deps.alarms.armed_state(call.subscriber.account_id)
    except ServiceUnavailable:
        await unavailable(call, "alarms")
        return
    if not events:
        await call.say("no-events")
    else:
        await call.say("last-events")
        now = deps.clock.now()
        for event in events:
            kind = event.kind if event.kind in EVENT_PROMPTS else "other"
            at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
            await call.say(f"event-{kind}")
            await call.say_ago(now - at)
    await call.say(f"state-{state}")
    call.finish("events_heard", done=False)


async def callback(call: Call) -> None:
    await request_callback(call, call.deps.settings.emergency_queue)


async def back(call: Call) -> None:
    call.back = True


SERVICES_MENU = Menu(
    "services-menu",
    name="services",
    options={"1": cancel_alarm, "2": put_on_test, "3": last_events, "4": callback,
             "0": to_operator, "*": back},
    labels={"1": "cancel-alarm", "2": "on-test", "3": "last-events", "4": "callback-request",
            "0": "operator", "*": "back"},
)


async def subscriber_services(call: Call) -> None:
    sub = await identify(call)
    if sub is None:
        await to_operator(call)
        return
    if not call.pin_ok and not await check_pin(call, sub):
        return
    for _ in range(5):
        call.back = False
        before = len(call.path)
        await SERVICES_MENU.run(call)
        if call.done or call.back:
            return
        if call.path[before:] == ["services"]:  # silence at the menu: nothing more to do
            break
    call.finish(call.outcome or "services", done=True)
    await call.say("goodbye")
    await call.channel.hangup()
