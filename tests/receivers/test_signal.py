"""Signal: derived class/priority, UTC normalisation, JSON-safe bus payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from receivers.signal import Signal

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def make(**kw: object) -> Signal:
    args: dict[str, object] = dict(
        received_at=T0,
        receiver="dc09",
        line="R1L1",
        protocol="dc09",
        account="1234",
        event_code="110",
        event_system="cid",
        qualifier="new",
        partition="01",
        zone="002",
        panel_time=T0 - timedelta(seconds=3),
        sequence="0042",
        extra={"text": "Küche 厨房", "verification": "https://v.example/1"},
        raw=b"\n\x00\xff\r",
    )
    args.update(kw)
    return Signal(**args)  # type: ignore[arg-type]


def test_class_and_priority_come_from_the_tables() -> None:
    fire = make()
    assert (fire.event_class, fire.priority) == ("alarm", 1)
    restore = make(qualifier="restore")
    assert restore.event_class == "restore" and restore.priority > fire.priority
    assert fire.name_en == "Fire alarm" and fire.name_zh == "火警"
    close = make(event_code="401", qualifier="restore", zone=None, user="003")
    assert (close.event_class, close.arming) == ("open_close", "close")


def test_round_trip_through_json() -> None:
    sig = make()
    payload = json.loads(json.dumps(sig.to_dict()))
    assert Signal.from_dict(payload) == sig
    assert payload["event_class"] == "alarm" and payload["priority"] == 1


def test_round_trip_without_optional_fields() -> None:
    sig = make(panel_time=None, partition=None, zone=None, sequence=None, extra={}, raw=b"")
    assert Signal.from_dict(json.loads(json.dumps(sig.to_dict()))) == sig


def test_received_at_is_normalised_to_utc() -> None:
    cst = timezone(timedelta(hours=8))
    sig = make(received_at=datetime(2026, 1, 2, 11, 4, 5, tzinfo=cst))
    assert sig.received_at == T0 and sig.received_at.tzinfo == UTC


@pytest.mark.parametrize(
    "kw",
    [
        {"received_at": datetime(2026, 1, 1)},
        {"panel_time": datetime(2026, 1, 1)},
        {"qualifier": "opening"},
        {"event_system": "sia2"},
    ],
)
def test_invalid_values_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(**kw)
