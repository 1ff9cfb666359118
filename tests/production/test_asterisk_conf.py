"""The Asterisk configuration reader: the syntax rules Asterisk applies, one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.asterisk_conf import ConfigError, parse, parse_dialplan, pattern_matches


def conf(tmp_path: Path, text: str, name: str = "test.conf",
         files: dict[str, str] | None = None) -> Path:
    for fname, body in (files or {}).items():
        (tmp_path / fname).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / fname).write_text(body)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sections_values_and_comments(tmp_path: Path) -> None:
    cfg = parse(conf(tmp_path, """
; a comment
[general]
enabled = yes ; trailing comment
secret = a\\;b
;-- a block
comment = not a setting --;
port=5038
object => value
"""))
    general = cfg.section("general")
    assert general is not None
    assert general.get("enabled") == "yes"
    assert general.get("secret") == "a;b"
    assert general.get("comment") is None
    assert general.get("port") == "5038"
    obj = [e for e in general.entries if e.key == "object"]
    assert obj and obj[0].object and obj[0].value == "value"


def test_templates_are_inherited_in_order_and_hidden(tmp_path: Path) -> None:
    cfg = parse(conf(tmp_path, """
[base](!)
type = endpoint
allow = ulaw
[extra](!)
allow = alaw
transport = t1
[1001](base,extra)
transport = t2
"""))
    assert cfg.names() == {"1001"}
    assert cfg.names(templates=True) == {"base", "extra", "1001"}
    ep = cfg.section("1001", "endpoint")
    assert ep is not None
    assert ep.get_all("allow") == ["ulaw", "alaw"]
    assert ep.get("transport") == "t2"  # own value after inherited ones
    assert [e.inherited for e in ep.entries] == [True, True, True, True, False]


def test_unknown_template_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        parse(conf(tmp_path, "[a](missing)\nx = 1\n"))


def test_plus_adds_to_an_existing_section_even_from_an_include(tmp_path: Path) -> None:
    path = conf(tmp_path, '[auth]\ntype = auth\n#include "gen/secret.conf"\n',
                files={"gen/secret.conf": "[auth](+)\npassword = s3cret\n"})
    cfg = parse(path)
    auth = cfg.section("auth")
    assert auth is not None and auth.get("password") == "s3cret"
    assert cfg.included == [tmp_path / "gen" / "secret.conf"]


def test_plus_without_section_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such section"):
        parse(conf(tmp_path, "[nothere](+)\nx = 1\n"))


def test_missing_include_fails_but_tryinclude_does_not(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        parse(conf(tmp_path, "[a]\n#include \"nope.conf\"\n"))
    cfg = parse(conf(tmp_path, "[a]\nx = 1\n#tryinclude \"nope.conf\"\n"))
    assert cfg.section("a") is not None


def test_include_found_in_search_path(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "inc.conf").write_text("[b]\ny = 2\n")
    cfg = parse(conf(tmp_path, '#include "inc.conf"\n'), search=[other])
    assert cfg.section("b") is not None


def test_exec_and_orphan_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exec"):
        parse(conf(tmp_path, "#exec /bin/true\n"))
    with pytest.raises(ConfigError, match="before any"):
        parse(conf(tmp_path, "x = 1\n[a]\n"))
    with pytest.raises(ConfigError, match="key = value"):
        parse(conf(tmp_path, "[a]\njust words\n"))


def test_unclosed_block_comment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not closed"):
        parse(conf(tmp_path, "[a]\n;-- open\nx = 1\n"))


def test_dialplan_exten_same_labels_and_includes(tmp_path: Path) -> None:
    dp = parse_dialplan(parse(conf(tmp_path, """
[globals]
FOO = bar
[ctx]
exten => 100,1,Answer()
 same => n,Set(X=${IF($["${A}"=""]?1:2)})
 same => n(end),Hangup
exten => _1XX/5551234,1,NoOp(caller id match)
include => other
[other]
exten => s,1,Goto(ctx,100,end)
""")))
    assert dp.globals == {"FOO": "bar"}
    ctx = dp.contexts["ctx"]
    ext = ctx.extensions["100"]
    assert [(p.number, p.app) for p in ext.priorities] == [(1, "Answer"), (2, "Set"), (3, "Hangup")]
    assert ext.priorities[1].args == 'X=${IF($["${A}"=""]?1:2)}'
    assert ext.labels() == {"end"}
    assert "_1XX" in ctx.extensions
    assert ctx.includes == ["other"]
    assert ctx.find("150") is ctx.extensions["_1XX"]
    assert ctx.find("250") is None


@pytest.mark.parametrize("text, error", [
    ("[c]\nsame => n,NoOp()\n", "without an exten"),
    ("[c]\nexten => 1,n,NoOp()\n", "before priority 1"),
    ("[c]\nexten => 1,1,NoOp(\n", "closing"),
    ("[c]\nexten => 1,1,NoOp()\nexten => 1,1,NoOp()\n", "twice"),
    ("[c]\nexten = 1,1,NoOp()\n", "=>"),
    ("[c]\nexten => 1,1\n", "name,priority,app"),
    ("[c]\nfoo => bar\n", "unexpected"),
])
def test_dialplan_errors(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_dialplan(parse(conf(tmp_path, text)))


@pytest.mark.parametrize("pattern, exten, ok", [
    ("_X.", "13900000002", True),
    ("_X.", "1", False),  # '.' needs one more character
    ("_X!", "1", True),
    ("_[12]XXX", "1001", True),
    ("_[12]XXX", "3001", False),
    ("_[+0-9].", "+8613800000001", True),
    ("_[+0-9].", "s", False),
    ("_NXX", "123", False),
    ("_NXX", "223", True),
    ("_ZX", "09", False),
    ("_81XXXX", "811001", True),
    ("_81XXXX", "821001", False),
    ("_1-XX", "123", True),
    ("4000", "4000", True),
    ("4000", "4001", False),
])
def test_patterns(pattern: str, exten: str, ok: bool) -> None:
    assert pattern_matches(pattern, exten) is ok
