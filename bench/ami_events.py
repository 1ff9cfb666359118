"""AMI events per second through the decoder and the CTI state model, and screen-pop latency
(prints JSON).

Throughput: all captures in tests/fixtures/asterisk-captures are concatenated and repeated; each
repetition's Uniqueids/Linkedids are made distinct so the model keeps building and finishing calls
instead of piling up duplicates.

Screen pop: a temporary SQLite database is seeded with ``--accounts`` subscribers (crm's seed,
100,000 by default, about 300,000 numbers); a scripted AMI server sends ``--pops`` AgentCalled
events (after each caller's Newchannel), one every ``--gap-ms`` (20 ms: 50 rings a second, many
times a 200-agent floor's rate), to a real :class:`cti.ami_client.AmiClient` over TCP with
:class:`cti.screenpop.ScreenPop` attached. The latency of each pop is the bus event's time minus
the time its AgentCalled arrived on the socket (``received_at``), for the ``screenpop`` event and
for the ``screenpop.detail`` that follows with crm's full account summary, which is built in a
worker process with its own engine (``--detail process``, as in production) or on the event loop
(``--detail inline``, the old way, for comparison). Callers are seeded
subscribers' numbers (a quarter of them unknown numbers, a quarter carrying VIGIL_ACCOUNT_ID).

Run: ``.venv/bin/python bench/ami_events.py [--repeats 40] [--accounts 100000] [--pops 400]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, bench/ would come first on the path and bench/ivr.py shadow the ivr package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from core.bus import Bus  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.db import Database  # noqa: E402
from crm.models import Account, Phone  # noqa: E402
from crm.seed import seed  # noqa: E402
from cti.agents import AgentDirectory  # noqa: E402
from cti.ami_client import AmiClient, AmiSettings  # noqa: E402
from cti.ami_codec import AmiDecoder, encode_message  # noqa: E402
from cti.model import CtiModel  # noqa: E402
from cti.popdetail import detail_source  # noqa: E402
from cti.screenpop import ScreenPop  # noqa: E402
from vigil import migrate  # noqa: E402

CAPTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "asterisk-captures"


def build_stream(repeats: int) -> bytes:
    base = b"".join(p.read_bytes() for p in sorted(CAPTURES.glob("*.ami")))
    parts = []
    for i in range(repeats):
        # a distinct id prefix per repetition keeps calls distinct (same length, same work)
        parts.append(base.replace(b": 1795", b": %04d" % (1795 + i + 1))
                     .replace(b": verif-42", b": v%04d-42" % i))
    return b"".join(parts)


def throughput(repeats: int) -> dict[str, Any]:
    stream = build_stream(repeats)
    chunk = 4096
    chunks = [stream[i:i + chunk] for i in range(0, len(stream), chunk)]
    decoder = AmiDecoder()
    model = CtiModel()
    events = 0
    records = 0
    t0 = time.perf_counter()
    t = 0.0
    for data in chunks:
        t += 0.001
        for msg in decoder.feed(data):
            model.feed(msg, t)
            if "Event" in msg:
                events += 1
        records += len(model.take_records())
    elapsed = time.perf_counter() - t0
    decode_only = AmiDecoder()
    t1 = time.perf_counter()
    for data in chunks:
        decode_only.feed(data)
    decode_elapsed = time.perf_counter() - t1
    return {"bytes": len(stream), "events": events, "records": records,
            "seconds": round(elapsed, 3), "events_per_second": round(events / elapsed),
            "decode_only_events_per_second": round(events / decode_elapsed),
            "target_events_per_second": 20000}


class ScriptedAmi:
    """Just enough of Asterisk for the client to log in and resync; events sent on demand."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        self.writers.append(writer)
        decoder = AmiDecoder()
        complete = {"QueueStatus": "QueueStatusComplete",
                    "CoreShowChannels": "CoreShowChannelsComplete",
                    "DeviceStateList": "DeviceStateListComplete"}
        while data := await reader.read(65536):
            for action in decoder.feed(data):
                aid = action.get("ActionID", "")
                out = [{"Response": "Success", "ActionID": aid, "Message": "ok"}]
                name = action.get("Action", "")
                if name in complete:
                    out = [{"Response": "Success", "ActionID": aid, "EventList": "start",
                            "Message": "will follow"},
                           {"Event": complete[name], "ActionID": aid, "EventList": "Complete",
                            "ListItems": "0"}]
                writer.write(b"".join(encode_message(m) for m in out))
        writer.close()

    def send(self, messages: list[dict[str, str]]) -> None:
        data = b"".join(encode_message(m) for m in messages)
        for writer in self.writers:
            writer.write(data)

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def ring_events(i: int, number: str, account_id: int | None) -> list[dict[str, str]]:
    uid = f"1795300000.{i}"
    chan = {"Channel": f"PJSIP/trunk-{i:08x}", "ChannelState": "6", "ChannelStateDesc": "Up",
            "CallerIDNum": number, "CallerIDName": "Caller", "Context": "from-pstn",
            "Exten": "4000", "Uniqueid": uid, "Linkedid": uid}
    called = {"Event": "AgentCalled", **chan, "DestChannel": f"Local/1001@agent-phones-{i};1",
              "DestUniqueid": f"{uid}1", "DestLinkedid": uid, "Queue": "support",
              "Interface": "Local/1001@agent-phones/n", "MemberName": "Agent"}
    if account_id is not None:
        called["ChanVariable"] = f"VIGIL_ACCOUNT_ID={account_id}"
        called["ChanVariable(VIGIL_ACCOUNT_ID)"] = str(account_id)
    return [{"Event": "Newchannel", **chan}, called]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def seeded_db(path: Path, accounts: int) -> tuple[Database, dict[str, Any]]:
    """The database at ``path``, migrated and seeded when it does not exist yet (``--db`` keeps
    one between runs: seeding 100,000 accounts takes about two minutes)."""
    url = f"sqlite+aiosqlite:///{path}"
    fresh = not await asyncio.to_thread(path.exists)
    await migrate.upgrade(url)
    db = Database(url)
    if fresh:
        return db, await seed(db, accounts=accounts, users=False)
    async with db.session() as s:
        counts = {"accounts": await s.scalar(select(func.count(Account.id))),
                  "phones": await s.scalar(select(func.count(Phone.id)))}
    return db, counts


async def screen_pop_latency(accounts: int, pops: int, gap: float, detail: str = "process",
                             workers: int = 1, db_path: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db, seeded = await seeded_db(db_path or Path(tmp) / "bench.db", accounts)
        async with db.session() as s:
            rows = (await s.execute(select(Phone.raw, Phone.account_id)
                                    .order_by(Phone.id))).all()
        rng = random.Random(7)
        picks = [(str(raw), int(account_id))
                 for raw, account_id in rng.sample(list(rows), min(pops, len(rows)))]
        # the 300,000 rows are the bench's scaffolding, not the CTI's: left alive they would
        # make every full garbage collection during the measurement walk them
        del rows
        gc.collect()
        bus = Bus()
        clock = SystemClock()
        server = ScriptedAmi()
        port = await server.start()
        model = CtiModel()
        client = AmiClient(AmiSettings(port=port, username="vigil", secret="vigil"), model,
                           bus, clock)
        pop = ScreenPop(db, bus, clock, AgentDirectory(db, clock.monotonic), model,
                        detail=detail_source(db, detail, workers))
        await pop.start()
        client.add_handler(pop.handle)
        sub = bus.subscribe("screenpop", "screenpop.detail", maxsize=2 * pops + 10)
        await client.start()
        await client.wait_ready(10)
        kinds = {"caller_number": 0, "channel_variable": 0, "unknown": 0}
        for i, (raw, account_id) in enumerate(picks):
            kind = ("unknown", "channel_variable", "caller_number", "caller_number")[i % 4]
            kinds[kind] += 1
            number = f"+8617{i:09d}" if kind == "unknown" else str(raw)
            server.send(ring_events(i, number, account_id if kind == "channel_variable"
                                    else None))
            await asyncio.sleep(gap)
        latencies: list[float] = []
        details: list[float] = []
        found = 0
        pending_details = 0
        while len(latencies) < len(picks) or len(details) < pending_details:
            ev = await sub.get(within=60)
            ms = (ev.ts - float(ev.data["received_at"])) * 1000
            if ev.topic == "screenpop":
                latencies.append(ms)
                found += int(not ev.data["new_subscriber"])
                pending_details += int(ev.data.get("detail") is False)
            else:
                details.append(ms)
        await client.stop()
        await pop.close()
        await server.close()
        await db.dispose()
    return {"accounts": seeded["accounts"], "phones": seeded["phones"], "pops": len(latencies),
            "found": found, "by_lookup": kinds, "gap_ms": gap * 1000,
            "detail_mode": detail, "detail_workers": workers if detail == "process" else None,
            "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(pct(latencies, 0.99), 2), "max_ms": round(max(latencies), 2),
            "target_p99_ms": 20,
            "detail_p50_ms": round(statistics.median(details), 2) if details else None,
            "detail_p99_ms": round(pct(details, 0.99), 2) if details else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--pops", type=int, default=400)
    ap.add_argument("--gap-ms", type=float, default=20.0)
    ap.add_argument("--detail", choices=("process", "inline"), default="process")
    ap.add_argument("--workers", type=int, default=2, help="detail worker processes")
    ap.add_argument("--db", type=Path, default=None,
                    help="SQLite file to seed once and reuse (default: a temporary one)")
    args = ap.parse_args()
    out: dict[str, Any] = {"bench": "ami_events", **throughput(args.repeats)}
    if args.pops > 0:
        out["screen_pop"] = asyncio.run(screen_pop_latency(
            args.accounts, args.pops, args.gap_ms / 1000, args.detail, args.workers, args.db))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
