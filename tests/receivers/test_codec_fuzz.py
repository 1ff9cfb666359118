"""Hypothesis: no codec raises on any input; every rejection has its reply and a log line.
Seeded (``derandomize``) and bounded, so every run tries the same inputs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from receivers import ademco685, alarmreceiver, contact_id, dc09, surgard
from receivers.dc09 import Dc09Config, Dc09Key, Dc09Receiver
from receivers.outcome import Accepted, Rejected

NOW = datetime(2021, 12, 22, 12, 44, 30, tzinfo=UTC)
FUZZ = settings(
    max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DC09_VALID = [
    b'"SIA-DCS"1667L0#0000[#0000|Nri0/RP0000]_12:44:06,12-22-2021',
    b'"SIA-DCS"0001L#22334455[#22334455|NCQ1]_14:33:53,02-09-2020',
    b'"SIA-DCS"1660L0#000110[#000110|Nri0RP2^SL 1807110200065423^]_18:00:01,01-19-2022',
    b'"NULL"0000R1L1#9413[]_16:56:18,09-07-2023',
    b'"ADM-CID"0001L0#1002[#1002|1602 00 001]',
    b'"SIA-DCS"0001RF3L77#1234[#1234|NRR|Atest]',
    b'"*NULL"0000R0L0#AAAB[B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C44FBB96D476A3E557CAD64D9',
    b'"SIA-DCS"0009L0#99[#99|Nri1id2/BA1/FA2^x^][X1.5][I\xfc]_12:44:10,12-22-2021',
]
RECEIVER = Dc09Receiver(
    Dc09Config(keys={"AAAB": Dc09Key.from_text("AAAAAAAAAAAAAAAA")}, check_timestamp=False)
)


def with_envelope(body: bytes) -> bytes:
    """Frame a (mutated) body with a correct CRC and length, so the parser behind the
    envelope check gets fuzzed too."""
    return b"\n" + f"{dc09.crc16_arc(body):04X}{len(body):04X}".encode() + body + b"\r"


@st.composite
def mutated(draw: st.DrawFn, valid: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(valid)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[pos]
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


def check_dc09(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="receivers.dc09"):
        out = RECEIVER.handle(raw, NOW)
    assert isinstance(out, Accepted | Rejected)
    reply = dc09.parse_frame(out.reply)  # every reply is itself a valid frame
    if isinstance(out, Rejected):
        assert not out.reason.startswith("internal error"), out.reason
        assert reply.message_id in ("NAK", "DUH")
        assert any(r.name == "receivers.dc09" for r in caplog.records)
    else:
        assert reply.message_id == "ACK"


@FUZZ
@given(st.binary(max_size=300))
def test_dc09_arbitrary_bytes(caplog: pytest.LogCaptureFixture, raw: bytes) -> None:
    check_dc09(raw, caplog)


@FUZZ
@given(
    mutated(
        [b"\n" + f"{dc09.crc16_arc(b):04X}{len(b):04X}".encode() + b + b"\r" for b in DC09_VALID]
    )
)
def test_dc09_mutated_frames(caplog: pytest.LogCaptureFixture, raw: bytes) -> None:
    check_dc09(raw, caplog)


@FUZZ
@given(mutated(DC09_VALID))
@example(b'"SIA-DCS"0001L0#1[#1|N]')
@example(b'"SIA-DCS"0001L0#1[#1|Nri]')
@example(b'"*SIA-DCS"0001L0#AAAB[00]')
def test_dc09_mutated_bodies_with_valid_envelope(
    caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    check_dc09(with_envelope(body), caplog)


SURGARD_VALID = [
    b"5011 181234E13101015\x14",
    b"1011           @    \x14",
    b"3011    123456BA0012\x14",
]
ADEMCO_VALID = [b"\n11 1234 18 E131 01 C015\r", b"\n11 OKAY @ \r", b"\n12 1234 18 R401 01 U003\r"]


@FUZZ
@given(st.one_of(st.binary(max_size=60), mutated(SURGARD_VALID)))
def test_surgard_never_raises(caplog: pytest.LogCaptureFixture, raw: bytes) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="receivers.surgard"):
        out = surgard.parse_line(raw, NOW)
    if isinstance(out, Rejected):
        assert out.reply == b"\x15" and not out.reason.startswith("internal error")
        assert any(r.name == "receivers.surgard" for r in caplog.records)
    else:
        assert out.reply == b"\x06"


@FUZZ
@given(st.one_of(st.binary(max_size=60), mutated(ADEMCO_VALID)))
def test_ademco685_never_raises(caplog: pytest.LogCaptureFixture, raw: bytes) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="receivers.ademco685"):
        out = ademco685.parse_line(raw, NOW)
    if isinstance(out, Rejected):
        assert out.reply == b"\x15" and not out.reason.startswith("internal error")
        assert any(r.name == "receivers.ademco685" for r in caplog.records)
    else:
        assert out.reply == b"\x06"


AR_FILE = (
    b"\n\n[metadata]\n\nPROTOCOL=ADEMCO_CONTACT_ID\nCHECKSUM=yes\nCALLINGFROM=075512345678\n"
    b"TIMESTAMP=2026-11-21 22:41:21 UTC\n\n[events]\n\n1234181131010158\n1234183401010034\n"
)


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated([AR_FILE])))
def test_alarmreceiver_never_raises(caplog: pytest.LogCaptureFixture, raw: bytes) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="receivers.alarmreceiver"):
        result = alarmreceiver.parse(raw, NOW)
    assert all(not reason.startswith("internal error") for _, reason in result.rejected)
    if result.rejected:
        assert sum(r.name == "receivers.alarmreceiver" for r in caplog.records) >= 1


@FUZZ
@given(st.text(alphabet="0123456789ABCDEF \n", max_size=20))
def test_contact_id_raises_only_its_own_errors(text: str) -> None:
    try:
        msg = contact_id.parse(text)
    except contact_id.ContactIdError:
        return
    assert (
        contact_id.build(
            msg.account, msg.qualifier, msg.event_code, msg.group, msg.number, msg.message_type
        )
        == text.strip().upper()
    )
