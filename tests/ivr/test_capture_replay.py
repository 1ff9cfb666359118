"""The FastAGI dialogue Asterisk 22 really had with a script, replayed against our server."""

from __future__ import annotations

import asyncio
import json

from core.services import Services
from ivr import session_log
from ivr.account_echo import account_echo
from ivr.deps import IvrDeps
from ivr.server import IvrServer
from tests.conftest import CAPTURES


def dialogue() -> list[dict[str, str]]:
    path = CAPTURES / "fastagi_ivr.agi.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_capture_dialogue_replays_command_for_command(
        deps: IvrDeps, services: Services) -> None:
    steps = dialogue()
    assert steps[0]["dir"] == "recv" and steps[0]["text"].startswith("agi_network: yes")
    async with IvrServer(deps, port=0, routes={"ivr": account_echo}) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        try:
            writer.write(steps[0]["text"].encode())
            await writer.drain()
            for step in steps[1:]:
                if step["dir"] == "sent":
                    line = await asyncio.wait_for(reader.readline(), 5)
                    assert line.decode() == step["text"]
                else:
                    writer.write(step["text"].encode())
                    await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # the server hung up last
        finally:
            writer.close()
            await writer.wait_closed()
    async with services.db.session() as s:
        [rec] = await session_log.by_uniqueid(s, "1795300126.58")
    assert rec.outcome == "completed" and rec.caller == "+8613800000013"
    assert rec.commands == sum(1 for st in steps if st["dir"] == "sent")
    assert "caller +8613800000013" in rec.detail
