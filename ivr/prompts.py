"""Every prompt the IVR plays: one name, its text in zh-CN and en, and how long it lasts.

Asterisk finds a prompt as ``vigil/<language>/<name>`` under its sounds directory
(``asterisk-config/sounds/<language>/<name>.wav`` mounted at ``.../sounds/vigil``); ``make prompts``
renders them with espeak-ng (:mod:`ivr.render_prompts`). The durations are those of the espeak-ng
renderings (rounded to 0.1 s) so pbxsim can play a prompt for as long as Asterisk would;
``render_prompts --check`` reports any that drift after a text change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh-CN", "en"]
LANGUAGES: tuple[Lang, ...] = ("zh-CN", "en")
SOUND_DIR = "vigil"

# The channel language Asterisk uses for its own SAY DIGITS / SAY NUMBER sounds.
ASTERISK_LANGUAGE: dict[Lang, str] = {"zh-CN": "zh", "en": "en"}


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    zh: str
    en: str
    zh_seconds: float
    en_seconds: float

    def text(self, lang: Lang) -> str:
        return self.zh if lang == "zh-CN" else self.en

    def seconds(self, lang: Lang) -> float:
        return self.zh_seconds if lang == "zh-CN" else self.en_seconds


_CATALOGUE: tuple[Prompt, ...] = (
    Prompt("choose-language", "中文服务请按1。For English, press 2.",
           "中文服务请按1。For English, press 2.", 3.0, 7.0),
    Prompt("welcome", "您好，欢迎致电守望报警监控中心。",
           "Welcome to the Vigil alarm monitoring center.", 4.4, 2.9),
    Prompt("blacklisted", "对不起，本号码无法使用本服务。再见。",
           "Sorry, calls from this number cannot be served. Goodbye.", 4.3, 4.2),
    Prompt("storm-greeting",
           "由于恶劣天气或停电，目前来电较多。如果您是因为停电来电，电力恢复后您的报警主机会自动上报，"
           "无需等待人工服务。",
           "We are receiving many calls because of severe weather or a power cut. If you are "
           "calling about a power cut, your alarm system will report by itself when power "
           "returns, and you do not need to wait for an operator.", 14.4, 12.6),
    Prompt("after-hours", "服务台现在已下班。紧急情况仍可转接值班接警员。",
           "Our service desk is closed now. Operators are still on duty for emergencies.",
           6.4, 5.3),
    Prompt("holiday", "今天是节假日，服务台休息。紧急情况仍可转接值班接警员。",
           "Today is a public holiday and our service desk is closed. Operators are still on "
           "duty for emergencies.", 7.2, 6.8),
    Prompt("welcome-account", "您好，我们识别到您的用户编号是",
           "Welcome back. We recognised your account number", 3.9, 3.5),
    Prompt("main-menu",
           "用户自助服务请按1；报警或转接线员请按2；缴费及业务咨询请按3；留言请按0。",
           "For subscriber services, press 1. To report an emergency or talk to an operator, "
           "press 2. For billing and service questions, press 3. To leave a message, press 0.",
           9.8, 12.5),
    Prompt("invalid", "对不起，您的输入无效。", "Sorry, that is not a valid choice.", 2.8, 2.4),
    Prompt("no-input", "对不起，我们没有收到您的输入。", "Sorry, we did not receive your input.",
           3.6, 2.5),
    Prompt("goodbye", "感谢您的来电，再见。", "Thank you for calling. Goodbye.", 2.8, 2.5),
    Prompt("enter-account", "请输入您的用户编号，以井号键结束。",
           "Please enter your account number, followed by the hash key.", 4.7, 3.8),
    Prompt("account-unknown", "对不起，没有找到这个用户编号。",
           "Sorry, we could not find that account.", 3.8, 2.7),
    Prompt("enter-pin", "请输入您的服务密码，以井号键结束。",
           "Please enter your PIN, followed by the hash key.", 4.5, 3.3),
    Prompt("pin-wrong", "密码不正确。", "That PIN is not correct.", 1.5, 2.0),
    Prompt("pin-locked", "密码错误次数过多，本用户的自助服务已暂时锁定，请稍后再拨。再见。",
           "Too many wrong PINs. Self-service for this account is locked for a while. Please "
           "call again later. Goodbye.", 7.9, 7.8),
    Prompt("services-menu",
           "取消刚才的报警请按1；设置测试状态请按2；收听最近事件和当前布撤防状态请按3；预约回电请按4；"
           "转接线员请按0；返回主菜单请按星号键。",
           "To cancel a recent alarm, press 1. To put your system on test, press 2. To hear your "
           "last events and the current state, press 3. To request a callback, press 4. To talk "
           "to an operator, press 0. To go back to the main menu, press star.", 18.0, 18.1),
    Prompt("no-recent-alarm", "您的用户最近没有报警。", "There is no recent alarm on your account.",
           2.9, 2.5),
    Prompt("enter-passcode", "取消报警需要验证，请输入您的密码，以井号键结束。",
           "To cancel the alarm, please enter your passcode, followed by the hash key.", 6.8, 4.8),
    Prompt("passcode-wrong", "密码不正确。", "That passcode is not correct.", 1.5, 2.1),
    Prompt("alarm-cancelled", "您的报警已经取消，谢谢。",
           "Your alarm has been cancelled. Thank you.", 3.4, 3.1),
    Prompt("enter-test-hours", "请输入测试的小时数，1到72，以井号键结束。",
           "Enter the number of hours to put your system on test, from 1 to 72, followed by the "
           "hash key.", 5.6, 6.6),
    Prompt("on-test-confirmed", "您的系统已设置为测试状态，小时数为",
           "Your system is now on test. Number of hours:", 4.4, 3.2),
    Prompt("last-events", "您最近的事件是：", "Your last events are:", 2.1, 1.5),
    Prompt("no-events", "最近没有事件。", "There are no recent events.", 1.9, 2.0),
    Prompt("event-alarm", "报警", "Alarm", 0.8, 0.9),
    Prompt("event-open", "撤防", "Disarmed", 0.8, 1.0),
    Prompt("event-close", "布防", "Armed", 0.8, 0.8),
    Prompt("event-trouble", "故障", "Trouble", 0.7, 0.9),
    Prompt("event-test", "测试报告", "Test report", 1.2, 1.2),
    Prompt("event-other", "其他事件", "Other event", 1.3, 1.2),
    Prompt("state-armed", "您的系统当前处于布防状态。", "Your system is armed now.", 3.6, 1.8),
    Prompt("state-disarmed", "您的系统当前处于撤防状态。", "Your system is disarmed now.",
           3.6, 2.0),
    Prompt("state-unknown", "暂时无法确定您系统的布撤防状态。",
           "We cannot tell whether your system is armed right now.", 4.2, 3.4),
    Prompt("callback-offer", "如不想等待，按1预约回电；继续等待请不要挂机。",
           "To be called back instead of waiting, press 1. To keep waiting, stay on the line.",
           5.9, 6.1),
    Prompt("callback-confirmed", "已为您预约回电，线员空闲时会尽快给您回电。",
           "We will call you back as soon as an operator is free.", 5.6, 3.2),
    Prompt("queue-position", "您的排队序号是", "Your position in the queue is", 2.2, 1.7),
    Prompt("queue-wait", "预计等待分钟数", "Estimated wait in minutes:", 1.9, 1.8),
    Prompt("queue-connecting", "请稍候，正在为您转接线员。",
           "Please hold while we connect you to an operator.", 3.3, 3.0),
    Prompt("leave-message", "请在提示音后留言，说完后挂机或按井号键。",
           "Please leave your message after the tone. Hang up or press the hash key when you are "
           "done.", 5.2, 5.4),
    Prompt("message-saved", "您的留言已保存，谢谢。", "Your message has been recorded. Thank you.",
           2.9, 3.2),
    Prompt("service-unavailable", "该服务暂时无法使用，正在为您转接线员。",
           "This service is not available at the moment. We are putting you through to an "
           "operator.", 4.5, 4.8),
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
    prompt(name)
    return f"{SOUND_DIR}/{lang}/{name}"


def played_seconds(sound: str) -> float | None:
    """How long Asterisk plays ``sound`` (as the IVR names it, ``vigil/<lang>/<prompt>``): the
    catalogue's rendered duration; a digit 0.6 s; any other sound 1 s; None for an unknown
    prompt. pbxsim plays prompts for these durations, so the demo and tests take real time."""
    parts = sound.split("/")
    if len(parts) == 3 and parts[0] == SOUND_DIR:
        try:
            return prompt(parts[2]).seconds(parts[1])  # type: ignore[arg-type]
        except KeyError:
            return None
    if sound.startswith("digits/"):
        return 0.6
    return 1.0
