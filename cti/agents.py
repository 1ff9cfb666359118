"""Who is behind a phone: Vigil users by extension, and the Asterisk names of a user's phone.

Asterisk knows agents by interface (``Local/1001@agent-phones/n``, ``PJSIP/1001``) and channel
(``PJSIP/1001-0000002a``); the console knows users. The extension ties them together:
:func:`extension_of` reads it from any of those names, :class:`PhonePlan` builds the names for a
user's extension (production: Local channels through the agent-phones context with the PJSIP
endpoint as state interface, as ``asterisk-config/queues.conf`` expects; demo: pbxsim's
controllable ``phones`` context), and :class:`AgentDirectory` caches users by extension so the
screen pop does not query the users table on its hot path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.db import Database
from core.models import User

_EXT = re.compile(r"^(?:[A-Za-z0-9]+/)?([^@/;\-]+)")


def extension_of(name: str | None) -> str | None:
    """``Local/1001@agent-phones/n``, ``PJSIP/1001-00000002``, ``PJSIP/1001`` -> ``1001``."""
    if not name:
        return None
    m = _EXT.match(name)
    return m.group(1) if m else None


@dataclass(frozen=True, slots=True)
class PhonePlan:
    """How a user's extension becomes the channel to ring and the queue member interface."""

    context: str = "agent-phones"
    state_technology: str | None = "PJSIP"
    #: where transfers to an extension go (None: ``context``, which Dials the phone in
    #: asterisk-config); must ring the phone *from* the transferred caller's channel
    transfer_context: str | None = None
    #: asterisk-config's ``[supervisor-spy]``: 81/82/83 + extension listen, whisper, barge
    spy_context: str = "supervisor-spy"

    @property
    def transfer_to(self) -> str:
        """The dialplan context a transfer to an agent's extension is sent to."""
        return self.transfer_context or self.context

    def channel(self, ext: str) -> str:
        """What an Originate rings to reach the user's phone."""
        return f"Local/{ext}@{self.context}"

    def interface(self, ext: str) -> str:
        """The queue member interface (``/n``: no local-channel optimisation, as app_queue
        needs to see the real answer)."""
        return f"Local/{ext}@{self.context}/n"

    def state_interface(self, ext: str) -> str | None:
        return f"{self.state_technology}/{ext}" if self.state_technology else None


@dataclass(frozen=True, slots=True)
class AgentUser:
    id: int
    username: str
    display_name: str
    extension: str
    role: str

    def to_json(self) -> dict[str, Any]:
        return {"user_id": self.id, "username": self.username,
                "display_name": self.display_name, "extension": self.extension}


class AgentDirectory:
    """Users by extension, reloaded at most every ``ttl`` seconds (monotonic clock)."""

    def __init__(self, db: Database, monotonic: Callable[[], float], ttl: float = 60.0) -> None:
        self.db = db
        self.monotonic = monotonic
        self.ttl = ttl
        self._by_ext: dict[str, AgentUser] = {}
        self._by_id: dict[int, AgentUser] = {}
        self._loaded_at: float | None = None

    async def refresh(self) -> None:
        async with self.db.session() as s:
            rows = (await s.execute(select(User).where(
                User.extension.is_not(None), User.archived_at.is_(None)))).scalars().all()
        users = [AgentUser(u.id, u.username, u.display_name, str(u.extension), u.role)
                 for u in rows if u.extension]
        self._by_ext = {u.extension: u for u in users}
        self._by_id = {u.id: u for u in users}
        self._loaded_at = self.monotonic()

    async def _fresh(self) -> None:
        if self._loaded_at is None or self.monotonic() - self._loaded_at > self.ttl:
            await self.refresh()

    async def by_extension(self, ext: str | None) -> AgentUser | None:
        await self._fresh()
        return self._by_ext.get(ext) if ext else None

    async def by_id(self, user_id: int | None) -> AgentUser | None:
        await self._fresh()
        if user_id is None:
            return None
        found = self._by_id.get(user_id)
        if found is None:  # a user given an extension since the last load
            await self.refresh()
            found = self._by_id.get(user_id)
        return found

    def cached(self, ext: str | None) -> AgentUser | None:
        return self._by_ext.get(ext) if ext else None


def record_user(directory: AgentDirectory) -> Callable[[dict[str, Any]], None]:
    """A call-record listener (:attr:`cti.ami_client.AmiClient.record_listeners`): a call that
    is not a queue call has no member name from app_queue; when a Vigil user's phone placed or
    took it (``agent_interface``), the record gets that user (``user_id``, and ``agent`` their
    display name), so a verification call or a click-to-dial is the operator's call in the
    records and the reports. From the directory's cache: the CTI looked the user up when it
    placed the call."""

    def complete(record: dict[str, Any]) -> None:
        if record.get("queue") or record.get("user_id"):
            return
        user = directory.cached(extension_of(record.get("agent_interface")))
        if user is not None:
            record["user_id"] = user.id
            record["agent"] = record.get("agent") or user.display_name

    return complete
