"""Run a capture's client actions against pbxsim over a real socket, in virtual time."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pbxsim.ami_server import AmiServer
from pbxsim.drive import run_until
from pbxsim.engine.clock import VirtualScheduler
from pbxsim.engine.core import Engine
from pbxsim.framing import Message, Parser, split_capture
from tests.conftest import CAPTURES

from .amicompare import CHAN_RE


@dataclass
class Replay:
    capture: list[Message]
    sim: list[Message]
    engine: Engine


def load(name: str) -> tuple[list[Message], list[tuple[float, str]]]:
    capture = split_capture((CAPTURES / f"{name}.ami").read_bytes())
    sent = []
    for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines():
        o = json.loads(line)
        if o["dir"] == "sent":
            sent.append((float(o["t"]), o["text"]))
    return capture, sent


def _chan_order(msgs: list[Message]) -> dict[str, list[str]]:
    """Per Local base name, its distinct channel prefixes in order of first appearance."""
    order: dict[str, list[str]] = {}
    for m in msgs:
        for _, v in m.pairs:
            for mt in CHAN_RE.finditer(v):
                base, pre = mt.group(1), f"{mt.group(1)}-{mt.group(2)}"
                lst = order.setdefault(base, [])
                if pre not in lst:
                    lst.append(pre)
    return order


async def replay(name: str, tmp_dir: Path | None = None,
                 setup: Callable[[Engine], None] | None = None) -> Replay:
    capture, sent = load(name)
    sched = VirtualScheduler(start=1_795_299_800.0)
    engine = Engine(sched)
    if setup is not None:
        setup(engine)
    if tmp_dir is not None:
        engine.recordings_dir = str(tmp_dir)
    server = AmiServer(engine)
    port = await server.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    banner = await reader.readline()
    assert banner == b"Asterisk Call Manager/11.0.0\r\n"
    parser = Parser()
    got: list[Message] = []

    async def pump() -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            got.extend(parser.feed(data))

    task = asyncio.create_task(pump())
    start = sched.now()
    cap_order = _chan_order(capture)
    try:
        for t, text in sent:
            await run_until(sched, engine, start + t)
            await _settle(writer)
            # channel names in the action refer to the capture's numbering: map them to ours
            sim_order = _chan_order(got)

            def remap(mt: re.Match[str], sim_order: dict[str, list[str]] = sim_order) -> str:
                base, pre = mt.group(1), f"{mt.group(1)}-{mt.group(2)}"
                idx = cap_order.get(base, []).index(pre)
                return sim_order[base][idx] + (mt.group(3) or "")

            text = CHAN_RE.sub(remap, text)
            aid = re.search(r"ActionID: (\S+)", text)
            writer.write(text.encode())
            await writer.drain()
            for _ in range(200):
                await asyncio.sleep(0)
                if aid and any(m.get("ActionID") == aid.group(1) and m.has("Response")
                               for m in got):
                    break
            sched.run_pending()
            await _settle(writer)
            if text.startswith("Action: Logoff"):
                await asyncio.wait_for(task, 5)
    finally:
        writer.close()
        task.cancel()
        await server.close()
        await engine.close_io()
    return Replay(capture, got, engine)


async def _settle(writer: asyncio.StreamWriter) -> None:
    for _ in range(5):
        await asyncio.sleep(0)
