"""Two `vigil serve --role all` processes on one PostgreSQL, with every real part running.

The test process plays the rest of the world: pbxsim stands in for Asterisk (one AMI both nodes
are pointed at, so the CTI lease decides which node connects), a DC-09 panel reports to node A,
a supervisor's console is connected to node B's websocket, and the test joins the bus as a third
node to watch ``cluster.*`` and ``cti.connection``. Checked, as users rely on it:

- a signal received by node A reaches the console on node B (``signal.received`` and the
  ``incident.opened`` of its incident), and the two nodes' alarm engines open exactly one
  incident for it;
- exactly one node holds the CTI lease and has an AMI session at a time; killing it (SIGKILL,
  no goodbye) moves the lease to the other node within 10 s, which then logs in to the AMI;
- each node serves its own FastAGI port (Asterisk points at one of them);
- a clean stop (SIGTERM) releases the lease on the way out.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select, text

from core.audit import Actor
from core.bus import Bus, Event, Subscription
from core.bus_pg import PostgresBusBackend
from core.db import Database
from core.lease import LeaseStore
from core.services import Services
from core.settings import Settings
from core.sip_credentials import for_secret
from core.users import create_user
from pbxsim.demo import PbxSim
from receivers import dc09
from vigil.demo_users import DEMO_USERS

AMI_USER, AMI_SECRET = "vigil", "cluster-test-secret"
ACCOUNT = "4711"
SECRET_KEY = "two-nodes-test-key-0123456789abcdef"
PASSWORD = "two-nodes-login-password"  # `vigil serve` refuses users with the demo password

PORT_LOGS = {
    "http": re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)"),
    "dc09": re.compile(rb"dc09 dc09: TCP on 127\.0\.0\.1:(\d+)"),
    "agi": re.compile(rb"FastAGI listening on 127\.0\.0\.1:(\d+)"),
}


@dataclass
class Node:
    name: str
    proc: asyncio.subprocess.Process
    log: Path
    ports: dict[str, int] = field(default_factory=dict)

    async def wait_ports(self, within: float = 60) -> None:
        """The ports the node bound (all configured as 0), read from its log."""
        deadline = time.monotonic() + within
        while True:
            out = self.log.read_bytes()
            for key, pattern in PORT_LOGS.items():
                if key not in self.ports and (m := pattern.search(out)):
                    self.ports[key] = int(m.group(1))
            if len(self.ports) == len(PORT_LOGS):
                return
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not come up:\n{out.decode()[-3000:]}")
            await asyncio.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"


async def _start(url: str, name: str, ami_port: int, tmp: Path) -> Node:
    env = {**os.environ, "VIGIL_DATABASE_URL": url, "VIGIL_NODE_NAME": name,
           "VIGIL_CLUSTER_NODES": "2", "VIGIL_SECRET_KEY": SECRET_KEY,
           "VIGIL_HTTP_PORT": "0", "VIGIL_DC09_PORT": "0", "VIGIL_AGI_PORT": "0",
           "VIGIL_AMI_HOST": "127.0.0.1", "VIGIL_AMI_PORT": str(ami_port),
           "VIGIL_AMI_USER": AMI_USER, "VIGIL_AMI_SECRET": AMI_SECRET,
           "VIGIL_RX_DC09_UDP": "false", "PYTHONUNBUFFERED": "1"}
    log = tmp / f"{name}.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vigil.cli", "serve", "--role", "all", cwd=tmp, env=env,
            stdout=out, stderr=asyncio.subprocess.STDOUT)
    return Node(name, proc, log)


async def _wait_for(sub: Subscription, match: Callable[[Event], bool], within: float) -> Event:
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("expected event did not arrive")
        try:
            event = await sub.get(within=left)
        except TimeoutError:
            continue
        if match(event):
            return event


async def _until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _ami_sessions(sim: PbxSim) -> list[Any]:
    return [s for s in sim.ami.sessions if s.authenticated and not s.closed]


async def _login(node: Node, username: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
    client = httpx.AsyncClient(base_url=node.url, timeout=10)
    r = await client.post("/api/auth/login", json={"username": username,
                                                   "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, {"X-CSRF-Token": r.json().get("csrf_token", "")}


async def _frames(ws: Any) -> AsyncIterator[dict[str, Any]]:
    """Event frames from the hub, unpacking batches."""
    while True:
        msg = json.loads(await ws.recv())
        for frame in msg["frames"] if msg.get("type") == "batch" else [msg]:
            yield frame


async def _agi_answers(port: int) -> bytes:
    """Open a FastAGI session as Asterisk does and return the IVR's first command."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        env = {"agi_network_script": "ivr", "agi_request": f"agi://127.0.0.1:{port}/ivr",
               "agi_channel": "PJSIP/trunk-00000001", "agi_uniqueid": "1700000000.1",
               "agi_callerid": "13800138001", "agi_calleridname": "unknown",
               "agi_dnid": "4000", "agi_context": "inbound", "agi_extension": "4000"}
        writer.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()


@pytest.fixture
async def observer(cluster_pg_url: str) -> AsyncIterator[Bus]:
    bus = Bus(node="observer")
    await bus.attach_backend(PostgresBusBackend(cluster_pg_url, node="observer"))
    yield bus
    await bus.close()


@pytest.fixture
async def pbx() -> AsyncIterator[PbxSim]:
    sim = PbxSim(users={AMI_USER: AMI_SECRET})
    await sim.start("127.0.0.1", 0)
    yield sim
    await sim.close()


async def test_two_nodes_share_signals_incidents_and_the_cti(
        cluster_pg_url: str, observer: Bus, pbx: PbxSim, tmp_path: Path) -> None:
    services = Services.create(Settings(database_url=cluster_pg_url, _env_file=None))  # type: ignore[call-arg]
    async with services.db.transaction() as s:
        for username, name, role, ext, lang in DEMO_USERS:
            await create_user(s, services.clock, Actor.system("test"), username=username,
                              password=PASSWORD, role=role, display_name=name, language=lang,
                              extension=ext, sip=for_secret(services.settings.secret_key))
    db: Database = services.db
    cti_lease = f"cti:127.0.0.1:{pbx.ami_port}"
    events = observer.subscribe("cluster.lease", "cti.connection", "incident.opened",
                                "signal.received")
    nodes: dict[str, Node] = {}
    clients: list[httpx.AsyncClient] = []
    try:
        nodes["a"] = a = await _start(cluster_pg_url, "node-a", pbx.ami_port, tmp_path)
        await a.wait_ports()
        await _wait_for(events, lambda e: e.topic == "cti.connection" and e.origin == "node-a"
                        and e.data["state"] == "ready", within=30)
        nodes["b"] = b = await _start(cluster_pg_url, "node-b", pbx.ami_port, tmp_path)
        await b.wait_ports()

        # an administrator on node A registers the subscriber
        admin, csrf = await _login(a, "admin")
        clients.append(admin)
        r = await admin.post("/api/accounts", json={"number": ACCOUNT, "name": "Lakeside Kiosk"},
                             headers=csrf)
        assert r.status_code == 201, r.text
        account_id = r.json()["id"]

        # a supervisor's console on node B
        boss, _ = await _login(b, "super1")
        clients.append(boss)
        cookie = f"vigil_session={boss.cookies['vigil_session']}"
        async with websockets.connect(
                f"ws://127.0.0.1:{b.ports['http']}/ws?topics=signal.received",
                additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
            frames = _frames(ws)
            hello = await anext(frames)
            assert hello["type"] == "hello" and hello["user"]["username"] == "super1"

            # a panel reports a burglary to node A's DC-09 listener and gets its ACK
            reader, writer = await asyncio.open_connection("127.0.0.1", a.ports["dc09"])
            writer.write(dc09.build_message("ADM-CID", 17, ACCOUNT, f"#{ACCOUNT}|1130 01 003",
                                            receiver="1", line="1", now=datetime.now(UTC)))
            await writer.drain()
            ack = dc09.parse_frame(await asyncio.wait_for(reader.readuntil(b"\r"), 15))
            writer.close()
            assert (ack.message_id, ack.account) == ("ACK", ACCOUNT)

            seen: dict[str, dict[str, Any]] = {}
            async with asyncio.timeout(20):
                async for frame in frames:
                    topic, data = frame.get("topic"), frame.get("data") or {}
                    if topic == "signal.received" and data.get("account") == ACCOUNT:
                        seen[topic] = data
                    elif (topic == "incident.opened"
                          and data["incident"]["account_number"] == ACCOUNT):
                        seen[topic] = data
                    if len(seen) == 2:
                        break
        assert seen["signal.received"]["event_code"] == "130"
        assert seen["incident.opened"]["incident"]["account_id"] == account_id

        # one incident, opened by the receiving node's engine only, even with two engines up
        opened = await _wait_for(events, lambda e: e.topic == "incident.opened"
                                 and e.data["incident"]["account_number"] == ACCOUNT, within=10)
        assert opened.origin == "node-a"
        async with db.engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(
                text("alarm_incidents")).where(text("account_id = :id")),
                {"id": account_id})).scalar_one()
        assert count == 1

        # each node answers FastAGI on its own port
        for node in (a, b):
            first = await _agi_answers(node.ports["agi"])
            assert first and not first.startswith(b"HANGUP"), (node.name, first)

        # exactly one AMI session: node A's, the CTI lease holder
        store = LeaseStore(db)
        lease = await store.get(cti_lease)
        assert lease is not None and lease.holder.startswith("node-a/")
        assert len(_ami_sessions(pbx)) == 1

        # kill the holder without warning: node B takes the lease and the AMI within 10 s
        a.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        taken = await _wait_for(events, lambda e: e.topic == "cluster.lease"
                                and e.data["name"] == cti_lease
                                and e.data["state"] == "acquired"
                                and e.data["holder"].startswith("node-b/"), within=15)
        assert time.monotonic() - killed <= 10
        assert taken.data["token"] == lease.token + 1
        # and, holding it, logs in to the AMI and resynchronizes (the CTI part's start-up,
        # worker processes for the screen pop included, comes on top of the takeover)
        await _wait_for(events, lambda e: e.topic == "cti.connection" and e.origin == "node-b"
                        and e.data["state"] == "ready", within=20)
        await _until(lambda: len(_ami_sessions(pbx)) == 1, 5, "one AMI session")

        # a clean stop (SIGTERM) releases the lease on the way out
        b.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(b.proc.wait(), 20) == 0
        after = await store.get(cti_lease)
        assert after is not None and after.holder.startswith("node-b/")
        assert after.expires_at <= datetime.now(UTC)
    finally:
        for client in clients:
            await client.aclose()
        for node in nodes.values():
            if node.proc.returncode is None:
                node.proc.kill()
                await node.proc.wait()
        events.close()
        await services.close()

