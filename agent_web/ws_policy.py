"""Which bus events a console user may see: a pure function of the user and the event.

Everyone on the floor sees the alarm side (incidents and received signals), because any operator
may have to take an alarm. Call, agent and screen-pop events that name an agent go to that agent;
supervisors and administrators also see every queue, agent, call and wallboard event and the
state of the telephony link.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Topics every logged-in user receives.
FLOOR_TOPICS = ("incident.*", "signal.received")
# Floor topics sent only to connections that ask for them (``/ws?topics=signal.received``):
# raw signals run at hundreds a second and the alarm queue needs only the incidents they make.
OPT_IN_TOPICS = frozenset({"signal.received"})
# Topics an agent receives only when the event names that agent.
PERSONAL_TOPICS = ("screenpop", "screenpop.*", "agent.*", "call.*", "verification.*")
# Topics supervisors and administrators receive in full (``security.alert``: a login or a
# passcode locked after repeated guesses; ``spy.*``: who listens to whom, never sent to the
# agent listened to).
SUPERVISOR_TOPICS = ("queue.*", "agent.*", "call.*", "cti.connection", "wallboard.*",
                     "security.*", "spy.*")

# Everything the hub subscribes to on the bus.
HUB_PATTERNS = tuple(dict.fromkeys(FLOOR_TOPICS + PERSONAL_TOPICS + SUPERVISOR_TOPICS))

# Fields of an event payload that name the agent it concerns.
AGENT_FIELDS = ("agent", "agent_id", "user_id", "operator", "operator_id", "username",
                "extension", "interface", "member")


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the policy needs to know about a connected user."""

    user_id: int
    username: str
    role: str
    extension: str | None = None

    @property
    def oversees(self) -> bool:
        return self.role in ("supervisor", "admin")

    def identities(self) -> set[str]:
        """Every way an event may name this user: id, username, extension, device."""
        ids = {str(self.user_id), self.username.lower()}
        if self.extension:
            ext = self.extension.lower()
            ids |= {ext, f"pjsip/{ext}", f"sip/{ext}", f"local/{ext}"}
        return ids


@functools.lru_cache(maxsize=4096)
def _matches(topic: str, patterns: tuple[str, ...]) -> bool:
    """Cached: a busy hub asks about the same few topics for every console."""
    return any(p == topic or fnmatch.fnmatchcase(topic, p) for p in patterns)


def opt_ins(raw: str | None) -> frozenset[str]:
    """The opt-in topics a connection asked for (a comma-separated ``topics`` parameter)."""
    if not raw:
        return frozenset()
    return frozenset(t.strip() for t in raw.split(",")) & OPT_IN_TOPICS


def for_everyone(topic: str) -> bool:
    """Whether every logged-in console may see this topic (no per-user check needed)."""
    return _matches(topic, FLOOR_TOPICS)


def _named(value: Any) -> set[str]:
    """The identities an agent field carries: a scalar, a dict with id/username/extension, or a
    list of either (a call may concern several agents)."""
    if value is None or isinstance(value, bool):
        return set()
    if isinstance(value, Mapping):
        out: set[str] = set()
        for key in ("id", "user_id", "username", "extension", "interface"):
            out |= _named(value.get(key))
        return out
    if isinstance(value, list | tuple | set | frozenset):
        out = set()
        for item in value:
            out |= _named(item)
        return out
    return {str(value).lower()}


def concerns(viewer: Viewer, data: Mapping[str, Any]) -> bool:
    """Whether an event payload names this viewer in one of its agent fields."""
    mine = viewer.identities()
    named: set[str] = set()
    for key in AGENT_FIELDS:
        if key in data:
            named |= _named(data[key])
    agents = data.get("agents")
    if agents is not None:
        named |= _named(agents)
    return bool(named & mine)


def may_see(viewer: Viewer, topic: str, data: Mapping[str, Any]) -> bool:
    """The hub's filter: floor topics for all, personal topics for the agent named, the rest
    for supervisors and administrators."""
    if _matches(topic, FLOOR_TOPICS):
        return True
    if viewer.oversees and _matches(topic, SUPERVISOR_TOPICS):
        return True
    if _matches(topic, PERSONAL_TOPICS):
        return concerns(viewer, data)
    return False
