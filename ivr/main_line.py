"""The center's main number: blacklist, language, greetings, then the main menu.

    answer -> blacklisted? short message, hang up
           -> caller ID known? greet in the account's language, else 1 中文 / 2 English
           -> storm greeting (disaster mode), desk closed (after hours / holiday)
           -> 1 subscriber services, 2 operator (highest priority), 3 service desk, 0 message
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


async def chinese(call: Call) -> None:
    await call.set_language("zh-CN")


async def english(call: Call) -> None:
    await call.set_language("en")


async def default_language(call: Call) -> None:
    await call.set_language(call.deps.settings.default_language)


LANGUAGE_MENU = Menu("choose-language", name="language", options={"1": chinese, "2": english},
                     labels={"1": "zh-CN", "2": "en"}, fallback=default_language, attempts=2)


async def service_desk(call: Call) -> None:
    """Option 3: the service desk queue in office hours, a message otherwise."""
    status = desk_status(call.deps.settings, call.deps.clock.now())
    if status == "open":
        await to_service_desk(call)
        return
    call.at("desk-closed")
    await call.say("holiday" if status == "holiday" else "after-hours")
    await voicemail(call)


MAIN_MENU = Menu(
    "main-menu",
    name="main-menu",
    options={"1": subscriber_services, "2": to_operator, "3": service_desk, "0": voicemail},
    labels={"1": "services", "2": "operator", "3": "service-desk", "0": "message"},
    fallback=to_operator,
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
    caller, settle the language. False when the call is over (blacklisted)."""
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
    sub = call.subscriber
    if sub is not None and sub.language in prompts.LANGUAGES:
        await call.set_language("en" if sub.language == "en" else "zh-CN")
    else:
        await LANGUAGE_MENU.run(call)
    return True


async def main_line(call: Call) -> None:
    """``agi://…/ivr``: the center's number."""
    deps = call.deps
    if not await greet(call):
        return
    await call.say("welcome")
    if await disaster_mode(call):
        call.at("storm-greeting")
        await call.say("storm-greeting")
    status = desk_status(deps.settings, deps.clock.now())
    if status != "open":
        await call.say("holiday" if status == "holiday" else "after-hours")
    sub = call.subscriber
    if sub is not None and sub.account_number.isdigit():
        await call.say("welcome-account")
        await call.channel.say_digits(sub.account_number)
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
    if await disaster_mode(call):
        call.at("storm-greeting")
        await call.say("storm-greeting")
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
