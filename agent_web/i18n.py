"""Console text in Simplified Chinese and English, chosen per user (or per browser before login)."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("zh-CN", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    "app.title": {"zh-CN": "Vigil 联网报警中心", "en": "Vigil alarm center"},
    "login.title": {"zh-CN": "登录", "en": "Sign in"},
    "login.username": {"zh-CN": "用户名", "en": "Username"},
    "login.password": {"zh-CN": "密码", "en": "Password"},
    "login.submit": {"zh-CN": "登录", "en": "Sign in"},
    "login.failed": {"zh-CN": "用户名或密码错误", "en": "Wrong username or password"},
    "login.locked": {"zh-CN": "登录失败次数过多，请稍后再试", "en":
                     "Too many failed logins; try again later"},
    "nav.logout": {"zh-CN": "退出", "en": "Sign out"},
    "nav.api": {"zh-CN": "接口文档", "en": "API docs"},
    "home.welcome": {"zh-CN": "欢迎", "en": "Welcome"},
    "role.agent": {"zh-CN": "坐席", "en": "Agent"},
    "role.supervisor": {"zh-CN": "班长", "en": "Supervisor"},
    "role.admin": {"zh-CN": "管理员", "en": "Administrator"},
    "lang.switch": {"zh-CN": "English", "en": "中文"},
}


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
