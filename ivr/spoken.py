"""Digits, numbers and "how long ago" as sequences of catalogue prompts, per language. Pure.

Chinese reads numbers in groups of ten thousand (万) with 十/百/千 inside a group, a single 零
for any run of zeros inside, none at the end, and 十 rather than 一十 at the start (15 is 十五,
115 is 一百一十五); 2 is 两 before 千 and 万 at the start and in a count before a measure word
(两千, 两小时). English says
"seventy two", "one hundred five", "two thousand". Digit strings (account numbers) are read
digit by digit, 1 as 幺 in Chinese.
"""

from __future__ import annotations

from datetime import timedelta

from ivr.prompts import Lang

MAX_NUMBER = 999_999  # positions, minutes, hours, days: far below


def digits(text: str) -> list[str]:
    """``8801`` -> digit-8 digit-8 digit-0 digit-1; anything but 0-9 is skipped."""
    return [f"digit-{c}" for c in text if c.isdigit()]


def _zh_digit(d: int) -> str:
    return "num-1" if d == 1 else f"digit-{d}"


def _zh_group(n: int, leading: bool) -> list[str]:
    """0 < n < 10000; ``leading``: the first group said, where 1x is 十x, not 一十x."""
    out: list[str] = []
    zero = False
    for unit, name in ((1000, "num-1000"), (100, "num-100"), (10, "num-10"), (1, "")):
        d = n // unit % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("digit-0")
            zero = False
        if unit == 1000 and d == 2 and leading and not out:
            out.append("num-2")  # 两千
        elif not (unit == 10 and d == 1 and leading and not out):
            out.append(_zh_digit(d))
        if name:
            out.append(name)
    return out


def _zh(n: int, count: bool) -> list[str]:
    if n == 0:
        return ["digit-0"]
    if count and n == 2:
        return ["num-2"]
    high, low = divmod(n, 10_000)
    if not high:
        return _zh_group(low, leading=True)
    out = (["num-2"] if high == 2 else _zh_group(high, leading=True)) + ["num-10000"]
    if low:
        if low < 1000:
            out.append("digit-0")
        out += _zh_group(low, leading=False)
    return out


def _en_under_100(n: int) -> list[str]:
    if n < 10:
        return [f"digit-{n}"]
    if n < 20:
        return [f"num-{n}"]
    tens, ones = divmod(n, 10)
    return [f"num-{tens * 10}"] + ([f"digit-{ones}"] if ones else [])


def _en_under_1000(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    out = [f"digit-{hundreds}", "num-100"] if hundreds else []
    return out + (_en_under_100(rest) if rest or not out else [])


def _en(n: int) -> list[str]:
    thousands, rest = divmod(n, 1000)
    out = _en_under_1000(thousands) + ["num-1000"] if thousands else []
    return out + (_en_under_1000(rest) if rest or not out else [])


def number(n: int, lang: Lang, count: bool = False) -> list[str]:
    """A whole number 0..999,999 as prompts; ``count``: before a measure word (两 for 2)."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"cannot say {n}")
    return _zh(n, count) if lang == "zh-CN" else _en(n)


def quantity(n: int, unit: str, lang: Lang) -> list[str]:
    """``n`` and its unit (``unit-hours``, ``ago-minutes``...), singular in English for 1."""
    word = unit[:-1] if lang == "en" and n == 1 else unit
    return number(n, lang, count=True) + [word]


def ago(elapsed: timedelta, lang: Lang) -> list[str]:
    """How long ago, in the largest whole unit: minutes under an hour (at least one), hours
    under two days, then days."""
    minutes = max(1, int(elapsed.total_seconds() // 60))
    if minutes < 60:
        return quantity(minutes, "ago-minutes", lang)
    hours = minutes // 60
    if hours < 48:
        return quantity(hours, "ago-hours", lang)
    return quantity(min(hours // 24, MAX_NUMBER), "ago-days", lang)
