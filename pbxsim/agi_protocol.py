"""FastAGI wording, pure: the ``agi_*`` environment, command-line parsing, reply lines.

Forms follow what Asterisk 22 sent in ``fastagi_ivr.agi.jsonl`` (every variable, same order).
"""

from __future__ import annotations

import random
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from .engine.channels import Channel

AGI_VERSION = "GIT-22-22.0.0-pre1-541-g69535d4837"
DEFAULT_PORT = 4573
INVALID = "510 Invalid or unknown command\n"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"
# commands res_agi allows after the channel hung up
DEAD_OK = {"asyncagi break", "database del", "database deltree", "database get", "database put",
           "exec", "get full variable", "get variable", "noop", "set variable", "verbose"}
KNOWN = ("answer", "asyncagi break", "channel status", "control stream file", "database del",
         "database deltree", "database get", "database put", "exec", "get data",
         "get full variable", "get option", "get variable", "gosub", "hangup", "noop",
         "receive char", "receive text", "record file", "say alpha", "say date",
         "say datetime", "say digits", "say number", "say phonetic", "say time", "send image",
         "send text", "set autohangup", "set callerid", "set context", "set extension",
         "set music", "set priority", "set variable", "speech activate grammar",
         "speech create", "speech deactivate grammar", "speech destroy",
         "speech load grammar", "speech recognize", "speech set", "speech unload grammar",
         "stream file", "tdd mode", "verbose", "wait for digit")


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    script: str
    request: str
    args: tuple[str, ...]


def parse_target(data: str) -> Target | None:
    """``agi://host[:port][/script][,arg...]``; None for anything but FastAGI."""
    url, *args = data.split(",")
    parts = urlsplit(url.strip())
    if parts.scheme != "agi" or not parts.hostname:
        return None
    return Target(parts.hostname, parts.port or DEFAULT_PORT, parts.path.lstrip("/"),
                  url.strip(), tuple(args))


def unknown_if_empty(value: str) -> str:
    return value if value else "unknown"


def environment(ch: Channel, target: Target, threadid: int | None = None) -> bytes:
    """The block Asterisk sends first: ``agi_key: value`` lines and a blank line."""
    tid = threadid if threadid is not None else random.randint(10**14, 10**15 - 1)
    pairs = [
        ("network", "yes"), ("network_script", target.script), ("request", target.request),
        ("channel", ch.name), ("language", ch.language), ("type", ch.name.split("/")[0]),
        ("uniqueid", ch.uniqueid), ("version", AGI_VERSION),
        ("callerid", unknown_if_empty(ch.cid_num)),
        ("calleridname", unknown_if_empty(ch.cid_name)), ("callingpres", "0"),
        ("callingani2", "0"), ("callington", "0"), ("callingtns", "0"), ("dnid", "unknown"),
        ("rdnis", "unknown"), ("context", ch.context), ("extension", ch.exten),
        ("priority", str(ch.priority)), ("enhanced", "0.0"), ("accountcode", ch.accountcode),
        ("threadid", str(tid)),
    ]
    pairs += [(f"arg_{i}", a) for i, a in enumerate(target.args, 1)]
    return ("".join(f"agi_{k}: {v}\n" for k, v in pairs) + "\n").encode()


def split_command(line: str) -> list[str]:
    """Words as res_agi's parse_args splits them: whitespace, double quotes, backslash."""
    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.quotes = '"'
    lex.escape = "\\"
    lex.commenters = ""
    try:
        return list(lex)
    except ValueError:  # an unterminated quote: Asterisk takes the rest as the word
        return line.replace('"', "").split()


def match_command(argv: list[str]) -> tuple[str, list[str]] | None:
    """The longest known command the words start with, and the remaining arguments."""
    low = [w.lower() for w in argv]
    for n in (4, 3, 2, 1):
        name = " ".join(low[:n])
        if len(low) >= n and name in KNOWN:
            return name, argv[n:]
    return None


def usage(name: str) -> str:
    """A 520 reply (wrong arguments), multi-line as Asterisk sends it."""
    return (f"520-Invalid command syntax.  Proper usage follows:\n Usage: {name.upper()}\n"
            "520 End of proper usage.\n")
