"""The center's main number: blacklist, language, greetings, then the main menu.

    answer -> blacklisted? short message, hang up
           -> caller ID known? greet in the account's language, else 1 中文 / 2 English
           -> storm greeting (disaster mode), desk closed (after hours / holiday)
           -> 1 subscriber services, 2 operator (highest priority), 3 service desk, 0 message
"""

from __future__ import annotations

import logging

from ivr import blacklist, prompts
from ivr.config import desk_status
from ivr.flow import Call, Menu
from ivr.ports import ServiceUnavailable
from ivr.queue_entry import to_operator, to_service_desk
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


async def main_line(call: Call) -> None:
    deps = call.deps
    call.at("answer")
    await call.channel.answer()
    if call.caller:
        async with deps.db.session() as session:
            refused = await blacklist.is_blacklisted(session, call.caller, deps.region)
        if refused:
            await refuse(call)
            return
        owners = await deps.subscribers.by_caller_id(call.caller)
        if len({o.account_id for o in owners}) == 1:
            call.subscriber = owners[0]
            call.at("caller-id-match")
    sub = call.subscriber
    if sub is not None and sub.language in prompts.LANGUAGES:
        await call.set_language("en" if sub.language == "en" else "zh-CN")
    else:
        await LANGUAGE_MENU.run(call)
    await call.say("welcome")
    if await disaster_mode(call):
        call.at("storm-greeting")
        await call.say("storm-greeting")
    status = desk_status(deps.settings, deps.clock.now())
    if status != "open":
        await call.say("holiday" if status == "holiday" else "after-hours")
    if sub is not None and sub.account_number.isdigit():
        await call.say("welcome-account")
        await call.channel.say_digits(sub.account_number)
    for _ in range(5):
        call.back = False
        await MAIN_MENU.run(call)
        if call.done or not call.back:
            break
    if not call.done:
        call.finish(call.outcome or "completed")
        await call.say("goodbye")
        await call.channel.hangup()
