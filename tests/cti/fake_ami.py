"""A scripted AMI server on a real socket (port 0) for the client tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cti.ami_codec import AmiDecoder, Message, encode_message

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


@dataclass
class Script:
    """How one connection behaves. ``lists`` maps an action name to its list items."""

    lists: dict[str, list[Message]] = field(default_factory=dict)
    after_ready: list[Message] = field(default_factory=list)
    ignore: set[str] = field(default_factory=set)
    silent_after_ready: bool = False  # half-open: keep the socket, never answer again
    close_after_ready: bool = False
    originate_response: Message | None = None  # sent after "queued", with the action's ActionID


class FakeAmi:
    def __init__(self, scripts: Callable[[int], Script]) -> None:
        self.scripts = scripts
        self.connections = 0
        self.raw = bytearray()  # every byte the clients sent, in order
        self.received: list[Message] = []  # the decoded actions
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        for writer in self._writers:
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        script = self.scripts(self.connections)
        self.connections += 1
        writer.write(BANNER)
        decoder = AmiDecoder()
        resynced: set[str] = set()
        silent = False
        try:
            while True:
                try:
                    data = await reader.read(65536)
                except (ConnectionError, OSError):
                    break
                if not data:
                    break
                self.raw.extend(data)
                for action in decoder.feed(data):
                    self.received.append(action)
                    if silent:
                        continue
                    out = self._answer(action, script)
                    if action.get("Action") == "Originate" and script.originate_response:
                        out.append({"Event": "OriginateResponse", "Privilege": "call,all",
                                    "ActionID": action.get("ActionID", ""),
                                    **script.originate_response})
                    writer.write(b"".join(encode_message(m) for m in out))
                    name = action.get("Action", "")
                    if name in ("QueueStatus", "CoreShowChannels", "DeviceStateList"):
                        resynced.add(name)
                        if len(resynced) == 3:
                            writer.write(b"".join(encode_message(m) for m in script.after_ready))
                            if script.close_after_ready:
                                await writer.drain()
                                writer.close()
                                return
                            silent = script.silent_after_ready
                await writer.drain()
        finally:
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    def _answer(action: Message, script: Script) -> list[Message]:
        name = action.get("Action", "")
        aid = action.get("ActionID", "")
        if name in script.ignore:
            return []
        if name == "Login":
            return [{"Response": "Success", "ActionID": aid,
                     "Message": "Authentication accepted"},
                    {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}]
        if name == "Ping":
            return [{"Response": "Success", "ActionID": aid, "Ping": "Pong",
                     "Timestamp": "1795299809.000000"}]
        complete = {"QueueStatus": "QueueStatusComplete",
                    "CoreShowChannels": "CoreShowChannelsComplete",
                    "DeviceStateList": "DeviceStateListComplete"}
        if name in complete:
            items = [{**m, "ActionID": aid} for m in script.lists.get(name, [])]
            return [{"Response": "Success", "ActionID": aid, "EventList": "start",
                     "Message": "will follow"}, *items,
                    {"Event": complete[name], "ActionID": aid, "EventList": "Complete",
                     "ListItems": str(len(items))}]
        if name == "QueueAdd":  # Asterisk's own words, which panoramisk mistakes for a list
            return [{"Response": "Success", "ActionID": aid,
                     "Message": "Added interface to queue"}]
        if name == "Originate":
            return [{"Response": "Success", "ActionID": aid,
                     "Message": "Originate successfully queued"}]
        return [{"Response": "Success", "ActionID": aid, "Message": "ok"}]
