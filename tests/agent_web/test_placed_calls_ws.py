"""What the console gets from the CTI for the calls it places, over the demo's own assembly
(pbxsim with the demo phones and dialplan, the CTI, the web server): ``call.progress`` on the
user's websocket, the spy events on the supervisors', error codes in the HTTP answers.

Nobody answers the user's own phone: it answers because the user asked for the call."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.agent_web.conftest import LiveServer, session_cookie


class Console:
    """One signed-in user: an HTTP client and the websocket, frames kept by topic."""

    def __init__(self, server: LiveServer, username: str) -> None:
        self.cookie = session_cookie(server, username)
        self.http = httpx.Client(base_url=server.url, headers={"Cookie": self.cookie})
        self.server = server
        self.ws: ClientConnection | None = None
        self.frames: list[dict[str, Any]] = []

    async def connect(self) -> Console:
        self.ws = await websockets.connect(self.server.ws_url, open_timeout=5,
                                           additional_headers={"Cookie": self.cookie})
        return self

    async def until(self, topic: str, pred: Any = lambda d: True,
                    within: float = 30.0) -> dict[str, Any]:
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while True:
            for i, f in enumerate(self.frames):
                if f.get("topic") == topic and pred(f["data"]):
                    del self.frames[i]
                    return dict(f["data"])
            left = end - loop.time()
            if left <= 0:
                raise AssertionError(f"no {topic} within {within} s: {self.frames}")
            try:
                raw = await asyncio.wait_for(self.ws.recv(decode=True), left)
            except TimeoutError:
                continue
            msg = json.loads(raw)
            self.frames.extend(msg["frames"] if msg.get("type") == "batch" else [msg])

    def topics(self) -> list[str]:
        return [str(f.get("topic")) for f in self.frames]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        self.http.close()


async def progress(console: Console, call_id: str) -> list[dict[str, Any]]:
    seen = [await console.until("call.progress", lambda d: d["call_id"] == call_id)]
    while not seen[-1]["final"]:
        seen.append(await console.until("call.progress", lambda d: d["call_id"] == call_id))
    return seen


async def test_click_to_dial_progress_reaches_the_callers_console(
        telephony_server: LiveServer) -> None:
    server = telephony_server
    server.call(_script(server, "13900000002", "busy", after=1.0))
    agent = await Console(server, "agent1").connect()
    other = await Console(server, "agent2").connect()
    try:
        r = agent.http.post("/api/cti/dial", json={"number": "+8613900000002"})
        assert r.status_code == 200, r.text
        call_id = r.json()["result"]["call_id"]
        events = await progress(agent, call_id)
        assert [(e["stage"], e["cause"]) for e in events] == [
            ("dialing", None), ("own_answered", None), ("calling", None), ("busy", "busy")]
        assert events[-1]["message"] == "the number is busy"
        assert "call.progress" not in other.topics()  # another agent's call
        # the refusal of a rule, as a code the console translates
        r = agent.http.post("/api/cti/hangup", json={})
        assert (r.status_code, r.json()["detail"]["code"]) == (409, "no_call")
    finally:
        await agent.close()
        await other.close()


async def test_listen_then_whisper_on_a_live_call_and_the_spy_ends_with_it(
        telephony_server: LiveServer) -> None:
    server = telephony_server
    agent = await Console(server, "agent1").connect()
    boss = await Console(server, "super1").connect()
    try:
        assert agent.http.post("/api/cti/login", json={"queues": ["support"]}).status_code == 200
        server.place_call("+8613800000009", talk=60)
        for _ in range(100):
            if "1001" in server.ringing():
                break
            await asyncio.sleep(0.05)
        assert agent.http.post("/api/console/phone/answer", json={}).status_code == 200
        await asyncio.sleep(0.5)
        agent_id = agent.http.get("/api/auth/me").json()["user"]["id"]
        r = boss.http.post("/api/cti/spy", json={"agent_user_id": agent_id, "mode": "listen"})
        assert r.status_code == 200, r.text
        spy_id = r.json()["result"]["call_id"]
        started = await boss.until("spy.started")
        assert (started["agent_user_id"], started["mode"], started["spy_call_id"]) == (
            agent_id, "listen", spy_id)
        assert [s["mode"] for s in boss.http.get("/api/cti/spies").json()["items"]] == ["listen"]
        r = boss.http.post("/api/cti/spy/mode", json={"mode": "whisper"})
        assert r.status_code == 200, r.text
        assert (await boss.until("spy.changed"))["mode"] == "whisper"
        assert agent.http.post("/api/console/phone/hangup", json={}).status_code == 200
        ended = await boss.until("spy.ended")
        assert ended["call_id"] == started["call_id"]
        final = await boss.until("call.progress",
                                 lambda d: d["call_id"] == spy_id and d["final"])
        assert final["stage"] == "ended"
        assert not [t for t in agent.topics() if t.startswith("spy.")]  # never told
        r = boss.http.post("/api/cti/spy/mode", json={"mode": "barge"})
        assert (r.status_code, r.json()["detail"]["code"]) == (409, "no_spy")
    finally:
        await agent.close()
        await boss.close()


async def _script(server: LiveServer, number: str, outcome: str, after: float) -> None:
    server.sim.engine.phones.script_number(number, outcome, after=after, talk=2.0)
