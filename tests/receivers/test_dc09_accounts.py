"""Issue 13, finding 1: the account a DC-09 signal is stored under is the account whose key and
must-encrypt rule were applied. A plain frame whose header names an account without a key but
whose data block names a keyed account must not plant an alarm on the keyed account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from receivers import dc09
from receivers.dc09 import Dc09Config, Dc09Key, Dc09Receiver
from receivers.outcome import Accepted, Rejected

NOW = datetime(2026, 3, 1, 2, 0, 0, tzinfo=UTC)
KEY = Dc09Key.from_hex("00112233445566778899AABBCCDDEEFF")
RELAY_KEY = Dc09Key.from_text("relay-key-16char")
KEYED = {"9999": KEY}


def reply_id(out: Accepted | Rejected) -> str:
    return dc09.parse_frame(out.reply).message_id


@pytest.mark.parametrize("message_id,data", [
    ("SIA-DCS", "#9999|NBA05"),
    ("ADM-CID", "#9999|1130 01 005"),
])
def test_plain_frame_cannot_plant_a_signal_on_a_keyed_data_account(message_id: str,
                                                                   data: str) -> None:
    rx = Dc09Receiver(Dc09Config(keys=KEYED))
    raw = dc09.build_message(message_id, 1, "1234", data, now=NOW)
    out = rx.handle(raw, NOW)
    assert isinstance(out, Rejected) and reply_id(out) == "DUH"
    assert "9999" in out.reason


def test_header_without_account_does_not_bypass_the_data_accounts_key() -> None:
    rx = Dc09Receiver(Dc09Config(keys=KEYED))
    body = '"SIA-DCS"0001L0[#9999|NBA05]' + dc09.format_timestamp(NOW)
    out = rx.handle(dc09.build_frame(body), NOW)
    assert isinstance(out, Rejected) and reply_id(out) == "DUH"


def test_mismatched_accounts_are_refused_even_without_keys() -> None:
    rx = Dc09Receiver(Dc09Config())
    out = rx.handle(dc09.build_message("SIA-DCS", 2, "1234", "#5678|NBA05", now=NOW), NOW)
    assert isinstance(out, Rejected) and reply_id(out) == "DUH"
    assert "1234" in out.reason and "5678" in out.reason


def test_matching_accounts_still_work_plain_and_encrypted() -> None:
    rx = Dc09Receiver(Dc09Config(keys=KEYED))
    plain = rx.handle(dc09.build_message("SIA-DCS", 3, "1234", "#1234|NBA05", now=NOW), NOW)
    assert isinstance(plain, Accepted) and plain.signals[0].account == "1234"
    enc = rx.handle(dc09.build_message("SIA-DCS", 4, "9999", "#9999|NBA05", now=NOW, key=KEY),
                    NOW)
    assert isinstance(enc, Accepted) and enc.signals[0].account == "9999"


def test_relayed_accounts_when_allowed_apply_the_data_accounts_key_rule() -> None:
    rx = Dc09Receiver(Dc09Config(keys={**KEYED, "7000": RELAY_KEY}, allow_relayed_accounts=True))
    # A relay (header 7000) forwards an unkeyed panel's event: taken, stored under 5678.
    relayed = rx.handle(dc09.build_message("SIA-DCS", 5, "7000", "#5678|NBA05", now=NOW,
                                           key=RELAY_KEY), NOW)
    assert isinstance(relayed, Accepted) and relayed.signals[0].account == "5678"
    # A plain frame from an unkeyed header naming the keyed 9999 is still refused.
    plain = rx.handle(dc09.build_message("SIA-DCS", 6, "1234", "#9999|NBA05", now=NOW), NOW)
    assert isinstance(plain, Rejected) and reply_id(plain) == "DUH"
    # Encrypted by the relay's key, the keyed data account is taken (the relay vouches).
    ok = rx.handle(dc09.build_message("SIA-DCS", 7, "7000", "#9999|NBA05", now=NOW,
                                      key=RELAY_KEY), NOW)
    assert isinstance(ok, Accepted) and ok.signals[0].account == "9999"


def test_receiver_settings_reach_the_codec() -> None:
    from receivers.config import ReceiverSettings, dc09_config

    rx = ReceiverSettings(_env_file=None, dc09_allow_relayed_accounts=True,  # type: ignore[call-arg]
                          dc09_require_timestamp=True, dc09_timestamp_accounts=["abc1"])
    cfg = dc09_config(rx, "dc09")
    assert cfg.allow_relayed_accounts and cfg.require_timestamp
    assert cfg.timestamp_accounts == frozenset({"ABC1"})
    assert not dc09_config(ReceiverSettings(_env_file=None), "dc09").allow_relayed_accounts  # type: ignore[call-arg]


def test_a_database_endpoints_options_set_its_own_rules() -> None:
    from receivers.config import ReceiverSettings, dc09_config

    rx = ReceiverSettings(_env_file=None)  # type: ignore[call-arg]
    cfg = dc09_config(rx, "branch", None, {"require_timestamp": True,
                                           "require_encryption": True,
                                           "timestamp_accounts": ["ab12"], "unknown": 1})
    assert cfg.require_timestamp and cfg.require_encryption
    assert cfg.timestamp_accounts == frozenset({"AB12"})
    untimed = dc09.build_message("SIA-DCS", 1, "1234", "#1234|NBA05")
    assert isinstance(Dc09Receiver(cfg).handle(untimed, NOW), Rejected)
