"""The center's main number: blacklist, language, the emergency option first, then a short menu.

    answer -> blacklisted? short message, hang up
           -> caller ID known? the account's language, else the default one
           -> "Vigil alarm center. For an emergency, press 1."       (within 5 s of the answer)
           -> storm greeting (disaster mode)
           -> "For English, press 9." in English (callers whose language is not known)
           -> 2 self-service, 3 billing (a message after hours), 0 message, or hold
           -> 1 or nothing pressed: the emergency queue at the highest priority

Every prompt takes keys (see :mod:`ivr.flow`), so a "1" or "2" pressed during the welcome is the
caller's choice; a caller who presses nothing is in the emergency queue about 18 s after the
answer (the prompts' rendered lengths, ``tests/ivr/test_timing.py``).
"""

from __future__ import annotations

import logging

from ivr import prompts
from ivr.config import desk_status
from ivr.flow import Call, Menu
from ivr.ports import ServiceUnavailable
from ivr.queue_entry import VAR_ACCOUNT_ID, to_operator, to_service_desk
from ivr.subscriber_services import subscriber_services
from ivr.voicemail import voicemail

log = logging.getLogger(__name__)

EMERGENCY_KEY = "1"
LANGUAGE_KEY = "9"


async def service_desk(call: Call) -> None:
    """Option 3: the service desk queue in office hours, else a message -- or, on "1" during
    the closed-desk notice, an operator."""
    status = desk_status(call.deps.settings, call.deps.clock.now())
    if status == "open":
        await to_service_desk(call)
        return
    call.at("desk-closed")
    await call.say("holiday" if status == "holiday" else "after-hours")
    if call.take_typed() == EMERGENCY_KEY:
        call.at("emergency")
        await to_operator(call)
        return
    await voicemail(call)


async def switch_language(call: Call) -> None:
    """Option 9: the other language, from the welcome on (its emergency option included)."""
    await call.set_language(prompts.other_language(call.lang))
    call.at(call.lang)
    await call.say("welcome")
    call.back = True


MAIN_MENU = Menu(
    "main-menu",
    name="main-menu",
    options={EMERGENCY_KEY: to_operator, "2": subscriber_services, "3": service_desk,
             "0": voicemail, LANGUAGE_KEY: switch_language},
    labels={EMERGENCY_KEY: "emergency", "2": "services", "3": "service-desk", "0": "message",
            LANGUAGE_KEY: "language"},
    fallback=to_operator,
    on_silence=to_operator,
)


async def refuse(call: Call) -> None:
    """A blacklisted number: the short message in both languages, then hang up."""
    call.at("blacklisted")
    call.finish("blacklisted")
    for lang in prompts.LANGUAGES:
        await call.channel.stream_file(prompts.sound_file("blacklisted", lang))
    await call.channel.hangup()


async def disaster_mode(call: Call) -> bool:
    try:
        return await call.deps.alarms.disaster_mode()
    except ServiceUnavailable:
        log.warning("disaster mode unknown (alarms unavailable); no storm greeting")
        return False


async def greet(call: Call) -> bool:
    """What every entry point does first: answer, refuse a blacklisted number, recognise the
    caller, settle the language (the account's, else the default one; the caller may switch).
    False when the call is over (blacklisted)."""
    deps = call.deps
    call.at("answer")
    await call.channel.answer()
    if call.caller:
        if await deps.blacklist.contains(deps.db, deps.clock, call.caller, deps.region):
            await refuse(call)
            return False
        owners = await deps.subscribers.by_caller_id(call.caller)
        if len({o.account_id for o in owners}) == 1:
            call.subscriber = owners[0]
            call.at("caller-id-match")
    await call.set_language(known_language(call) or deps.settings.default_language)
    return True


def known_language(call: Call) -> prompts.Lang | None:
    sub = call.subscriber
    if sub is None or sub.language not in prompts.LANGUAGES:
        return None
    return "en" if sub.language == "en" else "zh-CN"


async def storm_greeting(call: Call) -> None:
    if not call.typed and await disaster_mode(call):
        call.at("storm-greeting")
        await call.say("storm-greeting")


async def main_line(call: Call) -> None:
    """``agi://…/ivr``: the center's number."""
    if not await greet(call):
        return
    await call.say("welcome")
    await storm_greeting(call)
    if known_language(call) is None:
        await call.say("switch-language", lang=prompts.other_language(call.lang))
    for _ in range(5):
        call.back = False
        await MAIN_MENU.run(call)
        if call.done or not call.back:
            break
    await end_call(call)


async def end_call(call: Call) -> None:
    """A flow that reached neither a queue nor a hang-up says goodbye and hangs up."""
    if not call.done:
        call.finish(call.outcome or "completed")
        await call.say("goodbye")
        await call.channel.hangup()


async def subscriber_line(call: Call) -> None:
    """``agi://…/ivr/subscriber``: straight to subscriber services (the direct line)."""
    if not await greet(call):
        return
    await storm_greeting(call)
    await subscriber_services(call)
    await end_call(call)


async def message_line(call: Call) -> None:
    """``agi://…/ivr/message``: the dialplan sends callers here after a long wait in billing;
    the channel still carries the account and the language the IVR gave it earlier."""
    call.at("answer")
    await call.channel.answer()
    account = await call.channel.get_variable(VAR_ACCOUNT_ID)
    if account and account.isdigit():
        call.known_account = int(account)
    language = await call.channel.get_variable("CHANNEL(language)")
    for lang, code in prompts.ASTERISK_LANGUAGE.items():
        if language == code:
            call.lang = lang
    await voicemail(call)
