"""Sur-Gard MLR2 / System 5 and Ademco 685 automation lines."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from receivers import ademco685, contact_id, surgard
from receivers.outcome import Accepted, Rejected

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_surgard_contact_id_vector() -> None:
    raw = b"5011 181234E13101015\x14"
    out = surgard.parse_line(raw, NOW, receiver="mlr2")
    assert isinstance(out, Accepted) and out.reply == b"\x06" and not out.link_test
    (sig,) = out.signals
    assert (sig.receiver, sig.line, sig.protocol, sig.account) == (
        "mlr2",
        "R01L1",
        "surgard",
        "1234",
    )
    assert (sig.event_system, sig.event_code, sig.qualifier) == ("cid", "131", "new")
    assert (sig.partition, sig.zone, sig.user, sig.raw) == ("01", "015", None, raw)


def test_surgard_restore_and_previous_qualifiers() -> None:
    out = surgard.parse_line(b"5021 185678R40102003\x14", NOW)
    assert isinstance(out, Accepted)
    (sig,) = out.signals
    assert (sig.qualifier, sig.user, sig.line, sig.arming) == ("restore", "003", "R02L1", "close")
    out = surgard.parse_line(b"5011 181234P30100000\x14", NOW)
    assert isinstance(out, Accepted) and out.signals[0].qualifier == "status"


def test_surgard_heartbeat_vector() -> None:
    out = surgard.parse_line(b"1011           @    \x14", NOW)
    assert (
        isinstance(out, Accepted) and out.link_test and out.signals == () and out.reply == b"\x06"
    )
    assert surgard.build_heartbeat("01", "1") == b"1011           @    \x14"


def test_surgard_sia_line() -> None:
    out = surgard.parse_line(b"3011      1234BA0012\x14", NOW)
    assert isinstance(out, Accepted)
    (sig,) = out.signals
    assert (sig.account, sig.event_system, sig.event_code, sig.zone) == (
        "1234",
        "sia",
        "BA",
        "0012",
    )
    out = surgard.parse_line(b"3011    123456CL0003\x14", NOW)
    assert isinstance(out, Accepted)
    (sig,) = out.signals
    assert (sig.account, sig.event_code, sig.user, sig.arming) == ("123456", "CL", "0003", "close")
    out = surgard.parse_line(b"3011    123456BR0002\x14", NOW)
    assert isinstance(out, Accepted) and out.signals[0].qualifier == "restore"


@pytest.mark.parametrize(
    "raw",
    [
        b"5011 181234X13101015\x14",
        b"5011 181234E131010\x14",
        b"garbage\x14",
        b"\x14",
        b"5011 18\xff234E13101015\x14",
    ],
)
def test_surgard_garbled_line_gets_nak_and_a_log_line(
    raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="receivers.surgard"):
        out = surgard.parse_line(raw, NOW)
    assert isinstance(out, Rejected) and out.reply == b"\x15"
    assert [r.name for r in caplog.records] == ["receivers.surgard"]


def test_surgard_builder_round_trips() -> None:
    msg = contact_id.parse(contact_id.build("4321", "new", "110", "02", "007"))
    out = surgard.parse_line(surgard.build_contact_id_line("03", "2", msg), NOW)
    assert isinstance(out, Accepted)
    assert (out.signals[0].account, out.signals[0].zone, out.signals[0].line) == (
        "4321",
        "007",
        "R03L2",
    )


def test_surgard_stream_split() -> None:
    hb = b"1011           @    \x14"
    lines, rest = surgard.split(hb + b"5011 181234E13101015\x14" + b"5011 18")
    assert lines == [hb, b"5011 181234E13101015\x14"] and rest == b"5011 18"


def test_ademco685_event_and_user_lines() -> None:
    out = ademco685.parse_line(b"\n11 1234 18 E131 01 C015\r", NOW, receiver="685")
    assert isinstance(out, Accepted) and out.reply == b"\x06"
    (sig,) = out.signals
    assert (sig.receiver, sig.line, sig.protocol, sig.account, sig.event_code) == (
        "685",
        "R1L1",
        "ademco685",
        "1234",
        "131",
    )
    assert (sig.qualifier, sig.partition, sig.zone, sig.user) == ("new", "01", "015", None)
    out = ademco685.parse_line(b"\n12 1234 18 R401 01 U003\r", NOW)
    assert isinstance(out, Accepted)
    (sig,) = out.signals
    assert (sig.line, sig.qualifier, sig.zone, sig.user, sig.arming) == (
        "R1L2",
        "restore",
        None,
        "003",
        "close",
    )


def test_ademco685_heartbeat() -> None:
    out = ademco685.parse_line(b"\n11 OKAY @ \r", NOW)
    assert isinstance(out, Accepted) and out.link_test and out.reply == b"\x06"


@pytest.mark.parametrize(
    "raw", [b"\n11 1234 18 E131 01 X015\r", b"\n11 1234 17 E131 01 C015\r", b"\nhello\r", b"\r"]
)
def test_ademco685_garbled_line_gets_nak_and_a_log_line(
    raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="receivers.ademco685"):
        out = ademco685.parse_line(raw, NOW)
    assert isinstance(out, Rejected) and out.reply == b"\x15"
    assert [r.name for r in caplog.records] == ["receivers.ademco685"]


def test_ademco685_builder_round_trips() -> None:
    msg = contact_id.parse("1234183401010034")
    line = ademco685.build_line("1", "1", msg)
    assert line == b"\n11 1234 18 R401 01 U003\r"
    lines, rest = ademco685.split(line + line[:5])
    assert lines == [line] and rest == line[:5]
