"""The AMI shell: banner, login forms, errors worded as Asterisk words them, panoramisk."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from pbxsim.ami_server import AmiServer
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.core import Engine
from pbxsim.framing import Message, Parser, encode


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.parser = reader, writer, Parser()
        self.inbox: list[Message] = []

    async def send(self, *pairs: tuple[str, str]) -> Message:
        self.writer.write(encode(pairs))
        aid = dict(pairs).get("ActionID")
        while True:
            for i, m in enumerate(self.inbox):
                if m.has("Response") and m.get("ActionID") == aid:
                    return self.inbox.pop(i)
            data = await asyncio.wait_for(self.reader.read(65536), 2)
            if not data:
                raise ConnectionError("closed")
            self.inbox.extend(self.parser.feed(data))


@pytest.fixture
async def server() -> AsyncIterator[tuple[AmiServer, int]]:
    srv = AmiServer(Engine(VirtualScheduler()))
    port = await srv.start("127.0.0.1", 0)
    yield srv, port
    await srv.close()


async def connect(port: int) -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
    return Client(reader, writer)


async def test_md5_challenge_login(server: tuple[AmiServer, int]) -> None:
    c = await connect(server[1])
    ch = await c.send(("Action", "Challenge"), ("AuthType", "MD5"), ("ActionID", "1"))
    key = hashlib.md5((ch.get("Challenge") + "labsecret").encode()).hexdigest()
    ok = await c.send(("Action", "Login"), ("AuthType", "MD5"), ("Username", "lab"),
                      ("Key", key), ("ActionID", "2"))
    assert (ok.get("Response"), ok.get("Message")) == ("Success", "Authentication accepted")
    c.writer.close()


async def test_bad_md5_key_fails_and_closes(server: tuple[AmiServer, int]) -> None:
    c = await connect(server[1])
    await c.send(("Action", "Challenge"), ("AuthType", "MD5"), ("ActionID", "1"))
    bad = await c.send(("Action", "Login"), ("AuthType", "MD5"), ("Username", "lab"),
                       ("Key", "0" * 32), ("ActionID", "2"))
    assert bad.get("Message") == "Authentication failed"
    assert await c.reader.read() == b""


async def test_challenge_needs_authtype_and_actions_need_login(
        server: tuple[AmiServer, int]) -> None:
    c = await connect(server[1])
    r = await c.send(("Action", "Challenge"), ("ActionID", "1"))
    assert r.get("Message") == "Must specify AuthType"
    r = await c.send(("Action", "Ping"), ("ActionID", "2"))
    assert (r.get("Response"), r.get("Message")) == ("Error", "Permission denied")
    c.writer.close()


async def test_errors_are_worded_as_asterisk(server: tuple[AmiServer, int]) -> None:
    c = await connect(server[1])
    await c.send(("Action", "Login"), ("Username", "lab"), ("Secret", "labsecret"),
                 ("Events", "off"), ("ActionID", "1"))
    r = await c.send(("Action", "Frobnicate"), ("ActionID", "2"))
    assert r.get("Message") == ("Invalid/unknown command: Frobnicate. "
                                "Use Action: ListCommands to show available commands.")
    r = await c.send(("Action", "QueueAdd"), ("Interface", "Local/1@x"), ("ActionID", "3"))
    assert r.get("Message") == "'Queue' not specified."
    r = await c.send(("Action", "QueueRemove"), ("Queue", "support"),
                     ("Interface", "Local/9@x/n"), ("ActionID", "4"))
    assert r.get("Message") == "Unable to remove interface: Not there"
    r = await c.send(("Action", "Hangup"), ("Channel", "Local/none-1;1"), ("ActionID", "5"))
    assert r.get("Message") == "No such channel"
    r = await c.send(("Action", "Originate"), ("ActionID", "6"))
    assert r.get("Message") == "Channel not specified"
    r = await c.send(("Action", "Ping"), ("ActionID", "7"))
    assert r.get("Ping") == "Pong"
    r = await c.send(("Action", "Command"), ("Command", "core show version"), ("ActionID", "8"))
    assert r.get("Output").startswith("Asterisk 22.")
    r = await c.send(("Action", "Logoff"), ("ActionID", "9"))
    assert (r.get("Response"), r.get("Message")) == ("Goodbye", "Thanks for all the fish.")
    # Events: off at login means no FullyBooted or other events were delivered
    assert not any(m.has("Event") for m in c.inbox)


async def test_panoramisk_connects_unmodified(server: tuple[AmiServer, int]) -> None:
    from panoramisk import Manager

    srv, port = server
    srv.engine.queues.add_member("support", "Local/1001@agent-phones/n", "Alice")
    mgr = Manager(host="127.0.0.1", port=port, username="lab", secret="labsecret",
                  ping_delay=0, reconnect_timeout=0)
    await mgr.connect()
    try:
        res = await mgr.send_action({"Action": "QueueStatus", "Queue": "support"})
        events = [m.get("Event") for m in res]
        assert events[-1] == "QueueStatusComplete"
        assert "QueueMember" in events
        member = next(m for m in res if m.get("Event") == "QueueMember")
        assert member.get("Name") == "Alice"
    finally:
        mgr.close()
