"""app_confbridge: the ConfBridge application with marked and end-marked users, as Vigil's
three-way calls use it (asterisk-config/confbridge.conf, extensions.conf [vigil-conference]).

What AMI shows, as Asterisk 22 sends it (apps/app_confbridge.c, confbridge_manager.c): the first
party creates the room's bridge (type ``base``, technology ``softmix``, creator ``ConfBridge``,
named after the room; the announcer channel that joins it is internal and never shown, but the
bridge's channel count includes it), then ``ConfbridgeStart``; each party enters the bridge
(BridgeEnter) and then ``ConfbridgeJoin``; leaving is ``ConfbridgeLeave`` then BridgeLeave. When
the last *marked* user leaves, every ``end_marked`` user is removed (``CONFBRIDGE_RESULT`` is
``ENDMARKED``) and goes on in the dialplan. The last one out ends the room: ``ConfbridgeEnd``,
then the bridge is destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .channels import UP, Bridge, Channel, Pairs
from .dialplan import APPS, Step

if TYPE_CHECKING:
    from .core import Engine
    from .dialplan import Pbx


@dataclass(frozen=True)
class UserProfile:
    """The options of a confbridge.conf ``type=user`` section pbxsim honours."""

    marked: bool = False
    end_marked: bool = False
    admin: bool = False
    startmuted: bool = False


@dataclass(eq=False)
class _User:
    pbx: Pbx
    profile: UserProfile
    kicked: bool = False

    @property
    def ch(self) -> Channel:
        return self.pbx.ch


@dataclass(eq=False)
class Room:
    name: str
    bridge: Bridge
    users: list[_User] = field(default_factory=list)

    @property
    def marked(self) -> int:
        return sum(1 for u in self.users if u.profile.marked)


class ConfBridges:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rooms: dict[str, Room] = {}
        self.user_profiles: dict[str, UserProfile] = {"default_user": UserProfile()}

    def _event(self, name: str, room: Room, ch: Channel | None = None,
               extra: Pairs | None = None) -> None:
        pairs: Pairs = [("Conference", room.name)] + room.bridge.header()
        if ch is not None:
            pairs += ch.snapshot()
        self.engine.emit(name, "call,all", pairs + (extra or []))

    def app(self, pbx: Pbx, data: str, step: Step) -> bool:
        """ConfBridge(room[,bridge_profile[,user_profile]])."""
        eng, ch = self.engine, pbx.ch
        args = [a.strip() for a in data.split(",")]
        name = args[0]
        profile = self.user_profiles.get(args[2] if len(args) > 2 and args[2] else
                                         "default_user", UserProfile())
        if not name:
            return True
        if ch.state != UP:
            eng.answer(ch)
        room = self.rooms.get(name)
        if room is None:
            bridge = eng.bridge_create("softmix", bridge_type="base", creator="ConfBridge",
                                       name=name)
            bridge.hidden = 1  # the announcer
            room = self.rooms[name] = Room(name, bridge)
            self._event("ConfbridgeStart", room)
            eng.device_state(f"confbridge:{name}", "INUSE")
        user = _User(pbx, profile)
        room.users.append(user)
        eng.bridge_enter(room.bridge, ch)
        self._event("ConfbridgeJoin", room, ch, [("Admin", "Yes" if profile.admin else "No"),
                                                 ("Muted", "Yes" if profile.startmuted
                                                  else "No")])
        pbx.bridged = True
        pbx.cleanup = lambda: self._hung_up(room, user)
        return False

    def _pull(self, room: Room, user: _User) -> None:
        self._event("ConfbridgeLeave", room, user.ch,
                    [("Admin", "Yes" if user.profile.admin else "No")])
        room.users.remove(user)
        self.engine.bridge_leave(user.ch)

    def _hung_up(self, room: Room, user: _User) -> None:
        if user in room.users:
            self._pull(room, user)
            self._after_leave(room, user)
        user.pbx.end(int(user.ch.extra.get("req_cause", 16)))

    def _after_leave(self, room: Room, user: _User) -> None:
        """leave_marked: the last marked user gone, end-marked users are removed and go on in
        the dialplan; an empty room ends."""
        eng = self.engine
        if user.profile.marked and room.marked == 0:
            for other in [u for u in room.users if u.profile.end_marked and not u.kicked]:
                other.kicked = True
                eng.set_var(other.ch, "CONFBRIDGE_RESULT", "ENDMARKED")
                self._pull(room, other)
                other.pbx.cleanup = None
                other.pbx.resume()
        if not room.users and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
            self._event("ConfbridgeEnd", room)
            eng.device_state(f"confbridge:{room.name}", "NOT_INUSE")
            eng.bridge_destroy(room.bridge)


def install(engine: Engine) -> ConfBridges:
    bridges = ConfBridges(engine)
    APPS["confbridge"] = lambda pbx, data, step: pbx.engine.confbridges.app(pbx, data, step)
    return bridges
