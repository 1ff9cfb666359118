"""Issue 13: the AMI decoder against junk and mutated Asterisk traffic (seeded, bounded). It
never raises, yields only ``str -> str`` messages, and gives the same messages however TCP cut
the bytes; a line break can never be smuggled into an action we send."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.ami_codec import AmiDecoder, encode_action
from tests.conftest import CAPTURES

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SAMPLE = (b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\n"
          b"Message: Authentication accepted\r\n\r\nEvent: Newchannel\r\nChannel: PJSIP/1001-0001"
          b"\r\nChanVariable: VIGIL_ACCOUNT_ID=7\r\nUniqueid: 1795300126.58\r\n\r\n"
          b"Event: QueueMemberStatus\r\nQueue: support\r\nPaused: 0\r\n\r\n")


def capture_bytes() -> bytes:
    return sorted(CAPTURES.glob("*.ami"))[0].read_bytes()[:6000]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([SAMPLE, capture_bytes()])))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "crlf"]))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos]
        else:
            data[pos:pos] = draw(st.sampled_from([b"\r\n", b"\r\n\r\n", b": ", b"\n", b"\r"]))
    return bytes(data)


def decode(chunks: list[bytes]) -> tuple[list[dict[str, str]], int]:
    dec = AmiDecoder()
    out = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    return out, dec.pending


@FUZZ
@given(st.one_of(st.binary(max_size=600), mutated()), st.lists(st.integers(0, 7000),
                                                               max_size=12))
def test_decoder_never_raises_and_ignores_chunking(raw: bytes, cuts: list[int]) -> None:
    whole, pending = decode([raw])
    assert all(isinstance(k, str) and isinstance(v, str) for m in whole for k, v in m.items())
    points = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert decode(chunks) == (whole, pending)


@FUZZ
@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,11}", fullmatch=True),
                       st.text(max_size=30), min_size=1, max_size=5))
def test_no_action_can_carry_a_line_break(action: dict[str, str]) -> None:
    if any("\r" in v or "\n" in v for v in action.values()):
        with pytest.raises(ValueError):
            encode_action(action)
    else:
        frames, _ = decode([encode_action({"Action": "Ping", **action})])
        assert len(frames) <= 1
