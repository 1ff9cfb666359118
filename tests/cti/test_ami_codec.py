"""The AMI wire codec against real Asterisk bytes: framing, chunking, banner, action text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami_codec import (
    AmiDecoder,
    HeaderValue,
    encode_action,
    encode_message,
    parse_block,
)
from tests.conftest import CAPTURES


def _decode(chunks: list[bytes]) -> list[dict[str, str]]:
    dec = AmiDecoder()
    out: list[dict[str, str]] = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    assert dec.pending == 0
    return out


def test_capture_decodes_to_banner_then_messages(captures: Path) -> None:
    data = (captures / "queue_answered.ami").read_bytes()
    msgs = _decode([data])
    assert msgs[0] == {"Banner": "Asterisk Call Manager/11.0.0"}
    assert msgs[1] == {"Response": "Success", "ActionID": "lab-1",
                       "Message": "Authentication accepted"}
    assert sum(1 for m in msgs if "Event" in m) == data.count(b"\r\nEvent: ")
    added = next(m for m in msgs if m.get("Event") == "QueueMemberAdded")
    assert list(added)[:4] == ["Event", "Privilege", "Queue", "MemberName"]
    assert added["PausedReason"] == ""
    assert msgs[-1]["Response"] == "Goodbye"


def test_timeline_chunks_are_the_capture_bytes(captures: Path) -> None:
    for ami in sorted(captures.glob("*.ami")):
        lines = ami.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines()
        recv = [json.loads(x)["text"].encode() for x in lines if json.loads(x)["dir"] == "recv"]
        assert b"".join(recv) == ami.read_bytes(), ami.name
        assert _decode(recv) == _decode([ami.read_bytes()]), ami.name


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64, 1000])
def test_fixed_chunk_sizes_give_the_same_messages(captures: Path, size: int) -> None:
    data = (captures / "status_snapshot.ami").read_bytes()
    whole = _decode([data])
    assert _decode([data[i:i + size] for i in range(0, len(data), size)]) == whole


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20000), max_size=40))
def test_random_chunk_boundaries_give_the_same_messages(cuts: list[int]) -> None:
    raw = (CAPTURES / "originate_failure.ami").read_bytes()
    points = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert _decode(chunks) == _decode([raw])


def test_banner_mid_stream_and_stray_blank_lines() -> None:
    stream = (b"Asterisk Call Manager/11.0.0\r\nResponse: Goodbye\r\nActionID: a\r\n\r\n"
              b"\r\nAsterisk Call Manager/11.0.0\r\nEvent: Ping\r\n\r\n")
    assert _decode([stream[:10], stream[10:31], stream[31:]]) == [
        {"Banner": "Asterisk Call Manager/11.0.0"},
        {"Response": "Goodbye", "ActionID": "a"},
        {"Banner": "Asterisk Call Manager/11.0.0"},
        {"Event": "Ping"},
    ]


def test_incomplete_message_is_held_back() -> None:
    dec = AmiDecoder()
    assert dec.feed(b"Event: Hangup\r\nUniqueid: 1.2\r\n") == []
    assert dec.pending > 0
    assert dec.feed(b"\r\n") == [{"Event": "Hangup", "Uniqueid": "1.2"}]


def test_repeated_headers_chanvariables_and_bare_lines() -> None:
    msg = parse_block("Event: Newexten\r\nChanVariable: VIGIL_ACCOUNT_ID=1234\r\n"
                      "ChanVariable: VIGIL_IVR_PATH=main>cancel\r\nAccountCode:\r\nsome output")
    assert msg["ChanVariable"] == "VIGIL_ACCOUNT_ID=1234\nVIGIL_IVR_PATH=main>cancel"
    assert msg["ChanVariable(VIGIL_ACCOUNT_ID)"] == "1234"
    assert msg["ChanVariable(VIGIL_IVR_PATH)"] == "main>cancel"
    assert msg["AccountCode"] == ""
    assert msg["Output"] == "some output"


def test_encode_action_keeps_order_and_repeats_lists() -> None:
    action: dict[str, HeaderValue] = {"Action": "Originate", "Channel": "Local/1001@agent-phones",
              "Variable": ["PHONETIME=30", "INCIDENT_ID=42"], "Async": True, "Priority": 1,
              "ActionID": "lab-2"}
    assert encode_action(action) == (
        b"Action: Originate\r\nChannel: Local/1001@agent-phones\r\nVariable: PHONETIME=30\r\n"
        b"Variable: INCIDENT_ID=42\r\nAsync: true\r\nPriority: 1\r\nActionID: lab-2\r\n\r\n")


def test_encode_action_refuses_header_injection() -> None:
    with pytest.raises(ValueError):
        encode_action({"Action": "Hangup", "Channel": "x\r\nAction: Originate"})


def test_encode_message_round_trips(captures: Path) -> None:
    msgs = _decode([(captures / "supervisor_whisper.ami").read_bytes()])
    again = _decode([b"".join(encode_message(m) for m in msgs)])
    assert again == msgs
