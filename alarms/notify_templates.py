"""The texts an operator may send a subscriber's contact about an incident, in Chinese and
English. The operator picks a template; the words come from the incident, never from a free
text field, so the center's SMS line cannot be used to send anything else."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

TemplateName = Literal["alarm", "false_alarm", "dispatched", "closed"]
TEMPLATE_NAMES: Final = ("alarm", "false_alarm", "dispatched", "closed")

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "alarm": "【报警中心】您的账户{account}（{name}）于{time}发生{kind}，中心正在处理。"
                 "如系误报请致电中心。",
        "false_alarm": "【报警中心】您的账户{account}（{name}）{time}的{kind}已确认为误报，"
                       "事件已关闭。",
        "dispatched": "【报警中心】您的账户{account}（{name}）{time}的{kind}，中心已派出保安/"
                      "通知警方，请注意安全。",
        "closed": "【报警中心】您的账户{account}（{name}）{time}的{kind}已处理完毕。",
    },
    "en": {
        "alarm": "Alarm center: account {account} ({name}) reported {kind} at {time}; we are "
                 "handling it. If it is a false alarm, please call the center.",
        "false_alarm": "Alarm center: the {kind} of account {account} ({name}) at {time} was a "
                       "false alarm; the incident is closed.",
        "dispatched": "Alarm center: for the {kind} of account {account} ({name}) at {time} "
                      "a guard or the police is on the way. Please stay safe.",
        "closed": "Alarm center: the {kind} of account {account} ({name}) at {time} has been "
                  "dealt with.",
    },
}
_SUBJECTS: Final = {"zh-CN": "报警中心通知", "en": "Alarm center notice"}
_KINDS: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {"burglary": "入侵报警", "fire": "火警", "panic": "紧急求助", "duress": "胁迫报警",
              "medical": "医疗求助", "tamper": "防拆报警", "alarm_24h": "24小时防区报警",
              "ac_loss": "交流电断电", "trouble": "故障"},
    "en": {"burglary": "a burglary alarm", "fire": "a fire alarm", "panic": "a panic alarm",
           "duress": "a duress alarm", "medical": "a medical alarm", "tamper": "a tamper alarm",
           "alarm_24h": "a 24-hour zone alarm", "ac_loss": "an AC power loss",
           "trouble": "a trouble"},
}
_OTHER: Final = {"zh-CN": "报警事件", "en": "an alarm event"}


def render(template: str, language: str, incident: Any,
           timezone: str = "Asia/Shanghai") -> tuple[str, str]:
    """Subject and text of ``template`` for ``incident`` (ValueError for an unknown one)."""
    lang = language if language in _TEXTS else "zh-CN"
    if template not in _TEXTS[lang]:
        raise ValueError(f"template must be one of {', '.join(TEMPLATE_NAMES)}")
    when: datetime = incident.first_signal_at or incident.opened_at
    time = when.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M")
    kind = _KINDS[lang].get(str(incident.kind), _OTHER[lang])
    text = _TEXTS[lang][template].format(account=incident.account_number or "",
                                         name=one_line(incident.account_name or ""),
                                         time=time, kind=kind)
    return _SUBJECTS[lang], text


def one_line(text: str) -> str:
    """Control characters (CR, LF, ...) written as escapes: a log line stays one line and no
    stored value can add lines to a message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
