"""The running receivers: the journal, the DC-09 listeners, serial receiver lines, and the demo's
panel population. ``vigil demo`` / ``vigil serve`` run :func:`part`; tests and benchmarks run a
bare receiver process with ``python -m receivers.runtime``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.bus import Bus
from core.clock import Clock, SystemClock
from core.db import Database
from core.services import Services
from receivers import config
from receivers.config import ReceiverSettings, SerialLine
from receivers.dc09 import Dc09Receiver
from receivers.journal import AccountDirectory, SignalJournal
from receivers.models import ReceiverEndpoint
from receivers.signal import Signal
from receivers.sink import SignalSink
from receivers.supervision import HeartbeatSupervisor
from receivers.transport_dc09 import Dc09Server
from receivers.transport_serial import LineReceiver, connect_tcp, serve_serial, serve_tcp

log = logging.getLogger(__name__)

AccountSource = Callable[[], Awaitable[list[str]]]
CONFIG_TOPIC = "receivers.config_changed"


class NullSink:
    """Stores nothing: the bare parse-and-ACK loop of the benchmark."""

    async def store(self, signals: list[Signal]) -> list[bool]:
        return [True] * len(signals)


def make_journal(db: Database, bus: Bus | None, clock: Clock, rx: ReceiverSettings,
                 directory: AccountDirectory | None = None) -> SignalJournal:
    return SignalJournal(
        db, bus, clock, duplicate_window=timedelta(seconds=rx.duplicate_window_s),
        linger=rx.group_commit_ms / 1000, max_batch=rx.max_batch, directory=directory)


class Receivers:
    """Everything that receives signals in one Vigil node."""

    def __init__(self, services: Services, rx: ReceiverSettings | None = None, *,
                 directory: AccountDirectory | None = None) -> None:
        self.services = services
        self.rx = rx or config.get_receiver_settings()
        self.journal = make_journal(services.db, services.bus, services.clock, self.rx,
                                    directory)
        self.dc09: list[Dc09Server] = []
        self._dc09_options: dict[str, dict[str, Any]] = {}  # a database endpoint's rules
        self.ports: dict[str, int] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._servers: list[asyncio.Server] = []

    async def _keys(self, receiver: str) -> dict[str, Any]:
        async with self.services.db.session() as s:
            return await config.stored_keys(s, receiver)

    async def start(self) -> None:
        """Start the journal, the settings' DC-09 listener, serial lines and stored endpoints."""
        await self.journal.start()
        st, rx = self.services.settings, self.rx
        if rx.dc09_tcp or rx.dc09_udp:
            await self._start_dc09(rx.dc09_name, st.dc09_host, st.dc09_port,
                                   rx.dc09_tcp, rx.dc09_udp)
        for line in rx.serial_lines:
            await self._start_line(line)
        if rx.alarmreceiver_spool:
            from receivers.ingest import watch_spool

            self._spawn(watch_spool(Path(rx.alarmreceiver_spool), self.journal,
                                    self.services.clock), "alarmreceiver-spool")
        async with self.services.db.session() as s:
            stored = (await s.execute(select(ReceiverEndpoint).where(
                ReceiverEndpoint.archived_at.is_(None), ReceiverEndpoint.enabled.is_(True))
            )).scalars().all()
        for ep in stored:
            try:
                if ep.kind == "dc09":
                    await self._start_dc09(ep.name, ep.host or st.dc09_host, ep.port or 0,
                                           "tcp" in ep.transport, "udp" in ep.transport,
                                           dict(ep.options or {}))
                else:
                    await self._start_line(SerialLine(
                        name=ep.name, format=ep.kind, transport=ep.transport,  # type: ignore[arg-type]
                        device=ep.device, host=ep.host or "127.0.0.1", port=ep.port or 0,
                        heartbeat_timeout=ep.heartbeat_timeout,
                        baudrate=int((ep.options or {}).get("baudrate", 19200))))
            except (OSError, ValueError) as exc:
                log.error("receiver %s cannot start: %s", ep.name, exc)

    async def _start_dc09(self, name: str, host: str, port: int, tcp: bool, udp: bool,
                          options: dict[str, Any] | None = None) -> None:
        self._dc09_options[name] = options or {}
        cfg = config.dc09_config(self.rx, name, await self._keys(name), options)
        server = Dc09Server(Dc09Receiver(cfg), self.journal, self.services.clock,
                            idle_timeout=self.rx.dc09_idle_timeout_s,
                            limits=config.guard_limits(self.rx))
        self.dc09.append(server)
        if tcp:
            self.ports[f"{name}/tcp"] = port = await server.start_tcp(host, port)
        if udp:
            self.ports[f"{name}/udp"] = await server.start_udp(host, port)

    async def _start_line(self, line: SerialLine) -> None:
        sup = None
        if line.heartbeat_timeout:
            sup = HeartbeatSupervisor(line.name, line.format, self.journal, self.services.clock,
                                      line.heartbeat_timeout)
            self._spawn(sup.run(), f"supervise-{line.name}")
        receiver = LineReceiver(line.format, line.name, self.journal, self.services.clock, sup)
        if line.transport == "serial":
            if not line.device:
                raise ValueError(f"serial line {line.name} has no device")
            self._spawn(serve_serial(receiver, line.device, baudrate=line.baudrate),
                        f"serial-{line.name}")
        elif line.transport == "tcp":
            server = await serve_tcp(receiver, line.host, line.port)
            self._servers.append(server)
            self.ports[f"{line.name}/tcp"] = server.sockets[0].getsockname()[1]
        else:
            self._spawn(connect_tcp(receiver, line.host, line.port), f"connect-{line.name}")

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(name)

    async def reload_keys(self) -> None:
        """Apply the database's keys to the running DC-09 receivers."""
        for server in self.dc09:
            name = server.receiver.config.receiver
            server.receiver.config = config.dc09_config(self.rx, name, await self._keys(name),
                                                        self._dc09_options.get(name))
        log.info("receivers: DC-09 keys reloaded")

    async def run(self, demo_panels: AccountSource | None = None) -> None:
        """Run until cancelled; reload keys when an admin changes them."""
        sub = self.services.bus.subscribe(CONFIG_TOPIC, name="receivers-config")
        try:
            await self.start()
            if demo_panels is not None and f"{self.rx.dc09_name}/tcp" in self.ports:
                self._spawn(self._demo(demo_panels), "demo-panels")
            async for _ in sub:
                try:
                    await self.reload_keys()
                except Exception:
                    log.exception("receivers: reloading keys failed")
        finally:
            sub.close()
            await self.close()

    async def _demo(self, accounts: AccountSource) -> None:
        """A gentle, endless flow of signals from simulated panels to our own listener."""
        from receivers.simulate.panels import run_panels

        numbers: list[str] = []
        with contextlib.suppress(Exception):
            numbers = await accounts()
        if not numbers:
            numbers = [f"{n}" for n in range(100001, 100001 + self.rx.demo_panels)]
        chosen = random.Random(7).sample(numbers, min(len(numbers), self.rx.demo_panels))
        cfg = self.dc09[0].receiver.config
        while True:
            try:
                await run_panels(self.services.settings.dc09_host,
                                 self.ports[f"{self.rx.dc09_name}/tcp"],
                                 count=len(chosen), rate=self.rx.demo_rate, accounts=chosen,
                                 key=cfg.default_key)
            except Exception:
                log.exception("demo panels stopped; restarting")
                await asyncio.sleep(5)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        for s in self._servers:
            s.close()
        for server in self.dc09:
            await server.close()
        await self.journal.close()


def part(*, demo: bool, directory: Callable[[Services], AccountDirectory] | None = None,
         accounts: Callable[[Services], AccountSource] | None = None
         ) -> Callable[[Services], Coroutine[Any, Any, None]]:
    """The receivers part for ``vigil demo`` / ``vigil serve``; the composition root passes
    crm's account lookup (``directory``) and, for the demo, the accounts panels report as."""

    async def receivers(services: Services) -> None:
        rx = Receivers(services, directory=directory(services) if directory else None)
        services.extra["receivers"] = rx
        source: AccountSource | None = None
        if demo:
            source = accounts(services) if accounts else _no_accounts
        await rx.run(source)

    return receivers


async def _no_accounts() -> list[str]:
    return []


# --- a bare receiver process (crash test, benchmark) ------------------------------------------


async def _standalone(args: argparse.Namespace) -> None:
    rx = ReceiverSettings(_env_file=None)  # type: ignore[call-arg]
    clock = SystemClock()
    db = Database(args.db) if args.db else None
    sink: SignalSink
    if db is None:
        sink = NullSink()
    else:
        sink = make_journal(db, Bus(), clock, rx)
    server = Dc09Server(Dc09Receiver(config.dc09_config(rx, "dc09")), sink, clock,
                        limits=config.guard_limits(rx))
    port = await server.start_tcp(args.host, args.port)
    udp = await server.start_udp(args.host, port) if args.udp else None
    print(f"listening {port} {udp or ''}".strip(), flush=True)  # the parent reads this line
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()
        if isinstance(sink, SignalJournal):
            await sink.close()
        if db is not None:
            await db.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="a bare DC-09 receiver process (tests, benchmarks)")
    p.add_argument("--db", help="database URL of the journal; none = parse and ACK only")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--udp", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_standalone(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
