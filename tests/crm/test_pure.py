"""Pure parts of crm: phone normalization, the completeness score, the schedule rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from crm.completeness import CHECKS, assess
from crm.models import (
    Account,
    Contact,
    Contract,
    Panel,
    Phone,
    Premises,
    ScheduleWindow,
    Zone,
)
from crm.phones import InvalidPhone, normalize, try_normalize
from crm.schedule import Override, Schedule, Window, expected_state

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["138 0013 8000", "+86-138-0013-8000", "008613800138000",
                                 "13800138000", " +86 138 0013 8000 "])
def test_written_forms_of_a_mobile_are_one_number(raw: str) -> None:
    assert normalize(raw, "CN") == "+8613800138000"


def test_landline_with_trunk_prefix_and_foreign_number() -> None:
    assert normalize("(010) 6552 9988", "CN") == "+861065529988"
    assert normalize("0086 10 6552 9988", "CN") == "+861065529988"
    assert normalize("+1 415 555 2671", "CN") == "+14155552671"
    # the default region decides how a number without a prefix is read
    assert normalize("020 7946 0958", "GB") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "   ", "hello", "12"])
def test_impossible_numbers_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidPhone) as err:
        normalize(raw, "CN")
    assert str(err.value)
    assert try_normalize(raw, "CN") is None


def full_account() -> Account:
    """A transient account with every part completeness looks at."""
    zone = Zone(number=1, description="front door", device_type="magnetic contact")
    panel = Panel(make="DSC", test_interval_minutes=1440, zones=[zone])
    owner = Contact(name="王芳", role="owner", call_order=1, passcode_hash="$argon2$x",
                    phones=[Phone(raw="13800138000", e164="+8613800138000")])
    return Account(
        number="1234", name="王芳",
        premises=[Premises(address="上海市浦东新区世纪大道1号", latitude=31.2, longitude=121.5)],
        panels=[panel], contacts=[owner],
        windows=[ScheduleWindow(weekday=0, opens=time(9), closes=time(18))],
        contracts=[Contract(starts_on=date(2025, 1, 1), ends_on=None)],
    )


def test_complete_account_scores_100() -> None:
    result = assess(full_account(), NOW.date())
    assert result.score == 100
    assert result.complete and result.missing == []


def test_empty_account_misses_everything_and_scores_0() -> None:
    result = assess(Account(number="1", name="x", premises=[], panels=[], contacts=[],
                            windows=[], contracts=[]), NOW.date())
    codes = {m.code for m in result.missing}
    assert codes >= {"no_premises", "no_panel", "no_contacts", "no_keyholder", "no_passcode",
                     "no_schedule", "no_contract"}
    # checks of parts that do not exist are not listed separately, but they score nothing
    assert not codes & {"no_address", "zones_without_description", "contacts_without_phone"}
    assert result.score == 0


def test_each_gap_is_named_and_lowers_the_score() -> None:
    base = assess(full_account(), NOW.date()).score
    acc = full_account()
    acc.contacts[0].role = "other"
    acc.contacts[0].passcode_hash = None
    acc.panels[0].zones.append(Zone(number=2, description=""))
    acc.panels[0].zones.append(Zone(number=3, description="  "))
    acc.premises[0].latitude = None
    acc.contracts[0].ends_on = date(2025, 12, 31)  # expired before NOW
    acc.windows[0].archived_at = NOW  # an archived window is no schedule
    result = assess(acc, NOW.date())
    missing = {m.code: m.count for m in result.missing}
    assert missing == {"no_keyholder": 1, "no_passcode": 1, "zones_without_description": 2,
                       "no_location": 1, "no_contract": 1, "no_schedule": 1}
    expected = base - round(100 * sum(CHECKS[c][0] for c in missing)
                            / sum(w for w, _ in CHECKS.values()))
    assert abs(result.score - expected) <= 1
    assert result.score < base


def test_contact_without_phone_is_reported() -> None:
    acc = full_account()
    acc.contacts.append(Contact(name="Li", role="keyholder", call_order=2, phones=[]))
    missing = {m.code: m.count for m in assess(acc, NOW.date()).missing}
    assert missing == {"contacts_without_phone": 1}


SHOP = Schedule(account_id=1, timezone="Asia/Shanghai",
                windows=tuple(Window(d, time(9), time(18)) for d in range(5)),
                holidays=frozenset({date(2026, 2, 17)}))


@pytest.mark.parametrize(("utc", "expected"), [
    (datetime(2026, 1, 5, 1, 0, tzinfo=UTC), "open"),     # Monday 09:00 Shanghai
    (datetime(2026, 1, 5, 0, 59, tzinfo=UTC), "closed"),  # Monday 08:59 Shanghai
    (datetime(2026, 1, 5, 10, 0, tzinfo=UTC), "closed"),  # Monday 18:00: closing time
    (datetime(2026, 1, 10, 3, 0, tzinfo=UTC), "closed"),  # Saturday
    (datetime(2026, 2, 17, 3, 0, tzinfo=UTC), "closed"),  # a holiday (a Tuesday)
])
def test_expected_state_in_local_time(utc: datetime, expected: str) -> None:
    assert expected_state(SHOP, utc) == expected


def test_overnight_window_and_overrides() -> None:
    night = Schedule(account_id=2, timezone="UTC", windows=(Window(4, time(22), time(6)),))
    assert expected_state(night, datetime(2026, 1, 9, 23, 0, tzinfo=UTC)) == "open"  # Fri
    assert expected_state(night, datetime(2026, 1, 10, 5, 0, tzinfo=UTC)) == "open"  # Sat
    assert expected_state(night, datetime(2026, 1, 10, 7, 0, tzinfo=UTC)) == "closed"
    closed_week = Override(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC),
                           "closed")
    shut = Schedule(1, "Asia/Shanghai", SHOP.windows, overrides=(closed_week,))
    assert expected_state(shut, datetime(2026, 1, 5, 3, 0, tzinfo=UTC)) == "closed"
    assert expected_state(Schedule(3), NOW) is None
