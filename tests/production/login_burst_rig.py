"""A login burst against a node that also receives alarms, and the receiver's ACK times meanwhile.

The node runs in a child process as ``vigil serve --role all`` runs it: the console (uvicorn,
the real app, a SQLite database with one user whose password is hashed with argon2) and a DC-09
listener share one event loop. The DC-09 signals go to an in-memory sink, so the figures are
the event loop's share of an ACK (the journal's commit is measured by bench/ingest.py).

This process plays ``logins`` attackers, each from its own loopback address (127.0.0.x, so the
per-address throttle does not stop the hashing), sending wrong passwords as fast as answers
come, and one panel sending stop-and-wait frames every ``interval`` seconds, timing each ACK: a
quiet phase first, then the same during the burst. ``on_loop=True`` runs password hashing on
the event loop as before issue 13, for the figure to compare with.

Used by tests/production/test_login_burst.py and bench/login_burst.py.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "burst-rig-password-1"


def _serve(db_dir: str, conn: Any, on_loop: bool) -> None:
    """Child process: migrate, add a user, serve the console and DC-09 on one loop."""
    import uvicorn

    from agent_web.app import create_app
    from agent_web.server import uvicorn_config
    from core import security
    from core.audit import Actor
    from core.clock import SystemClock
    from core.services import Services
    from core.settings import Settings
    from core.users import create_user
    from receivers.dc09 import Dc09Config, Dc09Receiver
    from receivers.sink import MemorySink
    from receivers.source_guard import GuardLimits
    from receivers.transport_dc09 import Dc09Server
    from vigil import migrate

    if on_loop:  # how it was: argon2 on the event loop
        async def inline(fn: Any, *args: Any, **_: Any) -> Any:
            return fn(*args)

        security._off_loop = inline  # type: ignore[assignment]

    async def main() -> None:
        url = f"sqlite+aiosqlite:///{db_dir}/burst.db"
        await migrate.upgrade(url)
        settings = Settings(database_url=url, secret_key="burst-rig-secret-key-0123456789abcdef",  # type: ignore[call-arg]
                            _env_file=None)
        services = Services.create(settings)
        async with services.db.transaction() as s:
            await create_user(s, services.clock, Actor.system("rig"), username="admin",
                              password=PASSWORD, role="admin")
        app = create_app(services)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn_config(app, settings, log_level="error"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        dc09 = Dc09Server(Dc09Receiver(Dc09Config(check_timestamp=False)), MemorySink(),
                          SystemClock(), limits=GuardLimits())
        dc09_port = await dc09.start_tcp("127.0.0.1", 0)
        for _ in range(3000):  # uvicorn offers a flag, not an event
            if server.started:
                break
            await asyncio.sleep(0.01)
        conn.send((sock.getsockname()[1], dc09_port))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
        server.should_exit = True
        await serving
        await dc09.close()
        await services.close()

    asyncio.run(main())


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _summary(ms: list[float]) -> dict[str, Any]:
    return {"acks": len(ms), "p50_ms": round(statistics.median(ms), 2) if ms else None,
            "p99_ms": round(_percentile(ms, 0.99), 2), "max_ms": round(max(ms), 2) if ms else None}


class Panel(threading.Thread):
    """Stop-and-wait DC-09 frames over one TCP connection, timing each ACK (blocking socket in
    its own thread, so this process's event loop does not add to the figures)."""

    def __init__(self, port: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.port, self.interval = port, interval
        self.samples: list[tuple[float, float]] = []  # (sent at, ms)
        self.stop = threading.Event()
        self.errors = 0

    def run(self) -> None:
        from receivers import dc09

        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            seq = 0
            while not self.stop.is_set():
                seq = seq % 9999 + 1
                frame = dc09.build_message("SIA-DCS", seq, "1234", "#1234|NRP")
                started = time.perf_counter()
                s.sendall(frame)
                reply = b""
                while not reply.endswith(b"\r"):
                    chunk = s.recv(256)
                    if not chunk:
                        self.errors += 1
                        return
                    reply += chunk
                self.samples.append((started, (time.perf_counter() - started) * 1000))
                self.stop.wait(self.interval)


async def _attacker(port: int, n: int, until: float, answered: list[float]) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{10 + n}")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport,
                                 timeout=60) as c:
        while time.perf_counter() < until:
            started = time.perf_counter()
            r = await c.post("/api/auth/login", json={"username": "admin",
                                                      "password": f"wrong-{n}"})
            if r.status_code in (401, 429):
                answered.append((time.perf_counter() - started) * 1000)


async def measure(http_port: int, dc09_port: int, quiet: float = 1.5, burst: float = 4.0,
                  logins: int = 24, interval: float = 0.01) -> dict[str, Any]:
    panel = Panel(dc09_port, interval)
    panel.start()
    await asyncio.sleep(quiet)
    burst_start = time.perf_counter()
    answered: list[float] = []
    await asyncio.gather(*(_attacker(http_port, n, burst_start + burst, answered)
                           for n in range(logins)))
    burst_end = time.perf_counter()
    panel.stop.set()
    panel.join(10)
    before = [ms for at, ms in panel.samples if at < burst_start]
    during = [ms for at, ms in panel.samples if burst_start <= at < burst_end]
    return {"quiet": _summary(before), "burst": _summary(during),
            "logins": {"concurrent": logins, "answered": len(answered),
                       "p50_ms": round(statistics.median(answered), 1) if answered else None},
            "panel_errors": panel.errors}


def run(on_loop: bool = False, **kw: Any) -> dict[str, Any]:
    """Start the node, measure, stop it; the figures."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    with tempfile.TemporaryDirectory() as tmp:
        proc = ctx.Process(target=_serve, args=(str(Path(tmp)), child, on_loop), daemon=True)
        proc.start()
        try:
            if not parent.poll(60):
                raise RuntimeError("the node did not start")
            http_port, dc09_port = parent.recv()
            figures = asyncio.run(measure(http_port, dc09_port, **kw))
        finally:
            parent.send("stop")
            proc.join(20)
            if proc.is_alive():
                proc.kill()
    return {"hashing": "event loop" if on_loop else "bounded pool", **figures}
