"""The FastAGI wire format, pure: the ``agi_*`` environment, command text and reply lines.

No I/O here, so every reply form Asterisk really sends (see the ``fastagi_ivr`` capture) can be
tested as strings: ``200 result=49 endpos=25760`` (a key pressed during STREAM FILE),
``200 result=234 (timeout)`` (GET DATA got three of four digits), ``200 result=1 (+86...)``
(GET VARIABLE), ``511 Command Not Permitted on a dead channel ...``, the multi-line ``520-``
usage message, and the bare ``HANGUP`` line Asterisk sends when the caller leaves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

HANGUP_LINE = "HANGUP"
DEAD_CHANNEL = 511
INVALID_COMMAND = 510
USAGE_ERROR = 520
TRYING = 100


def parse_environment(block: bytes | str) -> dict[str, str]:
    """The ``agi_*`` variables Asterisk sends first, one ``name: value`` a line, blank-ended.

    Values may be empty (``agi_accountcode: ``) and may contain ``: `` themselves."""
    text = block.decode("utf-8", "replace") if isinstance(block, bytes) else block
    env: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        name, sep, value = line.partition(":")
        if sep and name.startswith("agi_"):
            env[name] = value[1:] if value.startswith(" ") else value
    return env


def route_of(env: Mapping[str, str]) -> str:
    """The script part of ``agi://host:port/script?args`` (``agi_network_script``)."""
    script = env.get("agi_network_script") or ""
    return script.split("?", 1)[0].strip("/")


_DATA = re.compile(r"^result=(?P<result>\S*)(?:\s+\((?P<data>.*)\))?(?P<rest>.*)$")
_KV = re.compile(r"(\w+)=(\S*)")


@dataclass(frozen=True, slots=True)
class Reply:
    """One parsed reply. ``result`` is the text after ``result=``; ``data`` the text in
    parentheses (``timeout``, a variable's value); ``extra`` other ``key=value`` pairs."""

    code: int
    result: str = ""
    data: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    text: str = ""

    @property
    def hangup(self) -> bool:
        return self.code == DEAD_CHANNEL or self.text == HANGUP_LINE

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"

    def get(self, key: str) -> str | None:
        return dict(self.extra).get(key)


def parse_reply(line: str) -> Reply:
    """Parse one reply line (without its newline). Never raises: unknown forms keep their text.

    ``HANGUP`` gets code 511 so callers test one property (:attr:`Reply.hangup`)."""
    line = line.rstrip("\r\n")
    if line == HANGUP_LINE:
        return Reply(code=DEAD_CHANNEL, text=line)
    head, rest = line[:3], line[3:]
    if not head.isdigit():
        return Reply(code=0, text=line)
    code = int(head)
    body = rest[1:] if rest[:1] in (" ", "-") else rest
    if code != 200:
        return Reply(code=code, text=line)
    m = _DATA.match(body)
    if m is None:
        return Reply(code=code, text=line)
    extra = tuple(_KV.findall(m.group("rest") or ""))
    return Reply(code=200, result=m.group("result"), data=m.group("data"), extra=extra, text=line)


def is_continuation(line: str) -> bool:
    """True for the first line of a multi-line ``520-`` usage reply; its end is ``520 ...``."""
    return line.startswith(f"{USAGE_ERROR}-")


def quote(value: str) -> str:
    """An AGI argument in double quotes; Asterisk's parser un-escapes ``\\"`` and ``\\\\``."""
    cleaned = value.replace("\r", " ").replace("\n", " ")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bare(value: str) -> str:
    """An unquoted argument (file names, variable names); spaces would split it, so refuse."""
    if not value or any(c in value for c in ' \t\r\n"'):
        raise ValueError(f"not a bare AGI argument: {value!r}")
    return value


# The commands, each rendered exactly as Asterisk's res_agi expects (and as the capture shows).

def answer() -> str:
    return "ANSWER"


def hangup() -> str:
    return "HANGUP"


def stream_file(name: str, escape_digits: str = "") -> str:
    return f"STREAM FILE {bare(name)} {quote(escape_digits)}"


def get_data(name: str, timeout_ms: int, max_digits: int) -> str:
    """``name`` empty: no prompt, only the reading of keys (the caller is already keying)."""
    file = bare(name) if name else quote("")
    return f"GET DATA {file} {int(timeout_ms)} {int(max_digits)}"


def say_digits(digits: str, escape_digits: str = "") -> str:
    if not digits or not all(c.isdigit() or c in "*#" for c in digits):
        raise ValueError(f"SAY DIGITS needs digits: {digits!r}")
    return f"SAY DIGITS {digits} {quote(escape_digits)}"


def say_number(number: int, escape_digits: str = "") -> str:
    return f"SAY NUMBER {int(number)} {quote(escape_digits)}"


def say_datetime(epoch: int, escape_digits: str = "", fmt: str = "", tz: str = "") -> str:
    cmd = f"SAY DATETIME {int(epoch)} {quote(escape_digits)}"
    if fmt or tz:
        cmd += f" {quote(fmt)}"
    if tz:
        cmd += f" {bare(tz)}"
    return cmd


def exec_app(app: str, args: str = "") -> str:
    return f"EXEC {bare(app)} {quote(args)}" if args else f"EXEC {bare(app)}"


def set_variable(name: str, value: str) -> str:
    return f"SET VARIABLE {bare(name)} {quote(value)}"


def get_variable(name: str) -> str:
    return f"GET VARIABLE {bare(name)}"


def verbose(message: str, level: int = 1) -> str:
    return f"VERBOSE {quote(message)} {int(level)}"
