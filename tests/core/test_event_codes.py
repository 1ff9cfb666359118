"""The one event-code table: coverage of the published codes, classes, priorities, kinds and
desks, restore handling."""

from __future__ import annotations

import pytest

from core import event_codes as ec

# The common codes listed in protocol-vectors.md with the class a monitoring center expects.
COMMON_CID = {
    "100": "alarm",
    "110": "alarm",
    "120": "alarm",
    "121": "alarm",
    "130": "alarm",
    "131": "alarm",
    "132": "alarm",
    "133": "alarm",
    "137": "alarm",
    "301": "trouble",
    "302": "trouble",
    "309": "trouble",
    "344": "trouble",
    "350": "trouble",
    "373": "trouble",
    "380": "trouble",
    "383": "trouble",
    "384": "trouble",
    "401": "open_close",
    "403": "open_close",
    "406": "open_close",
    "407": "open_close",
    "441": "open_close",
    "454": "open_close",
    "455": "open_close",
    "570": "other",
    "601": "test",
    "602": "test",
    "606": "other",
    "627": "other",
    "628": "other",
}


@pytest.mark.parametrize(("code", "cls"), sorted(COMMON_CID.items()))
def test_common_contact_id_codes(code: str, cls: str) -> None:
    entry = ec.CONTACT_ID[code]
    assert entry.event_class == cls
    assert entry.en and entry.zh


# Code numbers of the published Contact ID (SIA DC-05) table, written out by range.
PUBLISHED = (
    [
        100,
        101,
        102,
        *range(110, 119),
        *range(120, 127),
        *range(130, 140),
        *range(140, 148),
        *range(150, 160),
        161,
        162,
        163,
    ]
    + [*range(200, 207)]
    + [
        *range(300, 314),
        *range(320, 328),
        *range(330, 340),
        *range(341, 345),
        *range(350, 358),
        *range(370, 379),
        *range(380, 390),
        391,
        392,
        393,
    ]
    + [
        *range(400, 410),
        *range(411, 417),
        *range(421, 435),
        441,
        442,
        *range(450, 460),
        *range(461, 467),
    ]
    + [501, *range(520, 528), 531, 532, 551, 552, 553, *range(570, 578)]
    + [*range(601, 610), *range(611, 617), *range(621, 633), 654]
    + [*range(750, 790)]
)


@pytest.mark.parametrize("code", [f"{n:03d}" for n in PUBLISHED])
def test_published_table_is_covered(code: str) -> None:
    assert code in ec.CONTACT_ID


def test_every_entry_is_well_formed() -> None:
    for table in (ec.CONTACT_ID, ec.SIA):
        for code, entry in table.items():
            assert entry.code == code
            assert entry.event_class in ec.EVENT_CLASSES
            assert entry.concerns in ("zone", "user", "none")
            assert 1 <= entry.priority <= 7
            assert entry.en.strip() and entry.zh.strip()


def test_life_safety_outranks_burglary_outranks_trouble_and_so_on() -> None:
    def prio(code: str) -> int:
        return ec.classify("cid", code, "new").priority

    life = [prio(c) for c in ("100", "110", "120", "121", "162")]
    burglary = [prio(c) for c in ("130", "131", "132")]
    trouble = [prio(c) for c in ("301", "302", "350")]
    supervisory = [prio(c) for c in ("200", "201")]
    open_close = [prio(c) for c in ("401", "441")]
    tests = [prio(c) for c in ("601", "602")]
    groups = [life, burglary, trouble, supervisory, open_close, tests]
    for higher, lower in zip(groups, groups[1:], strict=False):
        assert max(higher) < min(lower)


COMMON_SIA = {
    "BA": ("alarm", "new"),
    "BR": ("restore", "restore"),
    "BH": ("restore", "restore"),
    "FA": ("alarm", "new"),
    "FR": ("restore", "restore"),
    "PA": ("alarm", "new"),
    "HA": ("alarm", "new"),
    "MA": ("alarm", "new"),
    "OP": ("open_close", "new"),
    "CL": ("open_close", "new"),
    "OC": ("open_close", "new"),
    "BC": ("open_close", "new"),
    "RP": ("test", "new"),
    "RX": ("test", "new"),
    "AT": ("trouble", "new"),
    "AR": ("restore", "restore"),
    "YT": ("trouble", "new"),
    "YR": ("restore", "restore"),
    "TA": ("alarm", "new"),
    "TR": ("restore", "restore"),
    "CG": ("open_close", "new"),
    "FT": ("trouble", "new"),
    "FJ": ("restore", "restore"),
    "FS": ("supervisory", "new"),
    "BB": ("other", "new"),
    "BU": ("restore", "restore"),
    "YC": ("trouble", "new"),
    "YK": ("restore", "restore"),
    "LT": ("trouble", "new"),
    "LR": ("restore", "restore"),
}


@pytest.mark.parametrize(("code", "expected"), sorted(COMMON_SIA.items()))
def test_common_sia_codes(code: str, expected: tuple[str, str]) -> None:
    qualifier = ec.sia_qualifier(code)
    assert (ec.classify("sia", code, qualifier).event_class, qualifier) == expected


@pytest.mark.parametrize(
    ("cid", "sia"),
    [
        ("110", "FA"),
        ("120", "PA"),
        ("121", "HA"),
        ("100", "MA"),
        ("130", "BA"),
        ("301", "AT"),
        ("302", "YT"),
        ("602", "RP"),
        ("601", "RX"),
        ("200", "FS"),
    ],
)
def test_same_event_gets_same_class_in_both_languages(cid: str, sia: str) -> None:
    assert ec.classify("cid", cid, "new") == ec.classify("sia", sia, "new")


def test_restore_qualifier_makes_alarms_restores_but_not_open_close() -> None:
    assert ec.classify("cid", "131", "restore").event_class == "restore"
    assert ec.classify("cid", "301", "restore").event_class == "restore"
    assert ec.classify("cid", "401", "restore").event_class == "open_close"
    assert ec.classify("cid", "131", "status").event_class == "alarm"


def test_arming_direction() -> None:
    assert ec.arming("cid", "401", "new") == "open"
    assert ec.arming("cid", "401", "restore") == "close"
    assert ec.arming("cid", "131", "restore") is None
    assert ec.arming("sia", "OP", "new") == "open"
    assert ec.arming("sia", "CL", "new") == "close"
    assert ec.arming("sia", "CQ", "new") == "close"
    assert ec.arming("sia", "BA", "new") is None


def test_unknown_codes_fall_back_by_range() -> None:
    assert ec.contact_id("199").event_class == "alarm"
    assert ec.contact_id("399").event_class == "trouble"
    assert ec.contact_id("999").event_class == "other"
    assert ec.sia("QQ").event_class == "other"


def test_every_codes_class_is_its_kinds() -> None:
    """One truth: a code's class is its kind's class; ``other`` (no finer kind) never has a
    class that raises an incident."""
    for table in (ec.CONTACT_ID, ec.SIA):
        for code, entry in table.items():
            if entry.kind == "other":
                assert entry.event_class not in ec.INCIDENT_CLASSES, code
            else:
                assert ec.KINDS[entry.kind].event_class == entry.event_class, code


@pytest.mark.parametrize(("system", "code", "qualifier", "kind", "cls", "desk"), [
    ("sia", "CJ", "new", "closing", "open_close", "operator"),  # SIA "late close": a closing
    ("sia", "OJ", "new", "opening", "open_close", "operator"),
    ("sia", "NL", "new", "closing", "open_close", "operator"),  # perimeter armed (stay)
    ("cid", "401", "new", "opening", "open_close", "operator"),
    ("cid", "401", "restore", "closing", "open_close", "operator"),
    ("cid", "451", "restore", "closing", "open_close", "operator"),  # early close: a closing
    ("cid", "454", "new", "panel_open_close_exception", "open_close", "operator"),
    ("sia", "OI", "new", "panel_open_close_exception", "open_close", "operator"),
    ("cid", "406", "new", "cancel", "open_close", "operator"),
    ("sia", "FC", "new", "cancel", "open_close", "operator"),
    ("sia", "BH", "restore", "burglary", "restore", "operator"),  # a restore, not an alarm
    ("sia", "YK", "restore", "comm_trouble", "restore", "technical"),
    ("sia", "YD", "new", "comm_trouble", "trouble", "technical"),  # receiver line trouble
    ("cid", "354", "new", "comm_trouble", "trouble", "technical"),
    ("cid", "302", "new", "low_battery", "trouble", "technical"),
    ("sia", "SA", "new", "fire", "alarm", "operator"),  # sprinkler flow, as Contact ID 113
    ("sia", "FG", "new", "fire", "alarm", "operator"),
    ("cid", "151", "new", "alarm_24h", "alarm", "operator"),
    ("sia", "TS", "new", "other", "test", "operator"),  # a walk test starts: no incident
    ("cid", "612", "new", "other", "test", "operator"),
    ("cid", "602", "new", "test", "test", "operator"),
    ("sia", "JT", "new", "other", "other", "operator"),  # time changed: no incident
    ("cid", "570", "new", "bypass", "other", "operator"),
    ("sia", "BB", "new", "bypass", "other", "operator"),
    ("cid", "374", "new", "burglary", "alarm", "operator"),  # exit error alarm
    ("cid", "199", "new", "burglary", "alarm", "operator"),  # unknown, by range
    ("sia", "QQ", "new", "other", "other", "operator"),
])
def test_kinds_and_desks(system: str, code: str, qualifier: str, kind: str, cls: str,
                         desk: str) -> None:
    c = ec.classify(system, code, qualifier)
    assert (c.kind, c.event_class, c.desk) == (kind, cls, desk)


def test_gas_and_carbon_monoxide_are_life_safety_priority() -> None:
    for system, code in (("cid", "151"), ("cid", "162"), ("sia", "GA"), ("sia", "KA")):
        assert ec.classify(system, code, "new").priority == ec.PRIORITY_LIFE_SAFETY, code
