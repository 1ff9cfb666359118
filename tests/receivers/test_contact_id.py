"""Contact ID 16-digit form: vectors from protocol-vectors.md and the checksum rules."""

from __future__ import annotations

import pytest

from receivers import contact_id

# Checksum values as the spec states them, written out independently of the codec.
SPEC_VALUES = {
    **{str(d): d for d in range(1, 10)},
    "0": 10,
    "B": 11,
    "C": 12,
    "D": 13,
    "E": 14,
    "F": 15,
}


def spec_sum(s: str) -> int:
    return sum(SPEC_VALUES[c] for c in s)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234181131010158", ("1234", "new", "131", "01", "015", "zone")),
        ("1234181301000006", ("1234", "new", "301", "00", "000", "zone")),
        ("1234181602000002", ("1234", "new", "602", "00", "000", "zone")),
        ("1234183401010034", ("1234", "restore", "401", "01", "003", "user")),
        ("1234181110010020", ("1234", "new", "110", "01", "002", "zone")),
    ],
)
def test_vectors_decode(text: str, expected: tuple[str, ...]) -> None:
    msg = contact_id.parse(text)
    assert (msg.account, msg.qualifier, msg.event_code, msg.group, msg.number, msg.concerns) == (
        expected
    )
    assert msg.message_type == "18"
    assert spec_sum(text) % 15 == 0


def test_check_value_ten_is_written_zero() -> None:
    text = "1234181110010020"
    assert spec_sum(text[:15]) % 15 == 5  # so the check value must be 10
    assert contact_id.checksum_digit(text[:15]) == "0"
    assert contact_id.build("1234", "new", "110", "01", "002") == text


def test_check_value_fifteen_is_written_f() -> None:
    # Find a body whose digit sum is already a multiple of 15: check value 15, written "F".
    for zone in range(1, 1000):
        body = f"123418113101{zone:03d}"
        if spec_sum(body) % 15 == 0:
            break
    else:  # pragma: no cover
        pytest.fail("no body with sum divisible by 15")
    assert contact_id.checksum_digit(body) == "F"
    assert contact_id.parse(body + "F").number == f"{zone:03d}"


def test_hex_account_digits_count_eleven_to_fifteen() -> None:
    built = contact_id.build("BCDF", "new", "130", "01", "001")
    assert spec_sum(built) % 15 == 0
    assert contact_id.parse(built).account == "BCDF"
    assert contact_id.parse(built.lower()).account == "BCDF"


@pytest.mark.parametrize("text", ["1234181131010159", "1234181131010157", "1234181131010150"])
def test_wrong_checksum_raises_checksum_error(text: str) -> None:
    with pytest.raises(contact_id.ContactIdChecksumError):
        contact_id.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "123418113101015",  # 15 digits
        "12341811310101588",  # 17 digits
        "1234171131010158",  # message type 17
        "1234182131010158",  # qualifier 2
        "1A34181131010158",  # A is not a Contact ID digit
        "12341811B1010158",  # event code must be decimal
        "",
    ],
)
def test_malformed_raises_format_error(text: str) -> None:
    with pytest.raises(contact_id.ContactIdFormatError):
        contact_id.parse(text)


def test_errors_are_value_errors_of_one_family() -> None:
    assert issubclass(contact_id.ContactIdChecksumError, contact_id.ContactIdError)
    assert issubclass(contact_id.ContactIdFormatError, contact_id.ContactIdError)


def test_message_type_98_and_status_qualifier() -> None:
    text = contact_id.build("1234", "status", "301", "00", "000", message_type="98")
    msg = contact_id.parse(text)
    assert (msg.message_type, msg.qualifier) == ("98", "status")
