"""Live console fan-out: N websocket consoles receiving bus events published at a steady rate.

The server (the real app under uvicorn, SQLite, demo users) runs in a child process that also
publishes the events; the consoles run in this process. Latency is measured from the event's
publish time (``ts``, stamped by the bus) to its arrival at each console. Prints one JSON object:
delivery p50/p99/max (ms), frames delivered and expected, reloads (a console that overflowed),
and, in Chromium when /usr/bin/chromium exists, the console's own timings: from pressing
"sign in" to the phone being ready (the CTI, against pbxsim in the server process as in the
demo, has answered the phone panel), and from a click on a view link to that view being
interactive (client-side navigation; the shell and its phone stay). Both sides share this
machine's cores, so figures are an upper bound on what a dedicated server gives.

    .venv/bin/python bench/console.py [--consoles 200] [--calls 20] [--signals 200]
                                      [--seconds 5] [--procs 2] [--signal-consoles 0]

The load is the issue's: ``--calls`` new calls per second, each making the bus events a pbxsim
call makes for the console (screen pop and its detail for the ringing agent, ringing / answered /
ended call events, two agent state changes, two queue statistics), and ``--signals`` received
signals per second of which one in twenty opens or updates an incident. Raw ``signal.received``
events are opt-in per connection (``/ws?topics=signal.received``): only ``--signal-consoles`` of
the consoles ask for them (default 0: the alarm queue needs only ``incident.*``).
A tenth of the consoles log in as supervisors (they see every call, agent and queue event). The
consoles run in ``--procs`` processes (one Python process cannot parse 200 consoles' traffic
alone); the hub sends a backlog as ``batch`` messages, whose frames count one by one.
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


def _serve(db_url: str, conn: Any, calls: float, signals: float, seconds: float) -> None:
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
        telephony = await _telephony(services)
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
        published = await _publish(services.bus, calls, signals, seconds)
        await asyncio.sleep(1.0)  # let the last frames drain
        conn.send({"published": published, "hub": app.state.hub.stats()})
        await loop.run_in_executor(None, conn.recv)  # "stop"
        server.should_exit = True
        await task
        await telephony()
        await services.close()

    asyncio.run(main())


async def _telephony(services: Any) -> Any:
    """pbxsim and the CTI in the server process, as ``vigil demo`` runs them (the phone panel
    is ready only once the CTI answers); returns the coroutine function that stops them."""
    from cti.ami_client import AmiSettings
    from cti.config import CtiSettings
    from cti.runtime import DEMO_PHONES, CtiRuntime
    from pbxsim.demo import PbxSim

    sim = PbxSim()
    port = await sim.start("127.0.0.1", 0)
    services.extra["pbxsim"] = sim
    cti = CtiRuntime(services, plan=DEMO_PHONES,
                     ami=AmiSettings(port=port, username="vigil", secret="vigil"),
                     cti=CtiSettings(screenpop_detail="inline",  # type: ignore[call-arg]
                                     _env_file=None))
    await cti.start()
    await cti.client.wait_ready(10)

    async def stop() -> None:
        await cti.stop()
        await sim.close()

    return stop


async def _publish(bus: Any, calls: float, signals: float, seconds: float) -> dict[str, int]:
    """Publish the calls' and signals' events in 10 ms ticks for ``seconds``."""
    counts: dict[str, int] = {}
    start = time.monotonic()
    made = {"calls": 0, "signals": 0}

    def pub(topic: str, data: dict[str, Any]) -> None:
        bus.publish_nowait(topic, data)
        counts[topic] = counts.get(topic, 0) + 1

    while (elapsed := time.monotonic() - start) < seconds:
        while made["signals"] < int(elapsed * signals) + 1:
            n = made["signals"]
            made["signals"] += 1
            pub("signal.received", {"bench": n, "account": f"{n % 1000:06d}", "zone": "001",
                                    "event_code": "130", "qualifier": "new", "priority": 2})
            if n % 20 == 0:
                pub("incident.updated", {"change": "signals", "incident": {
                    "id": n % 500, "account_number": f"{n % 1000:06d}", "priority": 2,
                    "kind": "burglary", "status": "new"}})
        while made["calls"] < int(elapsed * calls) + 1:
            n = made["calls"]
            made["calls"] += 1
            ext = ("1001", "1002", "1003", "1004")[n % 4]
            card = {"agent": ext, "extension": ext, "caller_id": f"1380000{n % 10000:04d}",
                    "queue": "alarm", "call_id": f"c{n}"}
            pub("screenpop", card)
            pub("screenpop.detail", {**card, "detail": True, "account": {"id": n % 1000}})
            for state in ("ringing", "answered", "ended"):
                pub(f"call.{state}", {"call_id": f"c{n}", "agent": ext, "state": state,
                                      "queue": "alarm"})
            for state in ("in_call", "ready"):
                pub("agent.state", {"agent": ext, "state": state})
            for waiting in (1, 0):
                pub("queue.stats", {"queue": "alarm", "waiting": waiting})
        await asyncio.sleep(0.01)
    return counts


async def _login(base: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        return f"vigil_session={c.cookies['vigil_session']}"


async def _console(url: str, cookie: str, latencies: list[float], stats: dict[str, int],
                   stop: asyncio.Event) -> None:
    """``cookie`` may carry a query after a space: ``"<cookie> ?topics=signal.received"``."""
    cookie, _, query = cookie.partition(" ")
    async with websockets.connect(url + query, additional_headers={"Cookie": cookie},
                                  max_queue=None, open_timeout=60) as ws:
        await ws.recv()  # hello
        stats["connected"] += 1
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time()
            msg = json.loads(raw)
            stats["messages"] += 1
            for frame in msg["frames"] if msg["type"] == "batch" else [msg]:
                if frame["type"] == "event":
                    latencies.append((now - frame["ts"]) * 1000)
                    stats["frames"] += 1
                elif frame["type"] == "reload":
                    stats["reloads"] += 1


def _consoles(url: str, cookies: list[str], conn: Any) -> None:
    """Child process: run these consoles until told to stop, then report what they saw."""

    async def main() -> None:
        latencies: list[float] = []
        stats = {"connected": 0, "frames": 0, "messages": 0, "reloads": 0}
        stop = asyncio.Event()
        tasks = []
        for i, cookie in enumerate(cookies):
            tasks.append(asyncio.create_task(_console(url, cookie, latencies, stats, stop)))
            if i % 25 == 24:
                await asyncio.sleep(0.05)
        for _ in range(1200):
            if stats["connected"] >= len(cookies):
                break
            await asyncio.sleep(0.05)
        conn.send(stats["connected"])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # "stop"
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        conn.send({"latencies": latencies, "stats": stats})

    asyncio.run(main())


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
        out.update(await asyncio.to_thread(_browser_load, base))
    return out


VIEWS = ("tickets", "console", "tickets", "console", "tickets", "console", "tickets", "console")


def _browser_load(base: str) -> dict[str, Any]:
    """Sign in through the login form, then switch views by clicking the top bar's links."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking"])
        page = browser.new_page()
        page.goto(base + "/login")  # warm-up: static files cached afterwards as in real use
        page.goto(base + "/console")
        page.goto(base + "/login")
        page.fill("input[name=username]", "agent1")
        page.fill("input[name=password]", PASSWORD)
        t0 = time.perf_counter()
        page.click("button[type=submit]")
        page.wait_for_selector("#live[data-state=connected]")
        out["sign_in_to_live_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        page.wait_for_selector("#phone-ready[data-ready='1']")
        out["sign_in_to_phone_ready_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        switches = []
        for view in VIEWS:
            t1 = time.perf_counter()
            page.click(f"#nav a[data-nav={view}]")
            page.wait_for_selector(f"#view[data-view={view}]")
            page.wait_for_function("() => !document.body.dataset.navigating")
            switches.append((time.perf_counter() - t1) * 1000)
        out["view_switch_ms_p50"] = round(statistics.median(switches), 1)
        out["view_switch_ms_max"] = round(max(switches), 1)
        browser.close()
    return out


async def run(consoles: int, calls: float, signals: float, seconds: float,
              procs: int, signal_consoles: int = 0) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-console-"))
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(f"sqlite+aiosqlite:///{tmp / 'bench.db'}", child,
                                            calls, signals, seconds), daemon=True)
    proc.start()
    workers: list[tuple[Any, Any]] = []
    try:
        port = await asyncio.to_thread(parent.recv)
        base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
        agents = [await _login(base, "agent1"), await _login(base, "agent2")]
        boss = await _login(base, "super1")
        supervisors = max(1, consoles // 10)
        cookies = [boss if i < supervisors else agents[i % 2] for i in range(consoles)]
        for i in range(min(signal_consoles, consoles)):  # these also want the raw signals
            cookies[i] += " ?topics=signal.received"
        for k in range(procs):
            mine, theirs = ctx.Pipe()
            w = ctx.Process(target=_consoles, args=(url, cookies[k::procs], theirs), daemon=True)
            w.start()
            workers.append((w, mine))
        connected = sum([await asyncio.to_thread(p.recv) for _, p in workers])
        parent.send("go")
        report = await asyncio.to_thread(parent.recv)
        latencies: list[float] = []
        stats = {"frames": 0, "messages": 0, "reloads": 0}
        for _, p in workers:
            p.send("stop")
        for _, p in workers:
            got = await asyncio.to_thread(p.recv)
            latencies += got["latencies"]
            for key in stats:
                stats[key] += got["stats"][key]
        page = await _page_load(base, agents[0])
        parent.send("stop")
        return {
            "bench": "console_fanout", "consoles": consoles, "supervisors": supervisors,
            "client_processes": procs, "connected": connected,
            "calls_per_s": calls, "signals_per_s": signals, "seconds": seconds,
            "signal_consoles": min(signal_consoles, consoles),
            "published": report["published"],
            "bus_events_per_s": round(sum(report["published"].values()) / seconds, 1),
            "frames_expected": report["hub"]["offered"], "frames_delivered": stats["frames"],
            "ws_messages": stats["messages"], "reloads": stats["reloads"],
            "delivery_ms_p50": _pct(latencies, 0.50), "delivery_ms_p99": _pct(latencies, 0.99),
            "delivery_ms_max": _pct(latencies, 1.0), "target_p99_ms": 100,
            "hub": report["hub"], **page,
        }
    finally:
        for w, _ in workers:
            w.join(10)
            if w.is_alive():
                w.terminate()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--consoles", type=int, default=200)
    ap.add_argument("--calls", type=float, default=20.0, help="new calls per second")
    ap.add_argument("--signals", type=float, default=200.0, help="signals per second")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--procs", type=int, default=2, help="processes running the consoles")
    ap.add_argument("--signal-consoles", type=int, default=0,
                    help="consoles that opt in to raw signal.received events")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.consoles, args.calls, args.signals, args.seconds,
                                     args.procs, args.signal_consoles)), indent=2))


if __name__ == "__main__":
    main()
