"""A reader for Asterisk's configuration syntax, strict enough to catch what Asterisk refuses.

It follows the rules of Asterisk's own parser (main/config.c): ``[section]`` headers with
options in parentheses (``!`` marks a template, ``+`` adds to an existing section, any other
name is a template to inherit from, in order), ``key = value`` and ``key => value`` lines,
``;`` comments (``\\;`` is a literal semicolon) and ``;-- ... --;`` block comments, and
``#include`` / ``#tryinclude`` relative to the configuration directory. On top of it,
:func:`parse_dialplan` reads extensions.conf into contexts, extensions and priorities
(``exten =>``, ``same =>``, ``include =>``) and :func:`pattern_matches` applies Asterisk's
extension patterns. Used by the tests of ``asterisk-config/``; Asterisk never reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """A line Asterisk would refuse, with where it is."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` (``object`` when written ``=>``), and where it came from."""

    key: str
    value: str
    file: str
    line: int
    object: bool = False
    inherited: bool = False


@dataclass
class Section:
    """A ``[name]`` section; ``entries`` include those inherited from templates, first."""

    name: str
    file: str
    line: int
    template: bool = False
    bases: tuple[str, ...] = ()
    entries: list[Entry] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        """The last value of ``key`` (later lines override earlier ones, as in Asterisk)."""
        found = [e.value for e in self.entries if e.key == key]
        return found[-1] if found else None

    def get_all(self, key: str) -> list[str]:
        return [e.value for e in self.entries if e.key == key]


@dataclass
class Config:
    """A parsed file with its includes: sections in file order (names may repeat)."""

    path: Path
    sections: list[Section] = field(default_factory=list)
    included: list[Path] = field(default_factory=list)

    def named(self, name: str, templates: bool = False) -> list[Section]:
        return [s for s in self.sections if s.name == name and (templates or not s.template)]

    def section(self, name: str, type_: str | None = None) -> Section | None:
        """The first non-template section called ``name`` (and of ``type =`` type_, if given)."""
        for s in self.named(name):
            if type_ is None or s.get("type") == type_:
                return s
        return None

    def names(self, templates: bool = False) -> set[str]:
        return {s.name for s in self.sections if templates or not s.template}

    def of_type(self, type_: str) -> list[Section]:
        return [s for s in self.sections if not s.template and s.get("type") == type_]


_HEADER = re.compile(r"^\[(?P<name>[^\]]+)\]\s*(?:\((?P<opts>[^)]*)\))?\s*$")
_DIRECTIVE = re.compile(r"^#\s*(?P<cmd>include|tryinclude|exec)\s+(?P<arg>.+)$")


def _strip_comment(line: str, in_block: bool) -> tuple[str, bool]:
    """Remove comments from one line; returns the text left and whether a block is still open."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if in_block:
            end = line.find("--;", i)
            if end < 0:
                return "".join(out), True
            i = end + 3
            in_block = False
            continue
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if ch == ";":
            if line.startswith(";--", i):
                in_block = True
                i += 3
                continue
            break
        out.append(ch)
        i += 1
    return "".join(out), in_block


def parse(path: str | Path, search: Iterable[str | Path] = (), strict_includes: bool = True,
          text: str | None = None) -> Config:
    """Parse one configuration file.

    Includes are looked up relative to the file's directory, then in ``search`` (a stand-in for
    files generated at deployment). A missing ``#include`` is an error when ``strict_includes``
    (Asterisk refuses the file), a missing ``#tryinclude`` never is. ``#exec`` is refused:
    Vigil's configuration must not need ``execincludes``.
    """
    path = Path(path)
    cfg = Config(path=path)
    roots = [path.parent, *(Path(p) for p in search)]
    state: dict[str, Section | None] = {"current": None}
    body = text if text is not None else path.read_text(encoding="utf-8")
    _parse_into(cfg, path, body, roots, strict_includes, state, depth=0)
    return cfg


def _resolve_include(arg: str, roots: list[Path]) -> Path | None:
    name = arg.strip().strip('"').strip("<>").strip()
    candidate = Path(name)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for root in roots:
        if (root / candidate).is_file():
            return root / candidate
    return None


def _parse_into(cfg: Config, path: Path, text: str, roots: list[Path], strict: bool,
                state: dict[str, Section | None], depth: int) -> None:
    if depth > 10:
        raise ConfigError(str(path), 0, "includes nested too deeply (a loop?)")
    fname = path.name if path.parent == cfg.path.parent else str(path)
    in_block = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line, in_block = _strip_comment(raw, in_block)
        line = line.strip()
        if not line:
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            cmd, arg = directive["cmd"], directive["arg"]
            if cmd == "exec":
                raise ConfigError(fname, lineno, "#exec needs execincludes; not allowed here")
            target = _resolve_include(arg, roots)
            if target is None:
                if cmd == "include" and strict:
                    raise ConfigError(fname, lineno, f"#include {arg}: file not found")
                continue
            cfg.included.append(target)
            _parse_into(cfg, target, target.read_text(encoding="utf-8"), roots, strict, state,
                        depth + 1)
            continue
        if line.startswith("["):
            state["current"] = _header(cfg, fname, lineno, line)
            continue
        current = state["current"]
        if current is None:
            raise ConfigError(fname, lineno, "a setting before any [section]")
        key, obj, value = _split_setting(line)
        if key is None:
            raise ConfigError(fname, lineno, f"not 'key = value': {line!r}")
        current.entries.append(Entry(key, value, fname, lineno, obj))
    if in_block:
        raise ConfigError(fname, 0, "block comment ;-- not closed with --;")


def _split_setting(line: str) -> tuple[str | None, bool, str]:
    eq = line.find("=")
    if eq <= 0:
        return None, False, ""
    obj = line[eq + 1 : eq + 2] == ">"
    key = line[:eq].strip()
    value = line[eq + (2 if obj else 1) :].strip()
    return (key or None), obj, value


def _header(cfg: Config, fname: str, lineno: int, line: str) -> Section:
    m = _HEADER.match(line)
    if not m:
        raise ConfigError(fname, lineno, f"bad section header {line!r}")
    name = m["name"].strip()
    opts = [o.strip() for o in (m["opts"] or "").split(",") if o.strip()]
    if "+" in opts:
        if len(opts) > 1:
            raise ConfigError(fname, lineno, "(+) takes no other option")
        existing = [s for s in cfg.sections if s.name == name]
        if not existing:
            raise ConfigError(fname, lineno, f"[{name}](+): no such section to add to")
        return existing[-1]
    template = "!" in opts
    bases = tuple(o for o in opts if o != "!")
    section = Section(name=name, file=fname, line=lineno, template=template, bases=bases)
    for base in bases:
        found = [s for s in cfg.sections if s.name == base]
        if not found:
            raise ConfigError(fname, lineno, f"[{name}] inherits from unknown [{base}]")
        # Asterisk copies the variables of the last section of that name defined so far
        section.entries.extend(
            Entry(e.key, e.value, e.file, e.line, e.object, inherited=True)
            for e in found[-1].entries)
    cfg.sections.append(section)
    return section


# ----------------------------------------------------------------------------- dialplan


@dataclass(frozen=True)
class Priority:
    """One step of an extension: ``exten => 100,n(label),App(args)``."""

    number: int
    label: str | None
    app: str
    args: str
    file: str
    line: int


@dataclass
class Extension:
    name: str
    priorities: list[Priority] = field(default_factory=list)

    def labels(self) -> set[str]:
        return {p.label for p in self.priorities if p.label}


@dataclass
class Context:
    name: str
    extensions: dict[str, Extension] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)

    def find(self, exten: str) -> Extension | None:
        """The extension a dialed ``exten`` lands on: an exact name first, else a pattern."""
        if exten in self.extensions:
            return self.extensions[exten]
        for name, ext in self.extensions.items():
            if name.startswith("_") and pattern_matches(name, exten):
                return ext
        return None


@dataclass
class Dialplan:
    contexts: dict[str, Context]
    globals: dict[str, str]

    def applications(self) -> Iterator[tuple[Context, Extension, Priority]]:
        for ctx in self.contexts.values():
            for ext in ctx.extensions.values():
                for pri in ext.priorities:
                    yield ctx, ext, pri


_PRIORITY = re.compile(r"^(?P<p>\d+|n(?:\+\d+)?|hint)(?:\((?P<label>[A-Za-z0-9_-]+)\))?$")
_SPECIAL = {"general", "globals"}


def _split_args(text: str, limit: int) -> list[str]:
    """Split on commas outside parentheses and brackets, at most ``limit`` times."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0 and len(parts) < limit:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _application(text: str, file: str, line: int) -> tuple[str, str]:
    """``App(args)`` -> (App, args); a bare ``App`` has empty args."""
    text = text.strip()
    if "(" not in text:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", text):
            raise ConfigError(file, line, f"bad application {text!r}")
        return text, ""
    name, _, rest = text.partition("(")
    if not rest.endswith(")"):
        raise ConfigError(file, line, f"application {name!r} is missing its closing ')'")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name.strip()):
        raise ConfigError(file, line, f"bad application {name!r}")
    return name.strip(), rest[:-1]


def parse_dialplan(cfg: Config) -> Dialplan:
    """Contexts, extensions and priorities of an extensions.conf."""
    contexts: dict[str, Context] = {}
    globals_: dict[str, str] = {}
    for section in cfg.sections:
        if section.template:
            continue
        if section.name == "globals":
            globals_.update({e.key: e.value for e in section.entries})
            continue
        if section.name in _SPECIAL:
            continue
        ctx = contexts.setdefault(section.name, Context(section.name))
        last: Extension | None = None
        for entry in section.entries:
            if entry.key == "include":
                ctx.includes.append(entry.value.split(",")[0].strip())
                continue
            if entry.key not in ("exten", "same"):
                raise ConfigError(entry.file, entry.line,
                                  f"unexpected {entry.key!r} in context [{section.name}]")
            if not entry.object:
                raise ConfigError(entry.file, entry.line, f"{entry.key} needs '=>'")
            if entry.key == "exten":
                parts = _split_args(entry.value, 2)
                if len(parts) < 3:
                    raise ConfigError(entry.file, entry.line, "exten => needs name,priority,app")
                name, prio_text, app_text = parts
                name = name.split("/")[0].strip()  # drop a caller-ID match
                ext = ctx.extensions.setdefault(name, Extension(name))
            else:
                if last is None:
                    raise ConfigError(entry.file, entry.line, "same => without an exten before it")
                ext = last
                prio_text, _, app_text = entry.value.partition(",")
            number, label = _priority(prio_text.strip(), ext, entry)
            app, args = _application(app_text, entry.file, entry.line)
            if any(p.number == number for p in ext.priorities):
                raise ConfigError(entry.file, entry.line,
                                  f"priority {number} of {ext.name} defined twice")
            ext.priorities.append(Priority(number, label, app, args, entry.file, entry.line))
            last = ext
    return Dialplan(contexts, globals_)


def _priority(text: str, ext: Extension, entry: Entry) -> tuple[int, str | None]:
    m = _PRIORITY.match(text)
    if not m:
        raise ConfigError(entry.file, entry.line, f"bad priority {text!r}")
    p = m["p"]
    if p == "hint":
        return 0, None
    if p.startswith("n"):
        if not ext.priorities:
            raise ConfigError(entry.file, entry.line, "priority n before priority 1")
        step = int(p[2:]) if "+" in p else 1
        return ext.priorities[-1].number + step, m["label"]
    return int(p), m["label"]


def pattern_matches(pattern: str, exten: str) -> bool:
    """Whether a dialed ``exten`` matches an extension ``pattern`` (``_X.``, ``_[12]XXX``...)."""
    if not pattern.startswith("_"):
        return pattern == exten
    regex: list[str] = []
    i = 1
    body = pattern[1:]
    while i - 1 < len(body):
        ch = body[i - 1]
        up = ch.upper()
        if up == "X":
            regex.append("[0-9]")
        elif up == "Z":
            regex.append("[1-9]")
        elif up == "N":
            regex.append("[2-9]")
        elif ch == ".":
            regex.append(".+")
        elif ch == "!":
            regex.append(".*")
        elif ch == "[":
            end = body.find("]", i)
            if end < 0:
                raise ValueError(f"unclosed [ in pattern {pattern!r}")
            regex.append("[" + re.escape(body[i:end]).replace("\\-", "-") + "]")
            i = end + 1
        elif ch == "-":
            pass  # dashes are ignored in patterns
        else:
            regex.append(re.escape(ch))
        i += 1
    return re.fullmatch("".join(regex), exten) is not None
