"""Asterisk AlarmReceiver event files: the real samples captured from Asterisk 22."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from receivers import alarmreceiver
from tests.conftest import CAPTURES

SAMPLES = CAPTURES / "alarmreceiver"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_two_signals() -> None:
    result = alarmreceiver.read_file(SAMPLES / "event-two-signals", NOW)
    assert result.rejected == ()
    burglary, closing = result.signals
    assert (burglary.account, burglary.event_code, burglary.qualifier) == ("1234", "131", "new")
    assert (burglary.partition, burglary.zone, burglary.event_class) == ("01", "015", "alarm")
    assert (closing.event_code, closing.qualifier, closing.user, closing.arming) == (
        "401",
        "restore",
        "003",
        "close",
    )
    for sig in result.signals:
        assert sig.protocol == "alarmreceiver" and sig.event_system == "cid"
        assert sig.received_at == datetime(2026, 11, 21, 22, 41, 21, tzinfo=UTC)
        assert sig.extra == {"calling_from": "075512345678", "caller_name": "Panel"}
    assert burglary.sequence != closing.sequence
    assert burglary.raw == b"1234181131010158"


def test_fire_with_checksum_digit_zero() -> None:
    result = alarmreceiver.read_file(SAMPLES / "event-fire", NOW)
    (fire,) = result.signals
    assert (fire.event_code, fire.zone, fire.priority, fire.event_class) == (
        "110",
        "002",
        1,
        "alarm",
    )


def test_bad_checksum_file_has_no_events() -> None:
    result = alarmreceiver.read_file(SAMPLES / "event-bad-checksum-rejected", NOW)
    assert result.signals == () and result.rejected == ()
    assert result.metadata["CALLINGFROM"] == "075512345678"


def test_bad_checksum_string_is_rejected_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    text = (
        (SAMPLES / "event-two-signals")
        .read_bytes()
        .replace(b"1234181131010158", b"1234181131010159")
    )
    with caplog.at_level(logging.WARNING, logger="receivers.alarmreceiver"):
        result = alarmreceiver.parse(text, NOW)
    assert [s.event_code for s in result.signals] == ["401"]
    assert result.rejected[0][0] == "1234181131010159"
    assert "checksum" in result.rejected[0][1]
    assert any(r.name == "receivers.alarmreceiver" for r in caplog.records)


def test_missing_timestamp_falls_back_to_now() -> None:
    result = alarmreceiver.parse(
        b"[metadata]\nPROTOCOL=ADEMCO_CONTACT_ID\n[events]\n1234181602000002\n", NOW
    )
    assert result.signals[0].received_at == NOW


def test_file_without_events_section_is_rejected(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="receivers.alarmreceiver"):
        result = alarmreceiver.parse(b"[metadata]\nPROTOCOL=ADEMCO_CONTACT_ID\n", NOW)
    assert result.signals == () and result.rejected
    assert caplog.records
