"""Event tables: coverage of the published codes, classes, priorities and restore handling."""

from __future__ import annotations

import pytest

from receivers import event_codes as ec

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
        return ec.classify("cid", code, "new")[1]

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
    assert (ec.classify("sia", code, qualifier)[0], qualifier) == expected


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
    assert ec.classify("cid", "131", "restore")[0] == "restore"
    assert ec.classify("cid", "301", "restore")[0] == "restore"
    assert ec.classify("cid", "401", "restore")[0] == "open_close"
    assert ec.classify("cid", "131", "status")[0] == "alarm"


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
