"""The AMI 11 TCP server: banner, login (plain and MD5 challenge), event delivery, actions.

A thin asyncio shell: framing lives in ``framing``, behaviour in ``actions`` and the engine.
Events raised while an action is being handled are delivered after its response, as Asterisk's
session thread does.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field

from .engine.core import Engine
from .framing import BANNER, Message, Parser

EVENT_CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
                 "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test",
                 "security", "message")


def response(msg: Message, status: str, *pairs: tuple[str, object]) -> Message:
    """``Response: X`` then the client's ActionID (if it sent one), then the rest."""
    out = Message([("Response", status)])
    if msg.has("ActionID"):
        out.add("ActionID", msg.get("ActionID"))
    for k, v in pairs:
        out.add(k, v)
    return out


def error(msg: Message, text: str) -> Message:
    return response(msg, "Error", ("Message", text))


def ack(msg: Message, text: str) -> Message:
    return response(msg, "Success", ("Message", text))


def parse_eventmask(value: str) -> set[str] | None:
    """``on``/``off``/``all``/``none`` or a class list; None means invalid."""
    v = value.strip().lower()
    if v in ("on", "yes", "true", "all", "1"):
        return set(EVENT_CLASSES)
    if v in ("off", "no", "false", "none", "0", ""):
        return set()
    classes = {c.strip() for c in v.split(",") if c.strip()}
    if not classes <= set(EVENT_CLASSES):
        return None
    return classes


@dataclass
class Session:
    server: AmiServer
    writer: asyncio.StreamWriter
    sid: int
    authenticated: bool = False
    username: str = ""
    challenge: str = ""
    events: set[str] = field(default_factory=lambda: set(EVENT_CLASSES))
    busy: int = 0
    held: list[Message] = field(default_factory=list)
    closed: bool = False

    def send(self, msg: Message) -> None:
        if not self.closed:
            self.writer.write(msg.encode())

    def on_event(self, msg: Message) -> None:
        if not self.authenticated or not self.events:
            return
        priv = msg.get("Privilege")
        cls = priv.split(",")[0].lower() if priv else "call"
        if cls not in self.events:
            return
        if self.busy:
            self.held.append(msg)
        else:
            self.send(msg)

    def flush(self) -> None:
        held, self.held = self.held, []
        for m in held:
            self.send(m)


class AmiServer:
    """Serve AMI for an engine. ``users`` maps username to secret."""

    def __init__(self, engine: Engine, users: dict[str, str] | None = None,
                 version: str = "22.5.2") -> None:
        from .actions import ACTIONS

        self.engine = engine
        self.users = users if users is not None else {"lab": "labsecret"}
        self.version = version
        self.actions = ACTIONS
        self.sessions: list[Session] = []
        self._sid = itertools.count(0x7F0308000000)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._client, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for s in list(self.sessions):
            s.closed = True
            s.writer.close()
        for t in list(self._tasks):
            t.cancel()
        if self._server is not None:
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        sess = Session(self, writer, next(self._sid))
        self.sessions.append(sess)
        self.engine.listeners.append(sess.on_event)
        parser = Parser()
        writer.write(BANNER)
        try:
            while not sess.closed:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in parser.feed(data):
                    keep = await self.handle(sess, msg)
                    await writer.drain()
                    if not keep:
                        sess.closed = True
                        break
        except (ConnectionError, asyncio.CancelledError, ValueError):
            pass
        finally:
            sess.closed = True
            if sess.on_event in self.engine.listeners:
                self.engine.listeners.remove(sess.on_event)
            if sess in self.sessions:
                self.sessions.remove(sess)
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def handle(self, sess: Session, msg: Message) -> bool:
        """Process one action; False when the session must close (Logoff, failed login)."""
        action = msg.get("Action").strip()
        if not action:
            sess.send(error(msg, "Missing action in request"))
            return True
        low = action.lower()
        if low == "login":
            return self._login(sess, msg)
        if low == "challenge":
            sess.send(self._challenge(sess, msg))
            return True
        if low == "logoff":
            sess.send(response(msg, "Goodbye", ("Message", "Thanks for all the fish.")))
            return False
        if not sess.authenticated:
            sess.send(error(msg, "Permission denied"))
            return True
        handler = self.actions.get(low)
        if handler is None:
            self._security_event(sess, "RequestBadFormat", [("RequestType", action)])
            sess.send(error(msg, f"Invalid/unknown command: {action}. Use Action: ListCommands "
                                 "to show available commands."))
            return True
        sess.busy += 1
        try:
            result = handler(self, sess, msg)
            if isinstance(result, Awaitable):
                result = await result
            for out in result:
                sess.send(out)
        finally:
            sess.busy -= 1
        if not sess.busy:
            sess.flush()
        return True

    def _challenge(self, sess: Session, msg: Message) -> Message:
        if msg.get("AuthType").lower() != "md5":
            return error(msg, "Must specify AuthType")
        if not sess.challenge:
            sess.challenge = str(random.randint(100_000_000, 999_999_999))
        return response(msg, "Success", ("Challenge", sess.challenge))

    def _login(self, sess: Session, msg: Message) -> bool:
        if sess.authenticated:
            sess.send(ack(msg, "Already authenticated"))
            return True
        user = msg.get("Username")
        secret = self.users.get(user)
        ok = False
        if secret is not None:
            if msg.get("AuthType").lower() == "md5":
                want = hashlib.md5((sess.challenge + secret).encode()).hexdigest()
                ok = bool(sess.challenge) and msg.get("Key").lower() == want
            else:
                ok = msg.get("Secret") == secret
        if not ok:
            sess.send(error(msg, "Authentication failed"))
            return False
        if msg.has("Events"):
            mask = parse_eventmask(msg.get("Events"))
            sess.events = mask if mask is not None else set(EVENT_CLASSES)
        sess.authenticated, sess.username = True, user
        sess.send(ack(msg, "Authentication accepted"))
        now = self.engine.sched.now()
        if "system" in sess.events:
            up = int(now - self.engine.boot_time)
            sess.send(Message([("Event", "FullyBooted"), ("Privilege", "system,all"),
                               ("Uptime", str(up)), ("LastReload", str(up)),
                               ("Status", "Fully Booted")]))
        self._security_event(sess, "SuccessfulAuth", [("UsingPassword", "0")])
        return True

    def _security_event(self, sess: Session, name: str, extra: list[tuple[str, str]]) -> None:
        if "security" not in sess.events or not sess.authenticated:
            return
        import datetime as _dt

        tv = _dt.datetime.fromtimestamp(self.engine.sched.now(), _dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        peer = sess.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        local = sess.writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        pairs = [("Event", name), ("Privilege", "security,all"), ("EventTV", tv),
                 ("Severity", "Informational" if name == "SuccessfulAuth" else "Error"),
                 ("Service", "AMI"), ("EventVersion", "1"), ("AccountID", sess.username),
                 ("SessionID", hex(sess.sid)),
                 ("LocalAddress", f"IPV4/TCP/{local[0]}/{local[1]}"),
                 ("RemoteAddress", f"IPV4/TCP/{peer[0]}/{peer[1]}")]
        sess.send(Message(pairs + extra + [("SessionTV", tv)]))
