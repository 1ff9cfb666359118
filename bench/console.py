"""Live console fan-out: N websocket consoles receiving bus events published at a steady rate.

The server (the real app under uvicorn, SQLite, demo users) runs in a child process that also
publishes the events; the consoles run in this process. Latency is measured from the event's
publish time (``ts``, stamped by the bus) to its arrival at each console. Prints one JSON object:
delivery p50/p99/max (ms), frames delivered and expected, reloads (a console that overflowed),
and the agent console's load time (server render over HTTP, and in Chromium up to "Live"
when /usr/bin/chromium exists). Both sides share this machine's cores, so figures are an upper
bound on what a dedicated server gives.

    .venv/bin/python bench/console.py [--consoles 200] [--rate 200] [--seconds 5]

Events per second are split as the issue's load describes: signals (every console sees them),
incident updates (every console) and queue/call statistics (supervisors only; a tenth of the
consoles log in as supervisors).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
PASSWORD = "vigil-demo"


def _serve(db_url: str, conn: Any, rate: float, seconds: float) -> None:
    """Child process: migrate, seed users, serve, and publish when told to."""
    import uvicorn

    from agent_web.app import create_app
    from core.services import Services
    from core.settings import Settings
    from vigil import migrate
    from vigil.demo_users import create_demo_users

    async def main() -> None:
        await migrate.upgrade(db_url)
        settings = Settings(database_url=db_url, secret_key="bench",  # type: ignore[call-arg]
                            _env_file=None)
        services = Services.create(settings)
        await create_demo_users(services)
        app = create_app(services)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                                ws_per_message_deflate=False))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        for _ in range(3000):  # uvicorn offers a flag, not an event
            if server.started:
                break
            await asyncio.sleep(0.01)
        conn.send(sock.getsockname()[1])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # "go"
        published = await _publish(services.bus, rate, seconds)
        await asyncio.sleep(1.0)  # let the last frames drain
        conn.send({"published": published, "hub": app.state.hub.stats()})
        await loop.run_in_executor(None, conn.recv)  # "stop"
        server.should_exit = True
        await task
        await services.close()

    asyncio.run(main())


async def _publish(bus: Any, rate: float, seconds: float) -> dict[str, int]:
    """Publish at ``rate`` events/s in 10 ms ticks: 60% signals, 25% incidents, 15% queue."""
    counts = {"signal.received": 0, "incident.updated": 0, "queue.stats": 0}
    start = time.monotonic()
    n = 0
    total = int(rate * seconds)
    while n < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while n < due:
            r = n % 20
            topic = ("signal.received" if r < 12 else "incident.updated" if r < 17
                     else "queue.stats")
            bus.publish_nowait(topic, {"bench": n, "account_number": f"{n % 1000:06d}",
                                       "queue": "alarm", "priority": 2})
            counts[topic] += 1
            n += 1
        await asyncio.sleep(0.01)
    return counts


async def _login(base: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        return f"vigil_session={c.cookies['vigil_session']}"


async def _console(url: str, cookie: str, latencies: list[float], stats: dict[str, int],
                   ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with websockets.connect(url, additional_headers={"Cookie": cookie},
                                  max_queue=None, open_timeout=30) as ws:
        await ws.recv()  # hello
        stats["connected"] += 1
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time()
            msg = json.loads(raw)
            if msg["type"] == "event":
                latencies.append((now - msg["ts"]) * 1000)
                stats["frames"] += 1
            elif msg["type"] == "reload":
                stats["reloads"] += 1


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def _page_load(base: str, cookie: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    times = []
    async with httpx.AsyncClient(base_url=base, headers={"Cookie": cookie}) as c:
        for _ in range(20):
            t0 = time.perf_counter()
            r = await c.get("/console")
            r.raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
    out["console_http_ms_p50"] = round(statistics.median(times), 2)
    if HAVE_CHROMIUM:
        out["console_browser_ms_to_live"] = await asyncio.to_thread(_browser_load, base, cookie)
    else:
        out["console_browser_ms_to_live"] = None
    return out


def _browser_load(base: str, cookie: str) -> float:
    from playwright.sync_api import sync_playwright

    name, value = cookie.split("=", 1)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        ctx = browser.new_context()
        ctx.add_cookies([{"name": name, "value": value, "url": base}])
        page = ctx.new_page()
        page.goto(base + "/console")  # warm-up (static files cached afterwards as in real use)
        t0 = time.perf_counter()
        page.goto(base + "/console")
        page.wait_for_selector("#live[data-state=connected]")
        elapsed = (time.perf_counter() - t0) * 1000
        browser.close()
    return round(elapsed, 1)


async def run(consoles: int, rate: float, seconds: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-console-"))
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(
        target=_serve, args=(f"sqlite+aiosqlite:///{tmp / 'bench.db'}", child, rate, seconds),
        daemon=True)
    proc.start()
    try:
        port = await asyncio.to_thread(parent.recv)
        base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
        agent, boss = await _login(base, "agent1"), await _login(base, "super1")
        latencies: list[float] = []
        stats = {"connected": 0, "frames": 0, "reloads": 0}
        stop = asyncio.Event()
        supervisors = max(1, consoles // 10)
        tasks = []
        for i in range(consoles):
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(_console(
                url, boss if i < supervisors else agent, latencies, stats, ready, stop)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        for _ in range(600):  # up to 30 s for every console to say hello
            if stats["connected"] >= consoles:
                break
            await asyncio.sleep(0.05)
        parent.send("go")
        report = await asyncio.to_thread(parent.recv)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        page = await _page_load(base, agent)
        parent.send("stop")
        published = report["published"]
        everyone = published["signal.received"] + published["incident.updated"]
        expected = everyone * consoles + published["queue.stats"] * supervisors
        return {
            "bench": "console_fanout", "consoles": consoles, "supervisors": supervisors,
            "connected": stats["connected"], "rate_events_per_s": rate, "seconds": seconds,
            "published": published, "frames_expected": expected, "frames_delivered":
            stats["frames"], "reloads": stats["reloads"],
            "delivery_ms_p50": _pct(latencies, 0.50), "delivery_ms_p99": _pct(latencies, 0.99),
            "delivery_ms_max": _pct(latencies, 1.0), "target_p99_ms": 100,
            "hub": report["hub"], **page,
        }
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--consoles", type=int, default=200)
    ap.add_argument("--rate", type=float, default=200.0, help="bus events per second")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.consoles, args.rate, args.seconds)), indent=2))


if __name__ == "__main__":
    main()
