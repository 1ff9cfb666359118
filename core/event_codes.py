"""The event-code table: Contact ID (SIA DC-05) and SIA DC-03 codes, each with its class,
priority, the alarm engine's kind and the desk that kind goes to. One table for the whole
system: a signal is classified once, by the receiver that decodes it, and carries the answer
(:class:`Classification`) on the bus; the alarm engine reads it from the signal.

Both event languages end up as the same classes so that the alarm engine and the console never
need to know which protocol a panel spoke. Priority 1 is the most urgent. The kind is the
engine's finer word for what happened (fire is not burglary, a cancel is not an opening, AC
loss is what a storm produces): action plans and disaster rules match it. A code's class is
its kind's class; ``other`` is the kind of a code that neither raises an incident nor means
anything particular to the engine. Names are our own wording (English and zh-CN) for the
console.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

EventClass = Literal["alarm", "trouble", "open_close", "test", "restore", "supervisory", "other"]
Qualifier = Literal["new", "restore", "status"]
Concerns = Literal["zone", "user", "none"]
Desk = Literal["operator", "technical", "admin"]
Arming = Literal["open", "close"]

EVENT_CLASSES: Final = ("alarm", "trouble", "open_close", "test", "restore", "supervisory", "other")
# The classes whose signals raise an incident; the rest are logged on the account (and may
# still feed rules: tests feed supervision, openings and closings feed schedules).
INCIDENT_CLASSES: Final = frozenset({"alarm", "trouble", "supervisory"})

# Priorities: lower number = more urgent.
PRIORITY_LIFE_SAFETY: Final = 1  # fire, panic, duress, medical, hold-up, gas, CO
PRIORITY_BURGLARY: Final = 2  # intrusion, tamper alarms, other 24-hour alarms
PRIORITY_TROUBLE: Final = 3
PRIORITY_SUPERVISORY: Final = 4
PRIORITY_OPEN_CLOSE: Final = 5  # also bypass / disable
PRIORITY_TEST: Final = 6  # also restores
PRIORITY_OTHER: Final = 7
PRIORITY_RESTORE: Final = PRIORITY_TEST


@dataclass(frozen=True, slots=True)
class KindInfo:
    """A kind's class, the priority of an incident the engine makes of it, and its desk."""

    event_class: str
    priority: int
    desk: Desk


KINDS: Final[dict[str, KindInfo]] = {
    "duress": KindInfo("alarm", 1, "operator"),
    "fire": KindInfo("alarm", 1, "operator"),
    "panic": KindInfo("alarm", 1, "operator"),
    "medical": KindInfo("alarm", 1, "operator"),
    "burglary": KindInfo("alarm", 2, "operator"),
    "tamper": KindInfo("alarm", 2, "operator"),
    "alarm_24h": KindInfo("alarm", 2, "operator"),
    "ac_loss": KindInfo("trouble", 3, "operator"),
    "low_battery": KindInfo("trouble", 3, "technical"),
    "trouble": KindInfo("trouble", 3, "operator"),
    "comm_trouble": KindInfo("trouble", 3, "technical"),
    "supervisory": KindInfo("supervisory", 4, "operator"),
    "fail_to_test": KindInfo("supervisory", 4, "technical"),
    "runaway": KindInfo("supervisory", 4, "technical"),
    "unknown_account": KindInfo("supervisory", 4, "admin"),
    "fail_to_open": KindInfo("open_close", 4, "operator"),
    "fail_to_close": KindInfo("open_close", 4, "operator"),
    "early_open": KindInfo("open_close", 4, "operator"),
    "unscheduled_open": KindInfo("open_close", 4, "operator"),
    "unscheduled_close": KindInfo("open_close", 5, "operator"),
    "panel_open_close_exception": KindInfo("open_close", 4, "operator"),
    "opening": KindInfo("open_close", 5, "operator"),
    "closing": KindInfo("open_close", 5, "operator"),
    "cancel": KindInfo("open_close", 5, "operator"),
    "bypass": KindInfo("other", 5, "operator"),
    "test": KindInfo("test", 6, "operator"),
    "other": KindInfo("other", 7, "operator"),
}
# Never held, lowered or only logged in disaster mode, never stopped by the runaway limit.
LIFE_SAFETY: Final = frozenset({"duress", "fire", "panic", "medical"})


@dataclass(frozen=True, slots=True)
class EventCode:
    """One entry of an event table."""

    code: str
    en: str
    zh: str
    event_class: EventClass
    concerns: Concerns
    priority: int
    restore: bool = False  # SIA only: the code itself is a restoral
    arming: Arming | None = None  # SIA only: opening / closing report
    kind: str = "other"  # the engine's kind (opening/closing of Contact ID: by the qualifier)


def _cid(code: int, en: str, zh: str, cls: EventClass, concerns: Concerns, prio: int) -> EventCode:
    return EventCode(f"{code:03d}", en, zh, cls, concerns, prio)


_A: Final = "alarm"
_T: Final = "trouble"
_OC: Final = "open_close"
_TS: Final = "test"
_S: Final = "supervisory"
_O: Final = "other"
_Z: Final = "zone"
_U: Final = "user"
_N: Final = "none"
_L, _B, _TR, _SV, _OCP, _TP, _OT = (
    PRIORITY_LIFE_SAFETY,
    PRIORITY_BURGLARY,
    PRIORITY_TROUBLE,
    PRIORITY_SUPERVISORY,
    PRIORITY_OPEN_CLOSE,
    PRIORITY_TEST,
    PRIORITY_OTHER,
)

_CID_ROWS: Final[list[tuple[int, str, str, EventClass, Concerns, int]]] = [
    # 100: medical
    (100, "Medical emergency", "医疗求助", _A, _Z, _L),
    (101, "Personal emergency pendant", "紧急求助挂件", _A, _Z, _L),
    (102, "Failed to check in", "未按时报到", _A, _Z, _L),
    # 110: fire
    (110, "Fire alarm", "火警", _A, _Z, _L),
    (111, "Smoke detector alarm", "烟感报警", _A, _Z, _L),
    (112, "Combustion detected", "燃烧报警", _A, _Z, _L),
    (113, "Sprinkler water flow", "喷淋水流报警", _A, _Z, _L),
    (114, "Heat detector alarm", "温感报警", _A, _Z, _L),
    (115, "Manual call point", "手动报警按钮", _A, _Z, _L),
    (116, "Duct detector alarm", "风管探测器报警", _A, _Z, _L),
    (117, "Flame detected", "火焰报警", _A, _Z, _L),
    (118, "Fire pre-alarm", "火灾预警", _A, _Z, _B),
    # 120: panic / hold-up
    (120, "Panic alarm", "紧急报警", _A, _Z, _L),
    (121, "Duress", "胁迫报警", _A, _U, _L),
    (122, "Silent hold-up", "无声劫盗报警", _A, _Z, _L),
    (123, "Audible hold-up", "有声劫盗报警", _A, _Z, _L),
    (124, "Duress, access granted", "胁迫开门（已放行）", _A, _Z, _L),
    (125, "Duress, exit granted", "胁迫出门（已放行）", _A, _Z, _L),
    (126, "Hold-up suspicion", "疑似劫盗", _A, _U, _L),
    # 130: burglary
    (130, "Burglary", "入侵报警", _A, _Z, _B),
    (131, "Perimeter burglary", "周界入侵报警", _A, _Z, _B),
    (132, "Interior burglary", "内部入侵报警", _A, _Z, _B),
    (133, "24-hour zone (safe)", "24小时防区报警（保险柜）", _A, _Z, _B),
    (134, "Entry/exit zone alarm", "出入口防区报警", _A, _Z, _B),
    (135, "Day/night zone alarm", "日夜防区报警", _A, _Z, _B),
    (136, "Outdoor zone alarm", "室外防区报警", _A, _Z, _B),
    (137, "Tamper", "防拆报警", _A, _Z, _B),
    (138, "Burglary pre-alarm", "入侵预警", _A, _Z, _B),
    (139, "Intrusion verified", "入侵已复核", _A, _Z, _B),
    # 140: general alarm
    (140, "General alarm", "一般报警", _A, _Z, _B),
    (141, "Polling loop open (alarm)", "总线开路报警", _A, _Z, _B),
    (142, "Polling loop short (alarm)", "总线短路报警", _A, _Z, _B),
    (143, "Expansion module failure (alarm)", "扩展模块故障报警", _A, _Z, _B),
    (144, "Sensor tamper (alarm)", "探测器防拆报警", _A, _Z, _B),
    (145, "Expansion module tamper (alarm)", "扩展模块防拆报警", _A, _Z, _B),
    (146, "Silent burglary", "无声入侵报警", _A, _Z, _B),
    (147, "Sensor supervision failure", "探测器监测失败", _A, _Z, _B),
    # 150/160: 24-hour non-burglary
    (150, "24-hour non-burglary alarm", "24小时非入侵报警", _A, _Z, _B),
    (151, "Gas detected", "燃气泄漏报警", _A, _Z, _L),
    (152, "Refrigeration failure", "冷藏故障报警", _A, _Z, _B),
    (153, "Loss of heating", "供暖中断报警", _A, _Z, _B),
    (154, "Water leak", "漏水报警", _A, _Z, _B),
    (155, "Foil break", "玻璃贴片断裂", _A, _Z, _B),
    (156, "Day-zone trouble", "日间防区故障", _A, _Z, _B),
    (157, "Low bottled gas level", "瓶装燃气不足", _A, _Z, _B),
    (158, "High temperature", "高温报警", _A, _Z, _B),
    (159, "Low temperature", "低温报警", _A, _Z, _B),
    (161, "Loss of air flow", "通风中断报警", _A, _Z, _B),
    (162, "Carbon monoxide detected", "一氧化碳报警", _A, _Z, _L),
    (163, "Tank level", "液位报警", _A, _Z, _B),
    # 200: fire supervisory
    (200, "Fire supervisory", "消防监视", _S, _Z, _SV),
    (201, "Low water pressure", "水压过低", _S, _Z, _SV),
    (202, "Low CO2", "二氧化碳不足", _S, _Z, _SV),
    (203, "Gate valve sensor", "闸阀传感器", _S, _Z, _SV),
    (204, "Low water level", "水位过低", _S, _Z, _SV),
    (205, "Pump activated", "水泵启动", _S, _Z, _SV),
    (206, "Pump failure", "水泵故障", _S, _Z, _SV),
    # 300: system troubles
    (300, "System trouble", "系统故障", _T, _Z, _TR),
    (301, "AC power loss", "交流电掉电", _T, _Z, _TR),
    (302, "Low system battery", "主机电池电压低", _T, _Z, _TR),
    (303, "RAM checksum error", "内存校验错误", _T, _Z, _TR),
    (304, "ROM checksum error", "程序校验错误", _T, _Z, _TR),
    (305, "System reset", "系统复位", _T, _Z, _TR),
    (306, "Panel programming changed", "主机编程已更改", _T, _Z, _TR),
    (307, "Self-test failure", "自检失败", _T, _Z, _TR),
    (308, "System shutdown", "系统关闭", _T, _Z, _TR),
    (309, "Battery test failure", "电池测试失败", _T, _Z, _TR),
    (310, "Ground fault", "接地故障", _T, _Z, _TR),
    (311, "Battery missing or dead", "电池缺失或失效", _T, _Z, _TR),
    (312, "Power supply overcurrent", "电源过流", _T, _Z, _TR),
    (313, "Engineer reset", "工程师复位", _T, _U, _TR),
    # 320: sounder / relay
    (320, "Sounder/relay trouble", "警号/继电器故障", _T, _Z, _TR),
    (321, "Bell 1 trouble", "警铃1故障", _T, _Z, _TR),
    (322, "Bell 2 trouble", "警铃2故障", _T, _Z, _TR),
    (323, "Alarm relay trouble", "报警继电器故障", _T, _Z, _TR),
    (324, "Trouble relay trouble", "故障继电器故障", _T, _Z, _TR),
    (325, "Reversing relay trouble", "反向继电器故障", _T, _Z, _TR),
    (326, "Notification circuit 3 trouble", "声光回路3故障", _T, _Z, _TR),
    (327, "Notification circuit 4 trouble", "声光回路4故障", _T, _Z, _TR),
    # 330: system peripherals
    (330, "Peripheral trouble", "外设故障", _T, _Z, _TR),
    (331, "Polling loop open", "总线开路", _T, _Z, _TR),
    (332, "Polling loop short", "总线短路", _T, _Z, _TR),
    (333, "Expansion module failure", "扩展模块故障", _T, _Z, _TR),
    (334, "Repeater failure", "中继器故障", _T, _Z, _TR),
    (335, "Local printer out of paper", "本地打印机缺纸", _T, _Z, _TR),
    (336, "Local printer failure", "本地打印机故障", _T, _Z, _TR),
    (337, "Expansion module DC loss", "扩展模块直流掉电", _T, _Z, _TR),
    (338, "Expansion module low battery", "扩展模块电池电压低", _T, _Z, _TR),
    (339, "Expansion module reset", "扩展模块复位", _T, _Z, _TR),
    (341, "Expansion module tamper", "扩展模块防拆", _T, _Z, _TR),
    (342, "Expansion module AC loss", "扩展模块交流掉电", _T, _Z, _TR),
    (343, "Expansion module self-test failure", "扩展模块自检失败", _T, _Z, _TR),
    (344, "RF jamming detected", "无线干扰", _T, _Z, _TR),
    (345, "AES encryption disabled/enabled", "AES加密状态改变", _T, _Z, _TR),
    # 350: communication
    (350, "Communication trouble", "通讯故障", _T, _Z, _TR),
    (351, "Telephone line 1 fault", "电话线1故障", _T, _Z, _TR),
    (352, "Telephone line 2 fault", "电话线2故障", _T, _Z, _TR),
    (353, "Radio transmitter fault", "无线发射机故障", _T, _Z, _TR),
    (354, "Failed to communicate event", "事件发送失败", _T, _Z, _TR),
    (355, "Loss of radio supervision", "无线监测丢失", _T, _Z, _TR),
    (356, "Loss of central polling", "中心轮询中断", _T, _Z, _TR),
    (357, "Radio antenna (VSWR) problem", "无线天线驻波异常", _T, _Z, _TR),
    (358, "Periodic test path fault", "定时测试通道故障", _T, _Z, _TR),
    # 370: protection loop
    (370, "Protection loop trouble", "防区回路故障", _T, _Z, _TR),
    (371, "Protection loop open", "防区回路开路", _T, _Z, _TR),
    (372, "Protection loop short", "防区回路短路", _T, _Z, _TR),
    (373, "Fire loop trouble", "火警回路故障", _T, _Z, _TR),
    (374, "Exit error alarm (zone)", "退出延时错误报警", _A, _Z, _B),
    (375, "Panic zone trouble", "紧急防区故障", _T, _Z, _TR),
    (376, "Hold-up zone trouble", "劫盗防区故障", _T, _Z, _TR),
    (377, "Swinger trouble", "防区频繁触发", _T, _Z, _TR),
    (378, "Cross-zone trouble", "交叉防区故障", _T, _Z, _TR),
    # 380: sensor
    (380, "Sensor trouble", "探测器故障", _T, _Z, _TR),
    (381, "Loss of RF supervision", "无线探测器失联", _T, _Z, _TR),
    (382, "Loss of polled-module supervision", "总线模块失联", _T, _Z, _TR),
    (383, "Sensor tamper", "探测器防拆", _T, _Z, _TR),
    (384, "RF sensor low battery", "无线探测器电池电压低", _T, _Z, _TR),
    (385, "Smoke detector sensitivity high", "烟感灵敏度过高", _T, _Z, _TR),
    (386, "Smoke detector sensitivity low", "烟感灵敏度过低", _T, _Z, _TR),
    (387, "Intrusion detector sensitivity high", "入侵探测器灵敏度过高", _T, _Z, _TR),
    (388, "Intrusion detector sensitivity low", "入侵探测器灵敏度过低", _T, _Z, _TR),
    (389, "Sensor self-test failure", "探测器自检失败", _T, _Z, _TR),
    (391, "Sensor watch trouble", "探测器长时间未触发", _T, _Z, _TR),
    (392, "Drift compensation error", "漂移补偿错误", _T, _Z, _TR),
    (393, "Maintenance alert", "需要维护", _T, _Z, _TR),
    (394, "CO detector end of life", "一氧化碳探测器寿命到期", _T, _Z, _TR),
    # 400: open / close
    (400, "Open/close", "撤防/布防", _OC, _U, _OCP),
    (401, "Open/close by user", "用户撤防/布防", _OC, _U, _OCP),
    (402, "Group open/close", "分组撤防/布防", _OC, _U, _OCP),
    (403, "Automatic open/close", "自动撤防/布防", _OC, _U, _OCP),
    (404, "Late to open/close", "延迟撤防/布防", _OC, _U, _OCP),
    (405, "Deferred open/close", "推迟撤防/布防", _OC, _U, _OCP),
    (406, "Alarm cancelled by user", "用户取消报警", _OC, _U, _OCP),
    (407, "Remote arm/disarm", "远程布撤防", _OC, _U, _OCP),
    (408, "Quick arm", "快速布防", _OC, _U, _OCP),
    (409, "Keyswitch open/close", "钥匙开关布撤防", _OC, _U, _OCP),
    # 410: remote access
    (411, "Callback requested", "请求回拨", _O, _U, _OT),
    (412, "Remote download/access succeeded", "远程下载/访问成功", _O, _U, _OT),
    (413, "Remote access failed", "远程访问失败", _O, _U, _OT),
    (414, "System shutdown command received", "收到系统关闭命令", _O, _U, _OT),
    (415, "Dialer shutdown command received", "收到拨号器关闭命令", _O, _U, _OT),
    (416, "Remote upload succeeded", "远程上传成功", _O, _U, _OT),
    # 420: access control
    (421, "Access denied", "门禁拒绝", _O, _U, _OT),
    (422, "Access granted", "门禁通行", _O, _U, _OT),
    (423, "Door forced open", "门被强行打开", _A, _Z, _B),
    (424, "Exit denied", "出门被拒绝", _O, _U, _OT),
    (425, "Exit granted", "允许出门", _O, _U, _OT),
    (426, "Door propped open", "门长时间未关", _T, _Z, _TR),
    (427, "Door position monitor trouble", "门磁监测故障", _T, _Z, _TR),
    (428, "Request-to-exit trouble", "出门按钮故障", _T, _Z, _TR),
    (429, "Access programming entered", "进入门禁编程", _O, _U, _OT),
    (430, "Access programming exited", "退出门禁编程", _O, _U, _OT),
    (431, "Access threat level changed", "门禁威胁等级改变", _O, _U, _OT),
    (432, "Access relay/trigger failure", "门禁继电器故障", _T, _Z, _TR),
    (433, "Request-to-exit shunt", "出门按钮旁路", _O, _Z, _OT),
    (434, "Door position shunt", "门磁旁路", _O, _Z, _OT),
    # 440/450: arming exceptions
    (441, "Armed stay", "留守布防", _OC, _U, _OCP),
    (442, "Keyswitch armed stay", "钥匙开关留守布防", _OC, _U, _OCP),
    (450, "Open/close exception", "布撤防异常", _OC, _U, _OCP),
    (451, "Early open/close", "提前撤防/布防", _OC, _U, _OCP),
    (452, "Late open/close", "延迟撤防/布防", _OC, _U, _OCP),
    (453, "Failed to open", "未按时撤防", _OC, _U, _OCP),
    (454, "Failed to close", "未按时布防", _OC, _U, _OCP),
    (455, "Auto-arm failed", "自动布防失败", _OC, _U, _OCP),
    (456, "Partial arm", "部分布防", _OC, _U, _OCP),
    (457, "Exit error (user)", "退出延时错误（用户）", _OC, _U, _OCP),
    (458, "User on premises", "用户在现场", _OC, _U, _OCP),
    (459, "Recent closing", "刚刚布防", _OC, _U, _OCP),
    (461, "Wrong code entered", "密码输入错误", _O, _Z, _SV),
    (462, "Valid code entered", "密码输入正确", _O, _U, _OT),
    (463, "Re-armed after alarm", "报警后重新布防", _OC, _U, _OCP),
    (464, "Auto-arm time extended", "自动布防时间延长", _OC, _U, _OCP),
    (465, "Panic alarm reset", "紧急报警复位", _O, _Z, _OT),
    (466, "Service on/off premises", "维修人员进场/离场", _O, _U, _OT),
    # 500: bypass / disable
    (501, "Access reader disabled", "读卡器停用", _O, _Z, _OCP),
    (520, "Sounder/relay disabled", "警号/继电器停用", _O, _Z, _OCP),
    (521, "Bell 1 disabled", "警铃1停用", _O, _Z, _OCP),
    (522, "Bell 2 disabled", "警铃2停用", _O, _Z, _OCP),
    (523, "Alarm relay disabled", "报警继电器停用", _O, _Z, _OCP),
    (524, "Trouble relay disabled", "故障继电器停用", _O, _Z, _OCP),
    (525, "Reversing relay disabled", "反向继电器停用", _O, _Z, _OCP),
    (526, "Notification circuit 3 disabled", "声光回路3停用", _O, _Z, _OCP),
    (527, "Notification circuit 4 disabled", "声光回路4停用", _O, _Z, _OCP),
    (531, "Module added", "模块已添加", _O, _Z, _OCP),
    (532, "Module removed", "模块已移除", _O, _Z, _OCP),
    (551, "Dialer disabled", "拨号器停用", _O, _Z, _OCP),
    (552, "Radio transmitter disabled", "无线发射机停用", _O, _Z, _OCP),
    (553, "Remote upload/download disabled", "远程上传/下载停用", _O, _Z, _OCP),
    (570, "Zone bypass", "防区旁路", _O, _Z, _OCP),
    (571, "Fire zone bypass", "火警防区旁路", _O, _Z, _OCP),
    (572, "24-hour zone bypass", "24小时防区旁路", _O, _Z, _OCP),
    (573, "Burglary zone bypass", "入侵防区旁路", _O, _Z, _OCP),
    (574, "Group bypass", "分组旁路", _O, _U, _OCP),
    (575, "Swinger bypass", "频繁触发自动旁路", _O, _Z, _OCP),
    (576, "Access zone shunt", "门禁防区旁路", _O, _Z, _OCP),
    (577, "Access point bypass", "门禁点旁路", _O, _Z, _OCP),
    # 600: test / miscellaneous
    (601, "Manual test report", "手动测试", _TS, _Z, _TP),
    (602, "Periodic test report", "定时测试", _TS, _Z, _TP),
    (603, "Periodic RF transmission", "无线定时发送", _TS, _Z, _TP),
    (604, "Fire test", "消防测试", _TS, _U, _TP),
    (605, "Status report to follow", "随后发送状态报告", _TS, _Z, _TP),
    (606, "Listen-in to follow", "随后进入语音监听", _O, _Z, _B),
    (607, "Walk test mode", "步行测试模式", _TS, _U, _TP),
    (608, "Periodic test, trouble present", "定时测试（存在故障）", _TS, _Z, _TP),
    (609, "Video transmitter active", "视频发送启动", _O, _Z, _OT),
    (611, "Point tested OK", "测试点正常", _TS, _Z, _TP),
    (612, "Point not tested", "测试点未测试", _TS, _Z, _TP),
    (613, "Intrusion zone walk-tested", "入侵防区步行测试", _TS, _Z, _TP),
    (614, "Fire zone walk-tested", "火警防区步行测试", _TS, _Z, _TP),
    (615, "Panic zone walk-tested", "紧急防区步行测试", _TS, _Z, _TP),
    (616, "Service requested", "请求维修", _O, _Z, _OT),
    (621, "Event log reset", "事件记录清除", _O, _Z, _OT),
    (622, "Event log 50% full", "事件记录已满50%", _O, _Z, _OT),
    (623, "Event log 90% full", "事件记录已满90%", _O, _Z, _OT),
    (624, "Event log overflow", "事件记录溢出", _O, _Z, _OT),
    (625, "Time/date reset", "时间日期已修改", _O, _U, _OT),
    (626, "Time/date inaccurate", "时间日期不准确", _O, _Z, _OT),
    (627, "Programming mode entered", "进入编程模式", _O, _Z, _OT),
    (628, "Programming mode exited", "退出编程模式", _O, _Z, _OT),
    (629, "32-hour event log marker", "32小时事件记录标记", _O, _Z, _OT),
    (630, "Schedule changed", "时间表已更改", _O, _Z, _OT),
    (631, "Exception schedule changed", "例外时间表已更改", _O, _Z, _OT),
    (632, "Access schedule changed", "门禁时间表已更改", _O, _Z, _OT),
    (654, "System inactivity", "系统长时间无活动", _T, _Z, _TR),
    # 900: download / diagnostics (common ones)
    (900, "Download aborted", "下载中止", _O, _U, _OT),
    (901, "Download started/ended", "下载开始/结束", _O, _U, _OT),
    (902, "Download interrupted", "下载中断", _O, _U, _OT),
    (910, "Auto-close with bypass", "带旁路自动布防", _OC, _U, _OCP),
    (911, "Bypass closing", "旁路布防", _OC, _U, _OCP),
    (912, "Fire alarm silenced", "火警消音", _O, _Z, _OT),
    (920, "Closing with trouble", "带故障布防", _OC, _U, _OCP),
    (921, "Access denied, unknown code", "未知密码被拒绝", _O, _Z, _SV),
]

CONTACT_ID: Final[dict[str, EventCode]] = {f"{r[0]:03d}": _cid(*r) for r in _CID_ROWS}

# 750-789: zone types the installer configures; treated as 24-hour alarms.
for _n in range(750, 790):
    CONTACT_ID[f"{_n:03d}"] = _cid(
        _n, f"Configurable zone type {_n}", f"自定义防区类型{_n}", _A, _Z, _B
    )

# Fallback by hundreds when a panel sends a code missing above (manufacturer extensions).
_CID_RANGES: Final[dict[str, tuple[str, str, EventClass, Concerns, int]]] = {
    "1": ("Alarm", "报警", _A, _Z, _B),
    "2": ("Supervisory", "监视", _S, _Z, _SV),
    "3": ("Trouble", "故障", _T, _Z, _TR),
    "4": ("Open/close or access", "布撤防/门禁", _OC, _U, _OCP),
    "5": ("Bypass or disable", "旁路/停用", _O, _Z, _OCP),
    "6": ("Test or miscellaneous", "测试/其他", _TS, _Z, _TP),
    "7": ("Configurable alarm", "自定义报警", _A, _Z, _B),
}


# --- SIA DC-03 -----------------------------------------------------------------------------

# Zone-type families share a regular suffix scheme: A alarm, H alarm restore, T trouble,
# J trouble restore, R restoral, B bypass, U unbypass, S supervisory, X test.
_FAMILIES: Final[dict[str, tuple[str, str, int]]] = {
    "B": ("Burglary", "入侵", _B),
    "F": ("Fire", "火警", _L),
    "G": ("Gas", "燃气", _L),
    "H": ("Hold-up", "劫盗", _L),
    "K": ("Heat", "高温", _L),
    "M": ("Medical", "医疗", _L),
    "P": ("Panic", "紧急", _L),
    "Q": ("Emergency", "紧急求助", _L),
    "S": ("Sprinkler", "喷淋", _L),
    "T": ("Tamper", "防拆", _B),
    "U": ("Untyped zone", "通用防区", _B),
    "W": ("Water", "水浸", _B),
    "Z": ("Freeze", "低温", _B),
}
_SUFFIXES: Final[dict[str, tuple[str, str, EventClass, bool]]] = {
    "A": ("alarm", "报警", _A, False),
    "H": ("alarm restored", "报警恢复", _A, True),
    "T": ("trouble", "故障", _T, False),
    "J": ("trouble restored", "故障恢复", _T, True),
    "R": ("restored", "恢复", _A, True),
    "B": ("bypass", "旁路", _O, False),
    "U": ("unbypass", "取消旁路", _O, True),
    "S": ("supervisory", "监视", _S, False),
    "X": ("test", "测试", _TS, False),
}

SIA: Final[dict[str, EventCode]] = {}


def _sia_family_entry(fam: str, suf: str) -> EventCode:
    fen, fzh, fprio = _FAMILIES[fam]
    sen, szh, cls, restore = _SUFFIXES[suf]
    prio = {
        _A: fprio,
        _T: _TR,
        _O: _OCP,
        _S: _SV,
        _TS: _TP,
    }[cls]
    # Tamper "TT" is a trouble, "TA" an alarm; the table above already says so.
    return EventCode(fam + suf, f"{fen} {sen}", f"{fzh}{szh}", cls, _Z, prio, restore)


for _fam in _FAMILIES:
    for _suf in _SUFFIXES:
        SIA[_fam + _suf] = _sia_family_entry(_fam, _suf)
# Irregular members ("TX" test report, "TS" test start, "UX" undefined, ...) are overridden by
# the explicit rows below.

_Arming = Literal["open", "close"] | None
_SIA_ROWS: Final[list[tuple[str, str, str, EventClass, Concerns, int, bool, _Arming]]] = [
    # code, en, zh, class, concerns, priority, restore, arming
    ("AT", "AC power failure", "交流电掉电", _T, _N, _TR, False, None),
    ("AR", "AC power restored", "交流电恢复", _T, _N, _TR, True, None),
    ("AA", "Panel substitution attempt", "主机被替换", _A, _N, _B, False, None),
    ("AB", "Report aborted by user", "用户中止报告", _O, _Z, _OT, False, None),
    ("AS", "Analog sensor needs service", "模拟探测器需维护", _T, _Z, _TR, False, None),
    ("AN", "Analog sensor restored", "模拟探测器恢复", _T, _Z, _TR, True, None),
    ("BC", "Burglary alarm cancelled", "入侵报警已取消", _OC, _U, _OCP, False, None),
    ("BD", "Swinger trouble", "防区频繁触发", _T, _Z, _TR, False, None),
    ("BE", "Swinger trouble restored", "防区频繁触发恢复", _T, _Z, _TR, True, None),
    ("BG", "Unverified burglary", "未复核入侵", _A, _Z, _B, False, None),
    ("BM", "Burglary cross-point alarm", "交叉防区入侵报警", _A, _Z, _B, False, None),
    ("BV", "Burglary verified", "入侵已复核", _A, _N, _B, False, None),
    ("BZ", "Missing supervision", "探测器监测丢失", _T, _Z, _TR, False, None),
    ("FC", "Fire alarm cancelled", "火警已取消", _OC, _Z, _OCP, False, None),
    ("FG", "Unverified fire", "未复核火警", _A, _Z, _L, False, None),
    ("FI", "Fire test started", "消防测试开始", _TS, _N, _TP, False, None),
    ("FK", "Fire test ended", "消防测试结束", _TS, _N, _TP, False, None),
    ("FL", "Fire alarm silenced", "火警已消音", _O, _Z, _OT, False, None),
    ("FM", "Fire cross-point alarm", "交叉防区火警", _A, _Z, _L, False, None),
    ("FQ", "Fire supervisory trouble restored", "消防监视故障恢复", _S, _Z, _SV, True, None),
    ("FV", "Fire supervisory restored", "消防监视恢复", _S, _Z, _SV, True, None),
    ("FW", "Fire supervisory trouble", "消防监视故障", _S, _Z, _SV, False, None),
    ("FY", "Missing fire trouble", "火警故障丢失", _T, _Z, _TR, False, None),
    ("FZ", "Missing fire supervision", "火警监视丢失", _S, _Z, _SV, False, None),
    ("TX", "Test report", "测试报告", _TS, _N, _TP, False, None),
    ("TS", "Test started", "测试开始", _TS, _N, _TP, False, None),
    ("TE", "Test ended", "测试结束", _TS, _N, _TP, False, None),
    ("TC", "All points tested", "全部测试点已测试", _TS, _N, _TP, False, None),
    ("TP", "Walk-test point", "步行测试点", _TS, _Z, _TP, False, None),
    ("TT", "Tamper trouble", "防拆故障", _T, _Z, _TR, False, None),
    ("TJ", "Tamper trouble restored", "防拆故障恢复", _T, _Z, _TR, True, None),
    ("UX", "Undefined event", "未定义事件", _O, _N, _OT, False, None),
    ("UY", "Untyped missing trouble", "通用防区丢失故障", _T, _Z, _TR, False, None),
    ("UZ", "Untyped missing alarm", "通用防区丢失报警", _A, _Z, _B, False, None),
    # closings (arming) and openings (disarming)
    ("CL", "Closing (armed)", "布防", _OC, _U, _OCP, False, "close"),
    ("CA", "Automatic closing", "自动布防", _OC, _N, _OCP, False, "close"),
    ("CP", "Automatic closing by user", "用户自动布防", _OC, _U, _OCP, False, "close"),
    ("CQ", "Remote closing", "远程布防", _OC, _U, _OCP, False, "close"),
    ("CS", "Keyswitch closing", "钥匙开关布防", _OC, _Z, _OCP, False, "close"),
    ("CG", "Area closed", "分区布防", _OC, _N, _OCP, False, "close"),
    ("CF", "Forced closing", "强制布防", _OC, _U, _OCP, False, "close"),
    ("CE", "Closing time extended", "布防时间延长", _OC, _U, _OCP, False, None),
    ("CD", "Closing delinquent", "逾期未布防", _OC, _N, _OCP, False, None),
    ("CI", "Failed to close", "未按时布防", _OC, _N, _OCP, False, None),
    ("CJ", "Late close", "延迟布防", _OC, _U, _OCP, False, "close"),
    ("CK", "Early close", "提前布防", _OC, _U, _OCP, False, "close"),
    ("CR", "Recent closing", "刚刚布防", _OC, _U, _OCP, False, None),
    ("CT", "Late to open", "逾期未撤防", _OC, _N, _OCP, False, None),
    ("CW", "Was force armed", "已被强制布防", _OC, _N, _OCP, False, "close"),
    ("CZ", "Point closing", "防区布防", _OC, _Z, _OCP, False, "close"),
    ("NL", "Perimeter armed (stay)", "周界布防（留守）", _OC, _N, _OCP, False, "close"),
    ("NF", "Forced perimeter arm", "强制周界布防", _OC, _N, _OCP, False, "close"),
    ("OP", "Opening (disarmed)", "撤防", _OC, _U, _OCP, False, "open"),
    ("OA", "Automatic opening", "自动撤防", _OC, _N, _OCP, False, "open"),
    ("OQ", "Remote opening", "远程撤防", _OC, _U, _OCP, False, "open"),
    ("OS", "Keyswitch opening", "钥匙开关撤防", _OC, _Z, _OCP, False, "open"),
    ("OG", "Area opened", "分区撤防", _OC, _N, _OCP, False, "open"),
    ("OJ", "Late open", "延迟撤防", _OC, _U, _OCP, False, "open"),
    ("OK", "Early open", "提前撤防", _OC, _U, _OCP, False, "open"),
    ("OR", "Disarmed from alarm", "报警后撤防", _OC, _U, _OCP, False, "open"),
    ("OH", "Early open from alarm", "报警后提前撤防", _OC, _U, _OCP, False, "open"),
    ("OL", "Late open from alarm", "报警后延迟撤防", _OC, _U, _OCP, False, "open"),
    ("OZ", "Point opening", "防区撤防", _OC, _Z, _OCP, False, "open"),
    ("OC", "Alarm cancelled", "报警已取消", _OC, _U, _OCP, False, None),
    ("OI", "Failed to open", "未按时撤防", _OC, _N, _OCP, False, None),
    ("OT", "Late to close", "逾期未布防", _OC, _U, _OCP, False, None),
    ("EE", "Exit error", "退出延时错误", _OC, _U, _OCP, False, None),
    ("EA", "Exit alarm", "退出报警", _A, _Z, _B, False, None),
    # tests and reports
    ("RP", "Automatic test", "自动测试", _TS, _N, _TP, False, None),
    ("RX", "Manual test", "手动测试", _TS, _U, _TP, False, None),
    ("RY", "Test off normal", "测试（非正常状态）", _TS, _Z, _TP, False, None),
    ("XX", "Failed to test", "未按时测试", _T, _N, _TR, False, None),
    ("YY", "Status report", "状态报告", _O, _N, _OT, False, None),
    # system and communication troubles
    ("YT", "System battery trouble", "主机电池故障", _T, _N, _TR, False, None),
    ("YR", "System battery restored", "主机电池恢复", _T, _N, _TR, True, None),
    ("YM", "System battery missing", "主机电池缺失", _T, _N, _TR, False, None),
    ("YP", "Power supply trouble", "电源故障", _T, _N, _TR, False, None),
    ("YQ", "Power supply restored", "电源恢复", _T, _N, _TR, True, None),
    ("YA", "Bell fault", "警铃故障", _T, _N, _TR, False, None),
    ("YH", "Bell restored", "警铃恢复", _T, _N, _TR, True, None),
    ("YC", "Communication failure", "通讯失败", _T, _N, _TR, False, None),
    ("YS", "Communication trouble", "通讯故障", _T, _N, _TR, False, None),
    ("YK", "Communication restored", "通讯恢复", _T, _N, _TR, True, None),
    ("YD", "Receiver line trouble", "接警机线路故障", _T, _N, _TR, False, None),
    ("YE", "Receiver line restored", "接警机线路恢复", _T, _N, _TR, True, None),
    ("YI", "Overcurrent trouble", "过流故障", _T, _N, _TR, False, None),
    ("YJ", "Overcurrent restored", "过流恢复", _T, _N, _TR, True, None),
    ("YX", "Service required", "需要维修", _T, _N, _TR, False, None),
    ("YZ", "Service completed", "维修完成", _T, _N, _TR, True, None),
    ("YW", "Watchdog reset", "看门狗复位", _T, _N, _TR, False, None),
    ("YF", "Parameter checksum failure", "参数校验失败", _T, _N, _TR, False, None),
    ("YG", "Parameters changed", "参数已更改", _O, _N, _OT, False, None),
    ("YN", "Invalid report", "无效报告", _T, _N, _TR, False, None),
    ("YO", "Unknown message", "未知消息", _T, _N, _TR, False, None),
    ("YU", "Diagnostic error", "诊断错误", _T, _N, _TR, False, None),
    ("LT", "Phone line trouble", "电话线故障", _T, _N, _TR, False, None),
    ("LR", "Phone line restored", "电话线恢复", _T, _N, _TR, True, None),
    ("NT", "Network failure", "网络故障", _T, _N, _TR, False, None),
    ("NR", "Network restored", "网络恢复", _T, _N, _TR, True, None),
    ("ET", "Expansion module trouble", "扩展模块故障", _T, _N, _TR, False, None),
    ("ER", "Expansion module restored", "扩展模块恢复", _T, _N, _TR, True, None),
    ("EM", "Expansion device missing", "扩展设备丢失", _T, _N, _TR, False, None),
    ("EN", "Expansion device found", "扩展设备恢复", _T, _N, _TR, True, None),
    ("ES", "Expansion device tamper", "扩展设备防拆", _T, _N, _TR, False, None),
    ("EJ", "Expansion tamper restored", "扩展设备防拆恢复", _T, _N, _TR, True, None),
    ("XT", "Transmitter battery low", "无线发射器电池电压低", _T, _Z, _TR, False, None),
    ("XR", "Transmitter battery restored", "无线发射器电池恢复", _T, _Z, _TR, True, None),
    ("XQ", "RF interference", "无线干扰", _T, _N, _TR, False, None),
    ("XH", "RF interference cleared", "无线干扰消除", _T, _N, _TR, True, None),
    ("XS", "RF receiver tamper", "无线接收器防拆", _T, _N, _TR, False, None),
    ("XJ", "RF receiver tamper restored", "无线接收器防拆恢复", _T, _N, _TR, True, None),
    ("XL", "Low signal strength / connection lost", "信号弱/连接丢失", _T, _N, _TR, False, None),
    ("IA", "Equipment failure", "设备故障", _T, _Z, _TR, False, None),
    ("IR", "Equipment failure restored", "设备故障恢复", _T, _Z, _TR, True, None),
    ("VT", "Printer trouble", "打印机故障", _T, _N, _TR, False, None),
    ("VR", "Printer restored", "打印机恢复", _T, _N, _TR, True, None),
    ("VO", "Printer out of paper", "打印机缺纸", _T, _N, _TR, False, None),
    ("VI", "Printer paper loaded", "打印机已装纸", _T, _N, _TR, True, None),
    ("NA", "No activity", "长时间无活动", _T, _Z, _TR, False, None),
    ("NS", "Activity resumed", "活动恢复", _T, _Z, _TR, True, None),
    # access control
    ("DD", "Access denied", "门禁拒绝", _O, _N, _OT, False, None),
    ("DG", "Access granted", "门禁通行", _O, _N, _OT, False, None),
    ("DF", "Door forced", "门被强行打开", _A, _N, _B, False, None),
    ("DL", "Door left open (alarm)", "门未关报警", _A, _N, _B, False, None),
    ("DM", "Door left open (trouble)", "门未关故障", _T, _N, _TR, False, None),
    ("DR", "Door restored", "门恢复", _T, _N, _TR, True, None),
    ("DH", "Door left open restored", "门未关恢复", _T, _N, _TR, True, None),
    # programming, logs, listen-in and miscellany
    ("RR", "Power up", "主机上电", _O, _N, _OT, False, None),
    ("RN", "Remote reset", "远程复位", _O, _N, _OT, False, None),
    ("RB", "Remote programming started", "远程编程开始", _O, _N, _OT, False, None),
    ("RS", "Remote programming succeeded", "远程编程成功", _O, _N, _OT, False, None),
    ("RU", "Remote programming failed", "远程编程失败", _O, _N, _OT, False, None),
    ("RD", "Remote programming denied", "远程编程被拒绝", _O, _N, _OT, False, None),
    ("RA", "Remote programmer call failed", "远程编程呼叫失败", _O, _N, _OT, False, None),
    ("RT", "Data lost", "数据丢失", _T, _N, _TR, False, None),
    ("RC", "Relay closed", "继电器闭合", _O, _N, _OT, False, None),
    ("RO", "Relay opened", "继电器断开", _O, _N, _OT, False, None),
    ("LB", "Local programming started", "本地编程开始", _O, _N, _OT, False, None),
    ("LX", "Local programming ended", "本地编程结束", _O, _N, _OT, False, None),
    ("LS", "Local programming succeeded", "本地编程成功", _O, _N, _OT, False, None),
    ("LU", "Local programming failed", "本地编程失败", _O, _N, _OT, False, None),
    ("LD", "Local programming denied", "本地编程被拒绝", _O, _N, _OT, False, None),
    ("LF", "Listen-in started", "语音监听开始", _O, _N, _B, False, None),
    ("LE", "Listen-in ended", "语音监听结束", _O, _N, _OT, False, None),
    ("JA", "User code tamper", "密码多次错误", _O, _N, _SV, False, None),
    ("JD", "Date changed", "日期已修改", _O, _U, _OT, False, None),
    ("JT", "Time changed", "时间已修改", _O, _U, _OT, False, None),
    ("JL", "Event log threshold", "事件记录接近满", _O, _N, _OT, False, None),
    ("JO", "Event log overflow", "事件记录溢出", _O, _N, _OT, False, None),
    ("JS", "Schedule changed", "时间表已更改", _O, _U, _OT, False, None),
    ("JV", "User code changed", "用户密码已更改", _O, _U, _OT, False, None),
    ("JX", "User code deleted", "用户密码已删除", _O, _U, _OT, False, None),
    ("JY", "User code added", "用户密码已添加", _O, _U, _OT, False, None),
    ("JP", "User on premises", "用户在现场", _O, _U, _OT, False, None),
    ("CX", "Custom function executed", "自定义功能已执行", _O, _N, _OT, False, None),
    ("MI", "Message", "消息", _O, _N, _OT, False, None),
    ("XA", "Extra account report", "附加账号报告", _O, _N, _OT, False, None),
    ("XI", "Sensor reset", "探测器复位", _O, _Z, _OT, False, None),
]

# Kept from the engine's first table: a duress report some panels send as its own code.
_SIA_ROWS.append(("DU", "Duress", "胁迫报警", _A, _U, _L, False, None))

for _row in _SIA_ROWS:
    SIA[_row[0]] = EventCode(*_row)


# --- kinds -------------------------------------------------------------------------------------

# By class, the kind of a code with no finer one.
_CLASS_KIND: Final[dict[str, str]] = {"alarm": "burglary", "trouble": "trouble",
                                      "supervisory": "supervisory"}


def _cid_kind(n: int, cls: str) -> str:
    """The kind of Contact ID code ``n`` of class ``cls`` (openings and closings are told
    apart by the qualifier, see :func:`classify`)."""
    if cls == "alarm":
        for low, high, kind in ((121, 121, "duress"), (100, 109, "medical"),
                                (110, 119, "fire"), (120, 129, "panic")):
            if low <= n <= high:
                return kind
        if n in (137, 144, 145):
            return "tamper"
        return "alarm_24h" if 150 <= n <= 169 else "burglary"
    if cls == "trouble":
        if n == 301:
            return "ac_loss"
        if n in (302, 309, 311, 338, 342, 384):
            return "low_battery"
        return "comm_trouble" if 350 <= n <= 359 else "trouble"
    if cls == "open_close":
        return "cancel" if n == 406 else \
            "panel_open_close_exception" if 450 <= n <= 459 else "other"
    if cls == "test":
        return "test" if 600 <= n <= 609 else "other"  # 611-615 are zones walk-tested
    if cls == "other" and 570 <= n <= 579:
        return "bypass"
    return _CLASS_KIND.get(cls, "other")


_SIA_FAMILY_KIND: Final[dict[str, str]] = {
    "B": "burglary", "F": "fire", "G": "alarm_24h", "H": "duress", "K": "alarm_24h",
    "M": "medical", "P": "panic", "Q": "medical", "S": "fire", "T": "tamper", "U": "burglary",
    "W": "alarm_24h", "Z": "alarm_24h",
}
_SIA_KIND: Final[dict[str, str]] = {
    "DU": "duress", "FG": "fire", "FM": "fire",
    "BC": "cancel", "OC": "cancel", "FC": "cancel",
    "AT": "ac_loss", "AR": "ac_loss",
    "YT": "low_battery", "YR": "low_battery", "YM": "low_battery", "XT": "low_battery",
    "XR": "low_battery",
    "YC": "comm_trouble", "YS": "comm_trouble", "YK": "comm_trouble", "LT": "comm_trouble",
    "LR": "comm_trouble", "YD": "comm_trouble", "YE": "comm_trouble",
    "RP": "test", "RX": "test", "RY": "test", "TX": "test",
    "CD": "panel_open_close_exception", "CI": "panel_open_close_exception",
    "CT": "panel_open_close_exception", "OI": "panel_open_close_exception",
    "OT": "panel_open_close_exception", "EE": "panel_open_close_exception",
}


_SIA_EXPLICIT: Final = frozenset(row[0] for row in _SIA_ROWS)


def _sia_kind(code: str, cls: str) -> str:
    """The kind of SIA code ``code`` of class ``cls``: a zone family's alarms, restores and
    bypasses by family (``FA`` fire, ``BB`` bypass), other codes by their class."""
    if code in _SIA_KIND:
        return _SIA_KIND[code]
    family, suffix = code[:1], code[1:]
    if code not in _SIA_EXPLICIT and family in _SIA_FAMILY_KIND and suffix in _SUFFIXES:
        if cls == "alarm":
            return _SIA_FAMILY_KIND[family]
        if suffix in ("B", "U"):
            return "bypass"
    return _CLASS_KIND.get(cls, "other")


for _code, _entry in list(CONTACT_ID.items()):
    CONTACT_ID[_code] = replace(_entry, kind=_cid_kind(int(_code), _entry.event_class))
for _code, _entry in list(SIA.items()):
    SIA[_code] = replace(_entry, kind=_sia_kind(_code, _entry.event_class))


def contact_id(code: str) -> EventCode:
    """The table entry for a Contact ID code, or a range-derived entry for unknown codes."""
    entry = CONTACT_ID.get(code)
    if entry is not None:
        return entry
    en, zh, cls, concerns, prio = _CID_RANGES.get(
        code[:1], ("Unknown event", "未知事件", _O, _Z, _OT)
    )
    kind = _cid_kind(int(code), cls) if code.isdigit() else _CLASS_KIND.get(cls, "other")
    return EventCode(code, f"{en} ({code})", f"{zh}（{code}）", cls, concerns, prio, kind=kind)


def sia(code: str) -> EventCode:
    """The table entry for a SIA DC-03 code; unknown codes are class ``other``."""
    entry = SIA.get(code)
    if entry is not None:
        return entry
    return EventCode(code, f"Unknown SIA event {code}", f"未知SIA事件{code}", _O, _N, _OT)


def lookup(event_system: str, code: str) -> EventCode:
    """Entry for ``code`` in the ``cid`` or ``sia`` table."""
    return contact_id(code) if event_system == "cid" else sia(code)


@dataclass(frozen=True, slots=True)
class Classification:
    """What a signal means, decided once by the receiver and carried on the signal.

    ``event_class`` and ``priority`` are the signal's: a restore of an alarm, trouble or
    supervisory condition is class ``restore`` (priority 6); open/close and test codes never
    are (the Contact ID qualifier of an open/close code says opening or closing). ``kind`` and
    ``desk`` are the alarm engine's: an opening or closing report is kind ``opening`` or
    ``closing``, whatever its code."""

    kind: str
    event_class: EventClass
    priority: int
    desk: Desk
    restore: bool
    arming: Arming | None


def classify(event_system: str, code: str, qualifier: str) -> Classification:
    """The classification of a signal with this code and qualifier."""
    entry = lookup(event_system, code)
    direction = arming(event_system, code, qualifier)
    kind = "opening" if direction == "open" else "closing" if direction == "close" \
        else entry.kind
    restore = (qualifier == "restore" or entry.restore) and \
        entry.event_class not in ("open_close", "test")
    return Classification(kind, "restore" if restore else entry.event_class,
                          PRIORITY_RESTORE if restore else entry.priority, KINDS[kind].desk,
                          restore, direction)


def sia_qualifier(code: str) -> Qualifier:
    """Qualifier implied by a SIA code (SIA has separate codes for restorals)."""
    return "restore" if sia(code).restore else "new"


def arming(event_system: str, code: str, qualifier: str) -> Arming | None:
    """Whether a signal reports an opening (disarm) or closing (arm), else ``None``.

    Contact ID 4xx open/close codes say it with the qualifier (1 = opening, 3 = closing);
    SIA has separate codes.
    """
    if event_system == "sia":
        return sia(code).arming
    if code in _CID_ARMING_CODES:
        if qualifier == "new":
            return "open"
        if qualifier == "restore":
            return "close"
    return None


def kind_info(kind: str) -> KindInfo:
    """Class, priority and desk of a kind (the engine's own: fail to test, runaway, ...)."""
    return KINDS[kind]


_CID_ARMING_CODES: Final = frozenset(
    {
        "400",
        "401",
        "402",
        "403",
        "404",
        "405",
        "407",
        "408",
        "409",
        "441",
        "442",
        "451",
        "452",
        "456",
        "463",
        "910",
        "911",
        "920",
    }
)
