"""Console text in Simplified Chinese and English, chosen per user (or per browser before login).

Terms follow /shared/GLOSSARY.md. The whole catalogue is small, so pages hand it to the browser
script too (:func:`client_strings`) and live updates speak the same language as the page.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("zh-CN", "en")

_ROWS: list[tuple[str, str, str]] = [
    # key, zh-CN, en
    ("app.title", "Vigil 联网报警中心", "Vigil alarm center"),
    ("login.title", "登录", "Sign in"),
    ("login.username", "用户名", "Username"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    ("login.failed", "用户名或密码错误", "Wrong username or password"),
    ("login.locked", "登录失败次数过多，请稍后再试", "Too many failed logins; try again later"),
    ("nav.logout", "退出", "Sign out"),
    ("nav.api", "接口文档", "API docs"),
    ("nav.console", "坐席台", "Console"),
    ("nav.wallboard", "监控大屏", "Wallboard"),
    ("nav.agents", "坐席状态", "Agents"),
    ("nav.admin", "系统管理", "Admin"),
    ("home.welcome", "欢迎", "Welcome"),
    ("role.agent", "坐席", "Agent"),
    ("role.supervisor", "班长", "Supervisor"),
    ("role.admin", "管理员", "Administrator"),
    ("lang.switch", "English", "中文"),
    ("lang.switch_title", "切换界面语言", "Change the console language"),
    ("forbidden.title", "无权访问", "Not allowed"),
    ("forbidden.text", "您的角色无权查看此页面。", "Your role may not open this page."),
    ("back.console", "返回坐席台", "Back to the console"),
    # live connection
    ("live.connected", "实时连接正常", "Live"),
    ("live.connecting", "正在连接…", "Connecting…"),
    ("live.disconnected", "连接断开", "Offline"),
    ("live.banner", "连接已断开，正在重连。页面上的信息可能已过时！",
     "Disconnected, reconnecting. What you see may be out of date!"),
    ("live.resync", "正在同步数据…", "Resynchronising…"),
    ("live.session", "登录已失效，请重新登录", "Your session has ended; please sign in again"),
    # alarm queue
    ("queue.title", "警情队列", "Alarm queue"),
    ("queue.empty", "当前没有未处理的警情", "No open incidents"),
    ("queue.unavailable", "警情接口尚未接入：只显示连接后新到的警情",
     "Alarm engine API not available yet: only incidents that arrive from now on are shown"),
    ("queue.col.priority", "优先级", "Priority"),
    ("queue.col.age", "等待", "Age"),
    ("queue.col.account", "用户", "Account"),
    ("queue.col.event", "警情", "Event"),
    ("queue.col.zone", "防区", "Zone"),
    ("queue.col.status", "状态", "Status"),
    ("queue.open", "打开", "Open"),
    ("queue.total", "未处理", "Open"),
    ("queue.new_alarm", "新警情", "New incident"),
    ("status.new", "待接警", "Waiting"),
    ("status.open", "待接警", "Waiting"),
    ("status.taken", "已接警", "Taken"),
    ("status.verifying", "核实中", "Verifying"),
    ("status.dispatched", "已出警", "Dispatched"),
    ("status.closed", "已关闭", "Closed"),
    ("prio.1", "紧急", "Critical"),
    ("prio.2", "高", "High"),
    ("prio.3", "中", "Medium"),
    ("prio.4", "低", "Low"),
    ("prio.5", "提示", "Notice"),
    ("prio.6", "测试", "Test"),
    ("prio.7", "其他", "Other"),
    ("status.held", "暂缓", "Held"),
    ("zone.restored", "已恢复", "restored"),
    ("class.alarm", "报警", "Alarm"),
    ("class.fire", "火警", "Fire"),
    ("class.tamper", "防拆", "Tamper"),
    ("class.alarm_24h", "24小时防区报警", "24-hour zone alarm"),
    ("class.ac_loss", "交流电断电", "AC power loss"),
    ("class.low_battery", "电池欠压", "Low battery"),
    ("class.comm_trouble", "通讯故障", "Communication trouble"),
    ("class.fail_to_test", "未按时测试", "Fail to test"),
    ("class.runaway", "信号异常频繁", "Runaway account"),
    ("class.fail_to_open", "未按时撤防", "Fail to open"),
    ("class.fail_to_close", "未按时布防", "Fail to close"),
    ("class.early_open", "提前撤防", "Early open"),
    ("class.unscheduled_open", "非计划撤防", "Unscheduled open"),
    ("class.unscheduled_close", "非计划布防", "Unscheduled close"),
    ("class.panic", "紧急求助", "Panic"),
    ("class.duress", "胁迫", "Duress"),
    ("class.medical", "医疗求助", "Medical"),
    ("class.burglary", "盗警", "Burglary"),
    ("class.trouble", "故障", "Trouble"),
    ("class.supervisory", "监管", "Supervisory"),
    ("class.open_close", "布撤防", "Open/close"),
    ("class.test", "测试", "Test"),
    ("class.unknown_account", "未知用户", "Unknown account"),
    ("class.other", "其他", "Other"),
    # softphone
    ("phone.title", "软电话", "Softphone"),
    ("phone.state", "坐席状态", "Agent state"),
    ("phone.extension", "分机", "Extension"),
    ("phone.unavailable", "话务系统（CTI）尚未接入，通话按钮暂不可用",
     "Telephony (CTI) is not connected yet; call buttons are unavailable"),
    ("phone.number", "号码", "Number"),
    ("phone.dial", "拨号", "Dial"),
    ("phone.answer", "接听", "Answer"),
    ("phone.hangup", "挂断", "Hang up"),
    ("phone.hold", "保持", "Hold"),
    ("phone.transfer", "转接", "Transfer"),
    ("phone.mute", "静音", "Mute"),
    ("phone.ready", "就绪", "Ready"),
    ("phone.pause", "示忙", "Pause"),
    ("phone.idle", "无通话", "No call"),
    ("state.ready", "空闲", "Ready"),
    ("state.paused", "示忙", "Paused"),
    ("state.logged_out", "未登录队列", "Not in queues"),
    ("state.ringing", "振铃", "Ringing"),
    ("state.in_call", "通话中", "On a call"),
    ("state.wrapup", "话后处理", "Wrap-up"),
    ("state.unknown", "未知", "Unknown"),
    # screen pop
    ("pop.title", "弹屏", "Screen pop"),
    ("pop.empty", "当前无来电。来电振铃时，这里显示来电用户的资料。",
     "No call. When a call rings, the caller's record appears here."),
    ("pop.unknown", "未知号码：资料库中没有这个号码", "Unknown caller: this number is not on file"),
    ("pop.caller", "来电号码", "Caller"),
    ("pop.account", "用户", "Account"),
    ("pop.address", "地址", "Address"),
    ("pop.status", "状态", "Status"),
    ("pop.queue", "队列", "Queue"),
    ("pop.open_account", "打开用户资料", "Open the account"),
    # incident view
    ("incident.title", "警情", "Incident"),
    ("incident.signals", "信号与防区", "Signals and zones"),
    ("incident.plan", "处警预案", "Action plan"),
    ("incident.calllist", "联系人顺序", "Call list"),
    ("incident.result", "核实结果", "Verification result"),
    ("incident.dispatch", "出警", "Dispatch"),
    ("incident.close", "关闭警情", "Close the incident"),
    ("incident.timers", "计时", "Timers"),
    ("incident.notfound", "找不到该警情", "Incident not found"),
    ("incident.unavailable", "警情接口尚未接入，暂时无法显示详情",
     "The alarm engine API is not available yet; details cannot be shown"),
    ("incident.back", "返回警情队列", "Back to the alarm queue"),
    # wallboard and agents
    ("wall.queues", "话务队列", "Call queues"),
    ("wall.waiting", "排队来电", "Callers waiting"),
    ("wall.longest", "最长等待", "Longest wait"),
    ("wall.sl", "服务水平", "Service level"),
    ("wall.asa", "平均应答时间", "ASA"),
    ("wall.abandon", "放弃率", "Abandon rate"),
    ("wall.agents_free", "空闲坐席", "Agents ready"),
    ("wall.alarms", "警情", "Alarms"),
    ("wall.open", "未处理警情", "Open incidents"),
    ("wall.oldest", "最久未处理", "Oldest waiting"),
    ("wall.noqueues", "暂无队列数据（话务系统尚未接入）",
     "No queue data yet (telephony not connected)"),
    ("agents.col.name", "坐席", "Agent"),
    ("agents.col.ext", "分机", "Extension"),
    ("agents.col.state", "状态", "State"),
    ("agents.col.since", "持续时间", "Time in state"),
    ("agents.col.current", "当前通话 / 警情", "Current call / incident"),
    ("agents.empty", "暂无坐席状态（话务系统尚未接入）",
     "No agent state yet (telephony not connected)"),
    # admin
    ("admin.users", "用户", "Users"),
    ("admin.col.username", "用户名", "Username"),
    ("admin.col.name", "姓名", "Name"),
    ("admin.col.role", "角色", "Role"),
    ("admin.col.lang", "语言", "Language"),
    ("admin.col.ext", "分机", "Extension"),
    ("admin.disaster", "灾害模式", "Disaster mode"),
    ("admin.blacklist", "黑名单", "Blacklist"),
    ("admin.pause_codes", "示忙原因", "Pause reasons"),
    ("admin.queues", "队列", "Queues"),
    ("admin.action_plans", "处警预案", "Action plans"),
    ("admin.receivers", "接警机", "Receivers"),
    ("common.unavailable", "尚未提供", "Not available yet"),
    ("common.loading", "加载中…", "Loading…"),
    ("common.failed", "操作失败", "Failed"),
    ("common.none", "无", "None"),
]

CATALOGUE: dict[str, dict[str, str]] = {key: {"zh-CN": zh, "en": en} for key, zh, en in _ROWS}


def pick_language(preferred: str | None, accept_language: str | None = None,
                  default: str = "zh-CN") -> str:
    """The user's language if set, else the browser's first supported one, else the default."""
    if preferred in LANGUAGES:
        return str(preferred)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default


def translator(lang: str) -> Callable[[str], str]:
    def t(key: str) -> str:
        entry = CATALOGUE.get(key)
        if entry is None:
            return key
        return entry.get(lang) or entry["en"]

    return t


def client_strings(lang: str) -> dict[str, str]:
    """The catalogue in one language, for the browser script."""
    t = translator(lang)
    return {key: t(key) for key in CATALOGUE}
