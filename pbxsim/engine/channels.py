"""Channels and bridges as Asterisk's AMI shows them (snapshots, states, Local halves)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dialplan import Pbx

DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "No user responding",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
}

Pairs = list[tuple[str, str]]


def _u(value: str) -> str:
    return value if value else "<unknown>"


@dataclass(eq=False)
class Channel:
    """One channel. ``device`` is what DeviceStateChange reports (``Local/1001@agent-phones``)."""

    name: str
    uniqueid: str
    linkedid: str
    state: int
    context: str
    exten: str
    device: str
    created: float
    priority: int = 1
    cid_num: str = ""
    cid_name: str = ""
    con_num: str = ""
    con_name: str = ""
    language: str = "en"
    accountcode: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    local_peer: Channel | None = None
    half: int = 0
    pbx: Pbx | None = None
    bridge: Bridge | None = None
    appl: str = ""
    data: str = ""
    dead: bool = False
    hangup_cause: int = 16
    answered_at: float | None = None
    # owner callbacks for channels driven by an application (dialed legs, originate legs)
    on_answer: Callable[[], None] | None = None
    on_hangup: Callable[[], None] | None = None
    on_busy: Callable[[int], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def snapshot(self, prefix: str = "") -> Pairs:
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", str(self.state)),
            (f"{p}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{p}CallerIDNum", _u(self.cid_num)),
            (f"{p}CallerIDName", _u(self.cid_name)),
            (f"{p}ConnectedLineNum", _u(self.con_num)),
            (f"{p}ConnectedLineName", _u(self.con_name)),
            (f"{p}Language", self.language),
            (f"{p}AccountCode", self.accountcode),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten),
            (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]

    def get_var(self, name: str) -> str | None:
        """``${NAME}``: a variable set as NAME, _NAME or __NAME (the inheritance prefixes are
        part of the stored name, not of the name dialplan reads)."""
        bare = name.lstrip("_")
        for key in (bare, "_" + bare, "__" + bare):
            if key in self.variables:
                return self.variables[key]
        return None

    def inherit_from(self, parent: Channel) -> list[tuple[str, str]]:
        """ast_channel_inherit_variables: a channel created on behalf of ``parent`` (Dial,
        Queue) gets its ``_VAR`` as ``VAR`` (one level only) and its ``__VAR`` as ``__VAR``
        (passed on again). Returns what it set: Asterisk 22 announces each with a VarSet on the
        child (the lab's PJSIP/1001 channel shows ``__VIGIL_AUTOANSWER``), which the caller
        emits where the captures show it."""
        inherited: list[tuple[str, str]] = []
        for key, value in parent.variables.items():
            if key.startswith("__"):
                inherited.append((key, value))
            elif key.startswith("_"):
                inherited.append((key[1:], value))
        self.variables.update(inherited)
        return inherited

    @property
    def is_local(self) -> bool:
        return self.local_peer is not None or self.half != 0


@dataclass(eq=False)
class Bridge:
    uniqueid: str
    technology: str = "simple_bridge"
    bridge_type: str = "basic"
    creator: str = ""
    name: str = ""
    channels: list[Channel] = field(default_factory=list)
    # called when a channel leaves and one (or none) remains: a two-party call ends
    dissolve_on_leave: bool = True
    # members AMI never shows (ConfBridge's announcer channel, CBAnn/…, is AST_CHAN_TP_INTERNAL)
    # but the bridge snapshot counts
    hidden: int = 0

    def header(self) -> Pairs:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", self.bridge_type),
            ("BridgeTechnology", self.technology),
            ("BridgeCreator", _u(self.creator)),
            ("BridgeName", _u(self.name)),
            ("BridgeNumChannels", str(len(self.channels) + self.hidden)),
            ("BridgeVideoSourceMode", "none"),
        ]
