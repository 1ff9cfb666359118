"""Keys accepted from the first prompt, and how long a caller waits, on pbxsim's virtual clock
with every prompt lasting as long as its espeak-ng rendering (as in the demo and on Asterisk).

pbxsim's FastAGI client ends a prompt played with escape digits at the first such key and
returns it (``200 result=50 endpos=...``), and loses a key pressed during a prompt without
them, as Asterisk does (tests/pbxsim/test_fastagi.py), so these tests fail for an IVR that
plays its prompts without escape digits.
"""

from __future__ import annotations

import pytest

from crm import records
from ivr import prompts
from tests.ivr.pbx_rig import HANG_UP, Caller
from tests.ivr.pbx_world import ADMIN, PASSCODE, STRANGER, SUBSCRIBER, World

EMERGENCY_WITHIN_S = 5.0
NO_INPUT_FALLBACK_WITHIN_S = 20.0


def joined_queue(caller: Caller) -> tuple[str, float]:
    [join] = caller.named("QueueCallerJoin")
    return str(join.get("Queue")), caller.first_time("QueueCallerJoin") - caller.answered_at


async def test_a_2_pressed_during_the_welcome_is_taken(world: World) -> None:
    caller = world.pbx.call(SUBSCRIBER, [PASSCODE + "#", HANG_UP], during={"welcome": "2"})
    await world.pbx.run()
    p = caller.prompts()
    assert "main-menu" not in p  # the key chose; the menu was never played
    assert p[:2] == ["welcome", "account-number-is"] and "services-menu" in p
    cut = caller.prompt_end("welcome") - caller.answered_at
    assert cut < prompts.CATALOGUE["welcome"].seconds("en")  # type: ignore[operator]
    rec = await world.session_of(caller)
    assert rec.path.startswith("answer>caller-id-match>main-menu>services>pin>services")


async def test_a_1_pressed_during_the_welcome_queues_for_an_operator_at_once(
        world: World) -> None:
    caller = world.pbx.call(STRANGER, during={"welcome": "1"})
    await world.pbx.advance(30)
    queue, after = joined_queue(caller)
    assert queue == "emergency" and after < EMERGENCY_WITHIN_S
    assert caller.prompts() == ["welcome", "queue-connecting"]
    assert caller.var_sets()["QUEUE_PRIO"] == "10"


async def test_9_during_the_english_offer_switches_to_english(world: World) -> None:
    caller = world.pbx.call(STRANGER, [None], during={"switch-language": "9"})
    await world.pbx.advance(40)
    assert caller.played()[:4] == ["vigil/zh-CN/welcome", "vigil/en/switch-language",
                                   "vigil/en/welcome", "vigil/en/main-menu"]
    assert caller.var_sets()["CHANNEL(language)"] == "en"


async def test_a_1_during_the_closed_desk_notice_reaches_an_operator(world: World) -> None:
    world.server.deps.settings.desk_weekdays = []  # the service desk never opens
    caller = world.pbx.call(SUBSCRIBER, ["3"], during={"after-hours": "1"})
    await world.pbx.advance(40)
    p = caller.prompts()
    assert p[-2:] == ["after-hours", "queue-connecting"] and "leave-message" not in p
    assert joined_queue(caller)[0] == "emergency"
    rec = await world.session_of(caller)
    assert rec.path.endswith("service-desk>desk-closed>emergency>queue:emergency")


async def test_a_key_during_the_account_read_back_starts_the_pin(world: World) -> None:
    caller = world.pbx.call(SUBSCRIBER, ["2", PASSCODE[1:] + "#", HANG_UP],
                            during={"account-number-is": PASSCODE[0]})
    await world.pbx.run()
    p = caller.prompts()
    assert "enter-pin" not in p and "digit-8" not in p  # cut short: the caller is keying
    assert 'GET DATA "" 5000 7' in caller.commands  # the rest of the PIN, without a prompt
    assert "services-menu" in p and "pin-wrong" not in p  # the PIN was the whole passcode


async def test_zh_subscriber_hears_the_account_number_with_chinese_digits(world: World) -> None:
    async with world.services.db.transaction() as s:
        acc = await records.create_account(s, world.clock, ADMIN, number="2017",
                                           name="王记茶庄", language="zh-CN")
        await records.create_contact(s, world.clock, ADMIN, account_id=acc.id, name="王芳",
                                     passcode="8642", phones=[{"number": "139 0000 0077"}])
    caller = world.pbx.call("+8613900000077", ["2", HANG_UP])
    await world.pbx.run()
    played = caller.played()
    start = played.index("vigil/zh-CN/account-number-is") + 1
    assert played[start:start + 4] == ["vigil/zh-CN/digit-2", "vigil/zh-CN/digit-0",
                                       "vigil/zh-CN/digit-1", "vigil/zh-CN/digit-7"]
    assert prompts.CATALOGUE["digit-1"].zh == "幺"
    assert not any(c.startswith("SAY DIGITS") for c in caller.commands)


@pytest.mark.parametrize("who, default", [
    ("subscriber-en", "zh-CN"), ("stranger", "zh-CN"), ("stranger", "en")])
async def test_emergency_option_within_5_s_and_silence_reaches_it_within_20_s(
        world: World, who: str, default: prompts.Lang) -> None:
    world.server.deps.settings.default_language = default
    caller = world.pbx.call(SUBSCRIBER if who.startswith("subscriber") else STRANGER, [None])
    await world.pbx.advance(40)
    assert caller.prompt_end("welcome") - caller.answered_at < EMERGENCY_WITHIN_S
    queue, after = joined_queue(caller)
    assert queue == "emergency" and after < NO_INPUT_FALLBACK_WITHIN_S, after
    assert "no-input" not in caller.prompts() and "invalid" not in caller.prompts()
