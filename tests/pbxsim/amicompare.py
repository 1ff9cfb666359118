"""Compare two AMI message streams the way a CTI layer sees them: ids and times normalised,
the headers that carry meaning kept, order checked per channel / bridge / device / member and
for the milestone events across the whole stream."""

from __future__ import annotations

import re
from collections import defaultdict

from pbxsim.framing import Message

CHAN_RE = re.compile(r"(Local/[^\s;,|]+?|PJSIP/[^\s;,|-]+)-([0-9a-f]{8})(;[12])?")

KEEP = ("Channel", "ChannelStateDesc", "Context", "Exten", "Application", "AppData", "Variable",
        "Value", "Queue", "Interface", "MemberName", "Position", "Count", "OriginalPosition",
        "Cause", "DialStatus", "Reason", "Response", "Message", "Status", "Paused",
        "PausedReason", "State", "Device", "Result", "Extension", "ParkingSpace", "Class",
        "LocalOptimization", "DialString", "EventList", "ListItems", "CallerIDNum",
        "CallerIDName", "DestChannel", "SpyerChannel", "SpyeeChannel", "ParkeeChannel",
        "TransfererChannel", "TransfereeChannel", "BridgeNumChannels", "BridgeTechnology",
        "Strategy", "Location", "Name", "Data", "HoldTime", "TalkTime", "RingTime",
        "LocalOneChannel", "LocalTwoChannel", "Parkinglot", "ParkingTimeout", "InCall",
        "Membership", "Penalty", "Callers", "LoggedIn", "Available", "IsExternal")
TIME_VARS = re.compile(r"_MS$|^(ANSWEREDTIME|DIALEDTIME|QUEUEWAIT|RINGTIME|PROGRESSTIME)$")
STREAM_KEYS = ("Channel", "DestChannel", "LocalOneChannel", "LocalTwoChannel", "SpyerChannel",
               "SpyeeChannel", "ParkeeChannel", "TransfererChannel", "TransfereeChannel")
MILESTONES = {
    "Newchannel", "QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete",
    "AgentRingNoAnswer", "QueueCallerAbandon", "QueueCallerLeave", "QueueMemberAdded",
    "QueueMemberRemoved", "QueueMemberPause", "BlindTransfer", "ParkedCall", "ParkedCallGiveUp",
    "ParkedCallTimeOut", "ChanSpyStart", "ChanSpyStop", "MixMonitorStart", "MixMonitorStop",
    "BridgeCreate", "OriginateResponse"}
UNORDERED_LISTS = {"CoreShowChannel", "Status", "DeviceStateChange"}
SKIP_EVENTS = {"FullyBooted", "SuccessfulAuth", "RTCPSent", "RTCPReceived"}


class Normaliser:
    """Renames channels and bridges by order of first appearance."""

    def __init__(self) -> None:
        self.chan: dict[tuple[str, str], int] = {}
        self.count: dict[str, int] = defaultdict(int)
        self.bridges: dict[str, int] = {}

    def channel(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            base, seq, half = m.group(1), m.group(2), m.group(3) or ""
            key = (base, seq)
            if key not in self.chan:
                self.count[base] += 1
                self.chan[key] = self.count[base]
            return f"{base}-#{self.chan[key]}{half}"

        return CHAN_RE.sub(sub, text)

    def bridge(self, bid: str) -> str:
        if bid not in self.bridges:
            self.bridges[bid] = len(self.bridges) + 1
        return f"bridge#{self.bridges[bid]}"


def project(msg: Message, norm: Normaliser, ignore: set[str] = frozenset()) -> tuple[str, ...]:  # type: ignore[assignment]
    name = msg.get("Event") or ("Response:" + msg.get("Response"))
    out = [name]
    var = msg.get("Variable")
    for k, v in msg.pairs:
        if k not in KEEP or k in ignore:
            continue
        if k == "Value" and TIME_VARS.search(var):
            continue
        if k == "Message" and msg.has("Event"):
            continue
        if k in ("TalkTime", "HoldTime") and name in ("QueueParams", "QueueSummary"):
            continue  # running averages over the lab's whole history
        out.append(f"{k}={norm.channel(v)}")
    return tuple(out)


def streams(msgs: list[Message],
            ignore: set[str] = frozenset()) -> dict[str, list[tuple[str, ...]]]:  # type: ignore[assignment]
    norm = Normaliser()
    out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for msg in msgs:
        ev = msg.get("Event")
        if ev in SKIP_EVENTS:
            continue
        if ev and msg.has("ActionID") and not msg.has("Privilege") or msg.has("Response"):
            out["actions"].append(project(msg, norm, ignore))
            continue
        p = project(msg, norm, ignore)
        keys = [f"chan:{norm.channel(msg.get(k))}" for k in STREAM_KEYS if msg.get(k)]
        if msg.get("BridgeUniqueid"):
            keys.append(norm.bridge(msg.get("BridgeUniqueid")))
        if ev.startswith("QueueMember"):
            keys.append(f"member:{msg.get('Queue')}:{msg.get('Interface')}")
        if ev == "DeviceStateChange":
            keys.append(f"device:{norm.channel(msg.get('Device'))}")
        for k in dict.fromkeys(keys):
            out[k].append(p)
        if ev in MILESTONES:
            out["milestones"].append(p)
    # list responses come in the order of Asterisk's hash containers: compare them as sets
    acts = out.get("actions", [])
    i = 0
    while i < len(acts):
        j = i
        while j < len(acts) and acts[j][0] in UNORDERED_LISTS:
            j += 1
        if j > i:
            acts[i:j] = sorted(acts[i:j])
        i = j + 1
    return dict(out)


def diff(expected: list[Message], actual: list[Message],
         ignore: set[str] = frozenset(), skip_streams: tuple[str, ...] = ()) -> list[str]:  # type: ignore[assignment]
    """Human-readable differences; empty when the streams match. ``skip_streams`` names stream
    prefixes whose content depends on what the lab Asterisk did before the capture."""
    a, b = streams(expected, ignore), streams(actual, ignore)
    problems: list[str] = []
    for key in sorted(set(a) | set(b)):
        if key.startswith(skip_streams):
            continue
        ea, eb = a.get(key, []), b.get(key, [])
        if ea == eb:
            continue
        for i in range(max(len(ea), len(eb))):
            x = ea[i] if i < len(ea) else None
            y = eb[i] if i < len(eb) else None
            if x != y:
                problems.append(f"[{key}] #{i}: capture={x} pbxsim={y}")
                break
    return problems
