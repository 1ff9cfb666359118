"""Our DC-09 frames read by another implementation: pysiaalarm (a dev dependency only) parses
what the panel simulator's encoder builds, plain and encrypted, with the same CRC, route,
account, event and time. Vigil does not use pysiaalarm at run time (receivers/README.md says
where it goes wrong); here it is an independent reader of our bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pysiaalarm import SIAAccount
from pysiaalarm.event import SIAEvent

from receivers import dc09
from receivers.dc09 import Dc09Key

NOW = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


def read(frame: bytes, key: str | None = None) -> SIAEvent:
    assert frame[:1] == b"\n" and frame[-1:] == b"\r"
    event = SIAEvent.from_line(frame.decode("ascii").strip(), {"1234": SIAAccount("1234", key)})
    assert event.valid_message, "pysiaalarm computes the same CRC"
    return event


def test_plain_sia_dcs_frame() -> None:
    event = read(dc09.build_message("SIA-DCS", 7, "1234", "#1234|Nri1/BA003", line="1",
                                    receiver="2", now=NOW))
    assert (event.sequence, event.receiver, event.line, event.account) == ("0007", "R2", "L1",
                                                                           "1234")
    assert (event.code, event.ri, event.message, event.timestamp) == ("BA", "1", "003", NOW)


@pytest.mark.parametrize("key", ["0123456789ABCDEF", "0123456789ABCDEF01234567",
                                 "0123456789ABCDEF0123456789ABCDEF"])  # AES-128, -192, -256
def test_encrypted_frames_decrypt_with_the_same_key(key: str) -> None:
    for sequence in range(20):  # a fresh random pad each time
        event = read(dc09.build_message("SIA-DCS", sequence, "1234", "#1234|Nri1/FA002",
                                        now=NOW, key=Dc09Key.from_text(key)), key)
        assert event.encrypted and event.sequence == f"{sequence:04d}"
        assert (event.code, event.ri, event.message, event.timestamp) == ("FA", "1", "002", NOW)


def test_adm_cid_frame() -> None:
    event = read(dc09.build_message("ADM-CID", 9, "1234", "#1234|1130 01 015", now=NOW))
    assert (event.event_qualifier, event.event_type, event.partition, event.ri) == (
        "1", "130", "01", "015")
    assert event.code == "BA"  # pysiaalarm's SIA equivalent of Contact ID 130
