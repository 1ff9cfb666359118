"""Every prompt the IVR plays: one name, its text in zh-CN and en, and how long it lasts.

Asterisk finds a prompt as ``vigil/<language>/<name>`` under its sounds directory
(``asterisk-config/sounds/<language>/<name>.wav`` mounted at ``.../sounds/vigil``); ``make prompts``
renders them with espeak-ng (:mod:`ivr.render_prompts`). The durations are those of the espeak-ng
renderings (:mod:`ivr.prompt_seconds`, rewritten by ``render_prompts --update``) so pbxsim can
play a prompt for as long as Asterisk would; ``render_prompts --check`` reports any that drift.

Numbers, digits and times are our own prompts too (:mod:`ivr.spoken` strings them together):
Asterisk's ``SAY DIGITS`` picks ``digits/N`` by the channel language, and Asterisk ships no
Chinese sounds, so a zh-CN caller would hear English digits. A prompt with no text in one
language (``num-11`` is English only, ``num-10000`` Chinese only) is not rendered in it.

Menus are short and put the emergency first (the welcome says it within 5 s of the answer);
a caller who presses nothing reaches an operator (see :mod:`ivr.main_line`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.prompt_seconds import SECONDS

Lang = Literal["zh-CN", "en"]
LANGUAGES: tuple[Lang, ...] = ("zh-CN", "en")
SOUND_DIR = "vigil"

# The channel language Asterisk uses for its own sounds (music on hold, Record's beep); the
# IVR's own words, digits included, are all in this catalogue.
ASTERISK_LANGUAGE: dict[Lang, str] = {"zh-CN": "zh", "en": "en"}


def other_language(lang: Lang) -> Lang:
    return "en" if lang == "zh-CN" else "zh-CN"


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    zh: str | None
    en: str | None

    @property
    def languages(self) -> tuple[Lang, ...]:
        return tuple(lang for lang in LANGUAGES if self.text(lang) is not None)

    def text(self, lang: Lang) -> str | None:
        return self.zh if lang == "zh-CN" else self.en

    def seconds(self, lang: Lang) -> float | None:
        """The rendered duration, None when the prompt does not exist in ``lang``."""
        if self.text(lang) is None:
            return None
        return SECONDS.get(self.name, {}).get(lang)


_EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen")
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Digit strings (account numbers) read 1 as 幺, as Chinese phone services do; counts use 一.
_ZH_DIGITS = "零幺二三四五六七八九"

_NUMBERS: tuple[Prompt, ...] = (
    *(Prompt(f"digit-{d}", _ZH_DIGITS[d], _EN_DIGITS[d]) for d in range(10)),
    Prompt("num-1", "一", None),
    Prompt("num-2", "两", None),
    Prompt("num-10", "十", "ten"),
    *(Prompt(f"num-{10 + i}", None, _EN_TEENS[i]) for i in range(1, 10)),
    *(Prompt(f"num-{20 + 10 * i}", None, word) for i, word in enumerate(_EN_TENS)),
    Prompt("num-100", "百", "hundred"),
    Prompt("num-1000", "千", "thousand"),
    Prompt("num-10000", "万", None),
    Prompt("ago-minutes", "分钟前", "minutes ago"),
    Prompt("ago-minute", None, "minute ago"),
    Prompt("ago-hours", "小时前", "hours ago"),
    Prompt("ago-hour", None, "hour ago"),
    Prompt("ago-days", "天前", "days ago"),
    Prompt("ago-day", None, "day ago"),
    Prompt("unit-hours", "小时", "hours"),
    Prompt("unit-hour", None, "hour"),
    Prompt("unit-minutes", "分钟", "minutes"),
    Prompt("unit-minute", None, "minute"),
)

_CATALOGUE: tuple[Prompt, ...] = (
    # -- the first seconds of a call: the emergency option comes first
    Prompt("welcome", "守望报警中心，紧急求助请按1。",
           "Vigil alarm center. For an emergency, press 1."),
    # played in the *other* language: a zh-CN caller hears "For English, press 9" in English
    Prompt("switch-language", "中文服务请按9。", "For English, press 9."),
    Prompt("storm-greeting",
           "停电或恶劣天气，来电较多。电力恢复后，报警主机会自动上报。",
           "Many calls now, due to a power cut or bad weather. When power returns, your alarm "
           "system reports by itself."),
    Prompt("main-menu", "取消误报及自助服务请按2，缴费咨询按3，留言按0，或请稍候。",
           "To cancel a false alarm, or for self-service, press 2. Billing, 3. Message, 0. "
           "Or hold."),
    Prompt("blacklisted", "对不起，本号码无法使用本服务。再见。",
           "Sorry, calls from this number cannot be served. Goodbye."),
    Prompt("after-hours", "服务台已下班，请留言。紧急求助请按1。",
           "The service desk is closed. Please leave a message. For an emergency, press 1."),
    Prompt("holiday", "今天节假日，服务台休息，请留言。紧急求助请按1。",
           "The service desk is closed for the holiday. Please leave a message. For an "
           "emergency, press 1."),
    Prompt("invalid", "输入无效。", "That is not a valid choice."),
    Prompt("no-input", "没有收到您的输入。", "We did not get your input."),
    Prompt("goodbye", "感谢您的来电，再见。", "Thank you for calling. Goodbye."),
    # -- subscriber services
    Prompt("account-number-is", "您的用户编号是", "Your account number is"),
    Prompt("enter-account", "请输入用户编号，以井号键结束。",
           "Enter your account number, then the hash key."),
    Prompt("account-unknown", "没有找到这个用户编号。", "We could not find that account."),
    Prompt("enter-pin", "请输入服务密码，以井号键结束。", "Enter your PIN, then the hash key."),
    Prompt("pin-wrong", "密码不正确。", "That PIN is not correct."),
    Prompt("pin-locked", "密码错误次数过多，自助服务已暂时锁定，请稍后再拨。再见。",
           "Too many wrong PINs. Self-service is locked for a while. Please call again later. "
           "Goodbye."),
    Prompt("services-menu",
           "取消报警按1，测试按2，事件查询按3，回电按4，人工按0，返回按星号。",
           "Cancel an alarm, 1. Test mode, 2. Events, 3. Call back, 4. Operator, 0. Back, star."),
    Prompt("no-recent-alarm", "最近没有报警。", "There is no recent alarm on your account."),
    Prompt("enter-passcode", "请输入密码以取消报警，以井号键结束。",
           "To cancel the alarm, enter your passcode, then the hash key."),
    Prompt("passcode-wrong", "密码不正确。", "That passcode is not correct."),
    Prompt("alarm-cancelled", "报警已取消，谢谢。", "Your alarm is cancelled. Thank you."),
    Prompt("enter-test-hours", "请输入测试小时数，1到72，以井号键结束。",
           "Enter the test time in hours, 1 to 72, then the hash key."),
    Prompt("on-test-confirmed", "系统已设为测试状态，时长", "Your system is on test for"),
    Prompt("last-events", "最近事件：", "Your last events:"),
    Prompt("no-events", "最近没有事件。", "There are no recent events."),
    Prompt("event-alarm", "报警", "Alarm"),
    Prompt("event-open", "撤防", "Disarmed"),
    Prompt("event-close", "布防", "Armed"),
    Prompt("event-trouble", "故障", "Trouble"),
    Prompt("event-test", "测试报告", "Test report"),
    Prompt("event-other", "其他事件", "Other event"),
    Prompt("state-armed", "系统当前为布防状态。", "Your system is armed now."),
    Prompt("state-disarmed", "系统当前为撤防状态。", "Your system is disarmed now."),
    Prompt("state-unknown", "暂时无法确定系统的布撤防状态。",
           "We cannot tell whether your system is armed right now."),
    # -- queues, callbacks and messages
    Prompt("callback-offer", "如不想等待，按1预约回电；继续等待请不要挂机。",
           "To be called back instead of waiting, press 1. To keep waiting, stay on the line."),
    Prompt("callback-confirmed", "已为您预约回电，接警员空闲时会尽快回电。",
           "We will call you back as soon as an operator is free."),
    Prompt("queue-position", "您的排队序号是", "Your place in the queue is"),
    Prompt("queue-wait", "预计等待", "Expected wait:"),
    Prompt("queue-connecting", "正在为您转接。", "Connecting you now."),
    Prompt("leave-message", "请在提示音后留言，说完后挂机或按井号键。",
           "Please leave your message after the tone. Hang up or press the hash key when you "
           "are done."),
    Prompt("message-saved", "您的留言已保存，谢谢。", "Your message has been recorded. Thank you."),
    Prompt("service-unavailable", "该服务暂时无法使用，正在为您转接接警员。",
           "This service is not available at the moment. We are putting you through to an "
           "operator."),
    *_NUMBERS,
)

CATALOGUE: dict[str, Prompt] = {p.name: p for p in _CATALOGUE}


def prompt(name: str) -> Prompt:
    """The prompt called ``name``; an unknown name is a bug in a flow, caught by the tests."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"no prompt named {name!r} in ivr.prompts") from None


def sound_file(name: str, lang: Lang) -> str:
    """The file name Asterisk is asked to play (relative to its sounds directory)."""
    if prompt(name).text(lang) is None:
        raise KeyError(f"prompt {name!r} has no {lang} version")
    return f"{SOUND_DIR}/{lang}/{name}"


def played_seconds(sound: str) -> float | None:
    """How long Asterisk plays ``sound`` (as the IVR names it, ``vigil/<lang>/<prompt>``): the
    catalogue's rendered duration; a digit of Asterisk's own 0.6 s; any other sound 1 s; None
    for a prompt that does not exist (Asterisk answers ``result=-1``). pbxsim plays prompts for
    these durations, so the demo and tests take real time."""
    parts = sound.split("/")
    if len(parts) == 3 and parts[0] == SOUND_DIR:
        lang = parts[1]
        if lang not in LANGUAGES or parts[2] not in CATALOGUE:
            return None
        return CATALOGUE[parts[2]].seconds(lang)  # type: ignore[arg-type]
    if sound.startswith("digits/"):
        return 0.6
    return 1.0
