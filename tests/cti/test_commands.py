"""Each command's exact AMI action text (what Asterisk receives)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti import commands as c
from cti.ami_codec import encode_action


def text(action: c.Action | list[c.Action]) -> str:
    actions = action if isinstance(action, list) else [action]
    return "".join(encode_action(a).decode() for a in actions)


def test_agent_login_to_several_queues() -> None:
    assert text(c.agent_login(["support", "alarms"], "PJSIP/1101", "Chen Jing",
                              state_interface="PJSIP/1101", penalty=1)) == (
        "Action: QueueAdd\r\nQueue: support\r\nInterface: PJSIP/1101\r\nMemberName: Chen Jing\r\n"
        "StateInterface: PJSIP/1101\r\nPenalty: 1\r\nPaused: false\r\n\r\n"
        "Action: QueueAdd\r\nQueue: alarms\r\nInterface: PJSIP/1101\r\nMemberName: Chen Jing\r\n"
        "StateInterface: PJSIP/1101\r\nPenalty: 1\r\nPaused: false\r\n\r\n")


def test_login_paused_with_reason_and_logout() -> None:
    assert text(c.queue_add("support", "Local/1001@agent-phones/n", "Alice", paused=True,
                            reason="meeting")) == (
        "Action: QueueAdd\r\nQueue: support\r\nInterface: Local/1001@agent-phones/n\r\n"
        "MemberName: Alice\r\nPenalty: 0\r\nPaused: true\r\nReason: meeting\r\n\r\n")
    assert text(c.agent_logout(["support"], "Local/1001@agent-phones/n")) == (
        "Action: QueueRemove\r\nQueue: support\r\nInterface: Local/1001@agent-phones/n\r\n\r\n")


def test_pause_with_reason_and_unpause_everywhere() -> None:
    assert text(c.queue_pause("Local/1001@agent-phones/n", True, queue="support",
                              reason="lunch")) == (
        "Action: QueuePause\r\nQueue: support\r\nInterface: Local/1001@agent-phones/n\r\n"
        "Paused: true\r\nReason: lunch\r\n\r\n")
    assert text(c.queue_pause("PJSIP/1101", False)) == (
        "Action: QueuePause\r\nInterface: PJSIP/1101\r\nPaused: false\r\n\r\n")


def test_verification_call_has_ids_known_before_the_call() -> None:
    assert text(c.verification_call("PJSIP/1101", "139-0000-0002", outbound_context="outbound",
                                    incident_id="42", caller_id='"Alarm Center" <4000>')) == (
        "Action: Originate\r\nChannel: PJSIP/1101\r\nContext: outbound\r\n"
        "Exten: 139-0000-0002\r\nPriority: 1\r\nCallerID: \"Alarm Center\" <4000>\r\n"
        "Timeout: 30000\r\nAsync: true\r\nVariable: _VIGIL_AUTOANSWER=yes\r\n"
        "Variable: VIGIL_INCIDENT_ID=42\r\n"
        "ChannelId: verif-42-13900000002\r\nOtherChannelId: verif-42-13900000002-2\r\n\r\n")


@pytest.mark.parametrize(("mode", "exten"), [("listen", "811001"), ("whisper", "821001"),
                                             ("barge", "831001")])
def test_spy_goes_through_the_dialplan_on_one_channel(mode: str, exten: str) -> None:
    """Never Application=ChanSpy: [supervisor-spy] runs it with E, d and u."""
    assert text(c.spy_call("Local/2001@agent-phones", "1001", mode, context="supervisor-spy",
                           spied_channel="PJSIP/1001-0000000a", caller_id="Supervisor <2001>",
                           channel_id="spy-2001-1", timeout_ms=30000)) == (
        "Action: Originate\r\nChannel: Local/2001@agent-phones\r\nContext: supervisor-spy\r\n"
        f"Exten: {exten}\r\nPriority: 1\r\nCallerID: Supervisor <2001>\r\nTimeout: 30000\r\n"
        "Async: true\r\nVariable: _VIGIL_AUTOANSWER=yes\r\n"
        "Variable: VIGIL_SPY_CHANNEL=PJSIP/1001-0000000a\r\n"
        "ChannelId: spy-2001-1\r\nOtherChannelId: spy-2001-1-2\r\n\r\n")
    with pytest.raises(ValueError):
        c.spy_call("Local/2001@agent-phones", "1001", "shout", context="supervisor-spy")


def test_spy_mode_is_the_key_received_on_the_spying_channel() -> None:
    assert text(c.play_dtmf("Local/2001@agent-phones-00000002;1", c.SPY_KEYS["whisper"],
                            receive=True)) == (
        "Action: PlayDTMF\r\nChannel: Local/2001@agent-phones-00000002;1\r\nDigit: 5\r\n"
        "Duration: 250\r\nReceive: true\r\n\r\n")


def test_hangup_and_transfers() -> None:
    assert text(c.hangup("PJSIP/1101-00000001", cause=16)) == (
        "Action: Hangup\r\nChannel: PJSIP/1101-00000001\r\nCause: 16\r\n\r\n")
    # the exact action the blind_transfer capture sent
    assert text(c.blind_transfer("Local/1001@agent-phones-0000000a;1", "1002",
                                 "agent-phones")) == (
        "Action: BlindTransfer\r\nChannel: Local/1001@agent-phones-0000000a;1\r\nExten: 1002\r\n"
        "Context: agent-phones\r\n\r\n")
    assert text(c.attended_transfer("PJSIP/1101-00000001", "1002", "agent-phones")) == (
        "Action: Atxfer\r\nChannel: PJSIP/1101-00000001\r\nExten: 1002\r\n"
        "Context: agent-phones\r\n\r\n")


def test_park_and_retrieve() -> None:
    # the exact action the hold_park capture sent
    assert text(c.park("Local/talk@callers-0000001a;1",
                       timeout_channel="Local/1001@agent-phones-0000001b;1",
                       timeout_ms=30000)) == (
        "Action: Park\r\nChannel: Local/talk@callers-0000001a;1\r\n"
        "TimeoutChannel: Local/1001@agent-phones-0000001b;1\r\nTimeout: 30000\r\n\r\n")
    assert text(c.retrieve_parked("PJSIP/1101", "701")) == (
        "Action: Originate\r\nChannel: PJSIP/1101\r\nContext: parkedcalls\r\nExten: 701\r\n"
        "Priority: 1\r\nAsync: true\r\n\r\n")


def test_dtmf_one_action_per_digit() -> None:
    assert text(c.play_dtmf("PJSIP/1101-00000001", "1#")) == (
        "Action: PlayDTMF\r\nChannel: PJSIP/1101-00000001\r\nDigit: 1\r\nDuration: 250\r\n\r\n"
        "Action: PlayDTMF\r\nChannel: PJSIP/1101-00000001\r\nDigit: #\r\nDuration: 250\r\n\r\n")
    with pytest.raises(ValueError):
        c.play_dtmf("PJSIP/1101-00000001", "12x")


def test_recording_named_by_call() -> None:
    name = c.recording_filename("1795299928.26", datetime(2026, 11, 21, 22, 25, 30, tzinfo=UTC))
    assert name == "vigil-1795299928.26-20261121T222530Z.wav"
    assert c.recording_filename("verif/42 x", datetime(2026, 1, 2, tzinfo=UTC)) == (
        "vigil-verif_42_x-20260102T000000Z.wav")
    # the same text as the recording capture's MixMonitor / StopMixMonitor
    assert text(c.mixmonitor_start("Local/talk@callers-0000000d;1", "lab-recording-1.wav")) == (
        "Action: MixMonitor\r\nChannel: Local/talk@callers-0000000d;1\r\n"
        "File: lab-recording-1.wav\r\nOptions: b\r\n\r\n")
    assert text(c.mixmonitor_stop("Local/talk@callers-0000000d;1")) == (
        "Action: StopMixMonitor\r\nChannel: Local/talk@callers-0000000d;1\r\n\r\n")
