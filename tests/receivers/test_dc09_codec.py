"""SIA DC-09: every vector of protocol-vectors.md, replies byte for byte, keys and windows.

CRC and length of replies are checked with an independent CRC-16/ARC (MSB-first 0x8005 over
bit-reversed bytes) and AES with pycryptodome rather than the codec's own helpers.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from Crypto.Cipher import AES  # pycryptodome: independent of the codec's `cryptography` use

from receivers import dc09
from receivers.dc09 import Dc09Config, Dc09Key, Dc09Receiver
from receivers.outcome import Accepted, Rejected


def _reflect(value: int, width: int) -> int:
    return int(f"{value:0{width}b}"[::-1], 2)


def arc(data: bytes) -> int:
    """CRC-16/ARC computed the other way round: non-reflected 0x8005 on reversed bits."""
    crc = 0
    for byte in data:
        crc ^= _reflect(byte, 8) << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return _reflect(crc, 16)


def frame(body: str | bytes) -> bytes:
    raw = body.encode("latin-1") if isinstance(body, str) else body
    return b"\n" + f"{arc(raw):04X}{len(raw):04X}".encode() + raw + b"\r"


def check_envelope(reply: bytes) -> str:
    """Assert LF/CRC/LEN/CR of a reply independently; return its body."""
    assert reply[:1] == b"\n" and reply[-1:] == b"\r"
    body = reply[9:-1]
    assert int(reply[1:5], 16) == arc(body)
    assert int(reply[5:9], 16) == len(body)
    return body.decode("latin-1")


VECTORS = {
    "rp": 'F2EA003B"SIA-DCS"1667L0#0000[#0000|Nri0/RP0000]_12:44:06,12-22-2021',
    "cq": '78FC003B"SIA-DCS"0001L#22334455[#22334455|NCQ1]_14:33:53,02-09-2020',
    "text": '24810050"SIA-DCS"1660L0#000110[#000110|Nri0RP2^SL 1807110200065423^]'
    "_18:00:01,01-19-2022",
    "null": 'EEA50029"NULL"0000R1L1#9413[]_16:56:18,09-07-2023',
    "adm": '9EC40027"ADM-CID"0001L0#1002[#1002|1602 00 001]',
    "rr": 'F4D20029"SIA-DCS"0001RF3L77#1234[#1234|NRR|Atest]',
    "nak": 'E4410025"NAK"0000R0L0A0[]_16:20:01,09-24-2025',
    "enc_null": '76D80055"*NULL"0000R0L0#AAAB[B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C'
    "44FBB96D476A3E557CAD64D9",
    "ack": '910C0012"ACK"1667L0#0000[]',
}
TEXT_KEY = Dc09Key.from_text("AAAAAAAAAAAAAAAA")


def wire(name: str) -> bytes:
    return b"\n" + VECTORS[name].encode() + b"\r"


def at(ts: str) -> datetime:
    return datetime.strptime(ts, "%H:%M:%S,%m-%d-%Y").replace(tzinfo=UTC)


def accept(raw: bytes, now: datetime, config: Dc09Config | None = None) -> Accepted:
    out = Dc09Receiver(config or Dc09Config(receiver="rx1")).handle(raw, now)
    assert isinstance(out, Accepted), out
    return out


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_vector_envelopes_are_consistent(name: str) -> None:
    check_envelope(wire(name))
    assert dc09.crc16_arc(wire(name)[9:-1]) == arc(wire(name)[9:-1])


def test_crc_check_value() -> None:
    assert dc09.crc16_arc(b"123456789") == 0xBB3D == arc(b"123456789")


def test_rp_automatic_test_and_its_given_ack() -> None:
    now = at("12:44:06,12-22-2021") + timedelta(seconds=2)
    out = accept(wire("rp"), now)
    (sig,) = out.signals
    assert (sig.account, sig.event_system, sig.event_code, sig.qualifier) == (
        "0000",
        "sia",
        "RP",
        "new",
    )
    assert (sig.partition, sig.zone, sig.user, sig.event_class) == ("0", None, None, "test")
    assert sig.extra["number"] == "0000"
    assert (sig.sequence, sig.line, sig.receiver, sig.protocol) == ("1667", "L0", "rx1", "dc09")
    assert sig.panel_time == at("12:44:06,12-22-2021")
    assert sig.received_at == now and sig.raw == wire("rp")
    assert out.reply == b"\n" + VECTORS["ack"].encode() + b"\r"


def test_cq_with_line_without_digit_gets_a_valid_ack() -> None:
    out = accept(wire("cq"), at("14:33:53,02-09-2020"))
    (sig,) = out.signals
    assert (sig.account, sig.event_code, sig.user, sig.zone) == ("22334455", "CQ", "1", None)
    assert sig.event_class == "open_close" and sig.arming == "close"
    assert sig.line == "L"
    assert check_envelope(out.reply) == '"ACK"0001L#22334455[]'
    assert b"None" not in out.reply


def test_caret_text_is_decoded() -> None:
    (sig,) = accept(wire("text"), at("18:00:01,01-19-2022")).signals
    assert (sig.account, sig.event_code, sig.partition) == ("000110", "RP", "0")
    assert sig.extra["text"] == "SL 1807110200065423"
    assert sig.extra["number"] == "2"


def test_null_link_test_is_acknowledged() -> None:
    out = accept(wire("null"), at("16:56:18,09-07-2023"))
    assert out.link_test and out.signals == ()
    assert check_envelope(out.reply) == '"ACK"0000R1L1#9413[]'


def test_adm_cid_without_timestamp() -> None:
    out = accept(wire("adm"), datetime(2030, 1, 1, tzinfo=UTC))
    (sig,) = out.signals
    assert (sig.event_system, sig.account, sig.event_code, sig.qualifier) == (
        "cid",
        "1002",
        "602",
        "new",
    )
    assert (sig.partition, sig.zone, sig.panel_time, sig.event_class) == ("00", "001", None, "test")
    assert check_envelope(out.reply) == '"ACK"0001L0#1002[]'


def test_receiver_and_line_are_echoed() -> None:
    out = accept(wire("rr"), datetime(2030, 1, 1, tzinfo=UTC))
    (sig,) = out.signals
    assert (sig.event_code, sig.extra["text"], sig.line) == ("RR", "test", "RF3L77")
    assert check_envelope(out.reply) == '"ACK"0001RF3L77#1234[]'


def test_nak_vector_is_parsed_and_rebuilt_byte_for_byte() -> None:
    f = dc09.parse_frame(wire("nak"))
    fields = (f.message_id, f.sequence, f.receiver, f.line, f.account)
    assert fields == ("NAK", "0000", "0", "0", "0")
    assert dc09.build_nak(at("16:20:01,09-24-2025")) == wire("nak")


def test_ack_vector_is_parsed_as_reply() -> None:
    f = dc09.parse_frame(wire("ack"))
    fields = (f.message_id, f.sequence, f.receiver, f.line, f.account)
    assert fields == ("ACK", "1667", None, "0", "0000")


def test_a_panel_sending_ack_gets_duh() -> None:
    out = Dc09Receiver(Dc09Config()).handle(wire("ack"), datetime(2030, 1, 1, tzinfo=UTC))
    assert isinstance(out, Rejected)
    assert check_envelope(out.reply) == '"DUH"1667L0#0000[]'


# --- encryption ---------------------------------------------------------------------------


def aes_decrypt(key: bytes, hex_text: str) -> bytes:
    return AES.new(key, AES.MODE_CBC, iv=bytes(16)).decrypt(bytes.fromhex(hex_text))


def aes_encrypt(key: bytes, plain: bytes) -> str:
    return AES.new(key, AES.MODE_CBC, iv=bytes(16)).encrypt(plain).hex().upper()


@pytest.mark.parametrize("key", [TEXT_KEY, Dc09Key.from_hex("41" * 16)])
def test_encrypted_null_with_text_or_equal_hex_key(key: Dc09Key) -> None:
    now = at("18:24:52,07-05-2020")
    cfg = Dc09Config(keys={"AAAB": key})
    out = accept(wire("enc_null"), now, cfg)
    assert out.link_test
    body = check_envelope(out.reply)
    head = '"*ACK"0000R0L0#AAAB['
    assert body.startswith(head)
    plain = aes_decrypt(b"A" * 16, body[len(head) :]).decode("ascii")
    assert plain.endswith("|]_18:24:52,07-05-2020")
    assert len(plain) % 16 == 0 and "[" not in plain.split("|")[0]


def test_encrypted_ack_byte_for_byte_with_fixed_pad() -> None:
    now = at("18:24:52,07-05-2020")
    rx = Dc09Receiver(Dc09Config(keys={"AAAB": TEXT_KEY}), pad=lambda n: "x" * n)
    out = rx.handle(wire("enc_null"), now)
    assert isinstance(out, Accepted)
    plain = b"x" * 10 + b"|]_18:24:52,07-05-2020"  # 10 + 22 = two AES blocks
    expected = frame('"*ACK"0000R0L0#AAAB[' + aes_encrypt(b"A" * 16, plain))
    assert out.reply == expected


def test_default_key_is_used_for_accounts_without_their_own() -> None:
    out = accept(wire("enc_null"), at("18:24:52,07-05-2020"), Dc09Config(default_key=TEXT_KEY))
    assert out.link_test


@pytest.mark.parametrize("size", [16, 24, 32])
def test_encrypted_sia_dcs_with_each_key_size(size: int) -> None:
    key = bytes(range(1, size + 1))
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    inner = "#5678|Nri2/BA05]_07:08:09,05-06-2024"
    pad = "Q" * ((-len(inner) - 1) % 16)
    hex_text = aes_encrypt(key, (pad + "|" + inner).encode())
    raw = frame(f'"*SIA-DCS"0042R2L3#5678[{hex_text}')
    cfg = Dc09Config(keys={"5678": Dc09Key.from_hex(key.hex())})
    out = accept(raw, now, cfg)
    (sig,) = out.signals
    assert (sig.account, sig.event_code, sig.partition, sig.zone, sig.sequence) == (
        "5678",
        "BA",
        "2",
        "05",
        "0042",
    )
    body = check_envelope(out.reply)
    assert body.startswith('"*ACK"0042R2L3#5678[')
    assert aes_decrypt(key, body[len('"*ACK"0042R2L3#5678[') :]).endswith(b"|]_07:08:09,05-06-2024")


def test_wrong_key_gets_duh_and_no_signal(caplog: pytest.LogCaptureFixture) -> None:
    cfg = Dc09Config(keys={"AAAB": Dc09Key.from_text("BBBBBBBBBBBBBBBB")})
    with caplog.at_level(logging.WARNING, logger="receivers.dc09"):
        out = Dc09Receiver(cfg).handle(wire("enc_null"), at("18:24:52,07-05-2020"))
    assert isinstance(out, Rejected)
    assert check_envelope(out.reply) == '"DUH"0000R0L0#AAAB[]'
    assert any(r.name == "receivers.dc09" and "rejected" in r.getMessage() for r in caplog.records)


def test_no_key_for_encrypted_account_gets_duh() -> None:
    out = Dc09Receiver(Dc09Config()).handle(wire("enc_null"), at("18:24:52,07-05-2020"))
    assert isinstance(out, Rejected) and "no key" in out.reason
    assert check_envelope(out.reply) == '"DUH"0000R0L0#AAAB[]'


def test_keyed_account_sending_plain_text_gets_duh() -> None:
    cfg = Dc09Config(keys={"1234": TEXT_KEY})
    out = Dc09Receiver(cfg).handle(wire("rr"), datetime(2030, 1, 1, tzinfo=UTC))
    assert isinstance(out, Rejected)
    assert check_envelope(out.reply) == '"DUH"0001RF3L77#1234[]'


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("hex", "00" * 15),
        ("hex", "zz" * 16),
        ("hex", "00" * 20),
        ("text", "short"),
        ("text", "A" * 20),
        ("text", "é" * 16),
        ("base64", "A" * 16),
    ],
)
def test_bad_keys_are_refused(kind: str, value: str) -> None:
    with pytest.raises(ValueError):
        Dc09Key(kind, value)  # type: ignore[arg-type]


def test_key_repr_hides_the_key() -> None:
    assert "AAAA" not in repr(TEXT_KEY) and "128" in repr(TEXT_KEY)


# --- window, CRC, length ------------------------------------------------------------------

TS_BODY = '"SIA-DCS"0007R1L1#4321[#4321|NBA01]_10:00:00,03-04-2025'
TS = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (40, True), (41, False), (-20, True), (-21, False), (3600, False)],
)
def test_timestamp_window(offset: int, ok: bool) -> None:
    now = TS + timedelta(seconds=offset)
    out = Dc09Receiver(Dc09Config()).handle(frame(TS_BODY), now)
    if ok:
        assert isinstance(out, Accepted)
    else:
        assert isinstance(out, Rejected)
        assert out.reply == frame('"NAK"0000R0L0A0[]' + now.strftime("_%H:%M:%S,%m-%d-%Y"))


def test_window_is_configurable() -> None:
    cfg = Dc09Config(window_behind=timedelta(minutes=5))
    assert isinstance(Dc09Receiver(cfg).handle(frame(TS_BODY), TS + timedelta(minutes=4)), Accepted)
    cfg = Dc09Config(check_timestamp=False)
    assert isinstance(Dc09Receiver(cfg).handle(frame(TS_BODY), TS + timedelta(days=4)), Accepted)


def test_wrong_crc_gets_nak() -> None:
    raw = bytearray(frame(TS_BODY))
    raw[1:5] = b"0000" if raw[1:5] != b"0000" else b"0001"
    out = Dc09Receiver(Dc09Config()).handle(bytes(raw), TS)
    assert isinstance(out, Rejected) and "CRC" in out.reason
    assert out.reply == dc09.build_nak(TS)


def test_wrong_length_gets_nak() -> None:
    raw = bytearray(frame(TS_BODY))
    raw[5:9] = f"{len(TS_BODY) + 1:04X}".encode()
    out = Dc09Receiver(Dc09Config()).handle(bytes(raw), TS)
    assert isinstance(out, Rejected) and "length" in out.reason
    assert out.reply == dc09.build_nak(TS)


def test_crc_sent_as_two_raw_bytes_is_accepted() -> None:
    body = TS_BODY.encode()
    raw = b"\n" + arc(body).to_bytes(2, "big") + f"{len(body):04X}".encode() + body + b"\r"
    out = Dc09Receiver(Dc09Config()).handle(raw, TS)
    assert isinstance(out, Accepted)
    assert check_envelope(out.reply) == '"ACK"0007R1L1#4321[]'


# --- data details ---------------------------------------------------------------------------


def test_several_events_in_one_message_get_distinct_sequences() -> None:
    raw = frame('"SIA-DCS"0100L1#77[#77|Nri3/BA01/BA02/ri4/FA09]')
    sigs = accept(raw, TS).signals
    assert [(s.event_code, s.zone, s.partition, s.sequence) for s in sigs] == [
        ("BA", "01", "3", "0100"),
        ("BA", "02", "3", "0100.2"),
        ("FA", "09", "4", "0100.3"),
    ]


def test_user_from_id_modifier_and_restore_code() -> None:
    sigs = accept(frame('"SIA-DCS"0101L1#77[#77|Nri1id12/CL/ti10:59/BR04]'), TS).signals
    assert [(s.event_code, s.user, s.zone, s.qualifier, s.event_class) for s in sigs] == [
        ("CL", "12", None, "new", "open_close"),
        ("BR", "12", "04", "restore", "restore"),
    ]
    assert sigs[1].extra["sia_ti"] == "10:59"


def test_adm_cid_restore_is_a_closing_by_user() -> None:
    (sig,) = accept(frame('"ADM-CID"0005L0#1234[#1234|3401 01 003]'), TS).signals
    assert (sig.qualifier, sig.user, sig.zone, sig.arming) == ("restore", "003", None, "close")


def test_extended_data_windows_1252() -> None:
    body = (
        b'"SIA-DCS"0009L0#99[#99|NFA1][X113.9420][Y22.5431][IK\xfcche \x80 5]'
        b"[Vhttps://v.example/x]_10:00:00,03-04-2025"
    )
    (sig,) = accept(frame(body), TS).signals
    assert sig.extra["longitude"] == "113.9420" and sig.extra["latitude"] == "22.5431"
    assert sig.extra["text"] == "Küche € 5"
    assert sig.extra["verification"] == "https://v.example/x"


@pytest.mark.parametrize(
    "body",
    [
        '"SIA-DCS"0009L0#99[#99|NFA1',  # no closing bracket
        '"SIA-DCS"0009L0#99[#99|X12]',  # unknown block
        '"SIA-DCS"0009L0#99[#99|Nri1]',  # no event
        '"SIA-DCS"0009L0[]',  # no account anywhere
        '"ADM-CID"0009L0#99[#99|1602 00]',  # short Contact ID
        '"RSP"0009L0#99[]',  # unsupported message
    ],
)
def test_unprocessable_data_gets_duh(body: str) -> None:
    out = Dc09Receiver(Dc09Config()).handle(frame(body), TS)
    assert isinstance(out, Rejected)
    assert check_envelope(out.reply).startswith('"DUH"0009L0')


def test_garbage_gets_nak() -> None:
    out = Dc09Receiver(Dc09Config()).handle(b"\nhello\r", TS)
    assert isinstance(out, Rejected) and out.reply == dc09.build_nak(TS)


def test_split_frames_in_a_stream() -> None:
    a, b = wire("rp"), wire("null")
    frames, rest = dc09.split_frames(b"noise" + a + b + b[:10])
    assert frames == [a, b] and rest == b[:10]
    frames, rest = dc09.split_frames(rest + b[10:])
    assert frames == [b] and rest == b""
    frames, rest = dc09.split_frames(b"x" * (dc09.MAX_FRAME + 1))
    assert len(frames) == 1 and rest == b""


# --- the panel side (simulators) --------------------------------------------------------------


@pytest.mark.parametrize("key", [None, Dc09Key.from_hex("00112233445566778899AABBCCDDEEFF" * 2)])
def test_panel_message_round_trip_and_reply_can_be_opened(key: Dc09Key | None) -> None:
    now = datetime(2025, 6, 1, 0, 0, 0, tzinfo=UTC)
    raw = dc09.build_message(
        "SIA-DCS", 12345, "A1B2", "#A1B2|Nri1/FA03", receiver="7", line="2", now=now, key=key
    )
    check_envelope(raw)
    assert raw.count(b"FA03") == (0 if key else 1)  # encrypted content does not leak
    cfg = Dc09Config(keys={"A1B2": key} if key else {})
    out = accept(raw, now, cfg)
    (sig,) = out.signals
    assert (sig.account, sig.event_code, sig.zone, sig.sequence, sig.line) == (
        "A1B2",
        "FA",
        "03",
        "2345",
        "R7L2",
    )
    reply = dc09.parse_frame(out.reply)
    assert (reply.message_id, reply.encrypted, reply.sequence) == ("ACK", key is not None, "2345")
    content = dc09.open_content(reply, key)
    assert content.timestamp == (now if key else None)


def test_encrypted_panel_message_needs_time() -> None:
    with pytest.raises(ValueError):
        dc09.build_message("NULL", 1, "1", "", key=TEXT_KEY)
