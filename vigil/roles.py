"""``vigil serve --role``: which parts of the system run on this node.

Roles: ``receivers`` (alarm signal intake: DC-09, serial lines, AlarmReceiver files), ``cti``
(the AMI connection and the FastAGI IVR: the parts facing Asterisk), ``web`` (console, REST,
websocket), ``all`` (everything, the single-node default). Parts are tagged with
:func:`tag` in ``vigil/parts.py``; an untagged part runs in every role. A part tagged with a
``lease`` runs on exactly one node at a time (:mod:`core.lease`): the CTI connection per
Asterisk is ``cti:<ami_host>:<ami_port>`` (:func:`cti_lease_name`), and that lease is kept by
every node with the cti role even before a CTI part is registered, so which node owns the
Asterisk is always visible (table ``cluster_lease``, bus topic ``cluster.lease``).

With several nodes (``VIGIL_CLUSTER_NODES`` > 1 on PostgreSQL) the bus is bridged through
PostgreSQL LISTEN/NOTIFY (:mod:`core.bus_pg`), and every node answers ``cluster.ping`` with a
``cluster.pong`` listing the peers it hears, so an operator (or a test) can see that the
event path between nodes works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import uvicorn

from core import heap
from core.bus_pg import PostgresBusBackend, choose_backend
from core.lease import LeaseKeeper, LeaseStore
from core.services import Services
from core.settings import Settings

log = logging.getLogger(__name__)

Part = Callable[[Services], Coroutine[Any, Any, None]]

ROLES: Final = ("receivers", "cti", "web", "all")
ANY: Final = "any"


@dataclass(frozen=True)
class PartSpec:
    part: Part
    role: str
    lease: str | None

    @property
    def name(self) -> str:
        return getattr(self.part, "__name__", repr(self.part))


def tag(part: Part, role: str, lease: str | None = None) -> Part:
    """Mark a part with the role it belongs to and, for once-per-cluster parts, its lease name
    (``"cti"`` means this node's CTI lease, see :func:`cti_lease_name`)."""
    if role not in (*ROLES[:-1], ANY):
        raise ValueError(f"unknown role {role!r}")
    part.vigil_role = role  # type: ignore[attr-defined]
    part.vigil_lease = lease  # type: ignore[attr-defined]
    return part


def spec_of(part: Part) -> PartSpec:
    return PartSpec(part, getattr(part, "vigil_role", ANY), getattr(part, "vigil_lease", None))


def select(parts: Iterable[Part], role: str) -> list[PartSpec]:
    """The parts that run in ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    specs = [spec_of(p) for p in parts]
    return [s for s in specs if role == "all" or s.role in (role, ANY)]


def runs_web(role: str) -> bool:
    return role in ("web", "all")


def runs_cti(role: str) -> bool:
    return role in ("cti", "all")


def cti_lease_name(settings: Settings) -> str:
    """One CTI connection per Asterisk, whichever node holds it."""
    return f"cti:{settings.ami_host}:{settings.ami_port}"


def lease_name(spec: PartSpec, settings: Settings) -> str | None:
    if spec.lease is None:
        return None
    return cti_lease_name(settings) if spec.lease == "cti" else spec.lease


class Presence:
    """Who is on the bus: a heartbeat at start (and to every newcomer), ping/pong on request."""

    def __init__(self, services: Services, role: str) -> None:
        self.services = services
        self.role = role
        self.node = services.settings.node_name
        self.peers: dict[str, str] = {}  # node -> role

    async def run(self) -> None:
        bus = self.services.bus
        with bus.subscribe("cluster.hello", "cluster.ping", name="cluster-presence") as sub:
            await bus.publish("cluster.hello", {"node": self.node, "role": self.role})
            async for event in sub:
                sender = str(event.data.get("node", ""))
                if event.topic == "cluster.hello" and sender and sender != self.node:
                    new = sender not in self.peers
                    self.peers[sender] = str(event.data.get("role", ""))
                    if new:  # answer a newcomer so that it learns about us too
                        await bus.publish("cluster.hello", {"node": self.node, "role": self.role})
                elif event.topic == "cluster.ping":
                    await bus.publish("cluster.pong", {"node": self.node, "role": self.role,
                                                       "ping": event.id,
                                                       "peers": sorted(self.peers)})


async def _migrate(settings: Settings) -> None:
    """Apply migrations; on PostgreSQL under an advisory lock so nodes starting together do
    not race each other through Alembic."""
    from vigil import migrate

    if not settings.database_url.startswith("postgresql"):
        await migrate.upgrade(settings.database_url)
        return
    import asyncpg

    from core.bus_pg import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext('vigil-migrate'))")
        try:
            await migrate.upgrade(settings.database_url)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('vigil-migrate'))")
    finally:
        await conn.close()


async def serve(settings: Settings, role: str, parts: Iterable[Part]) -> None:
    """Run this node's share of the system until SIGINT/SIGTERM."""
    selected = select(parts, role)
    await _migrate(settings)
    services = Services.create(settings)
    holder = f"{settings.node_name}/{uuid.uuid4().hex[:8]}"
    backend = choose_backend(settings.database_url, settings.bus_backend, settings.cluster_nodes)
    if backend == "postgres":
        await services.bus.attach_backend(
            PostgresBusBackend(settings.database_url, node=settings.node_name))
    log.info("node %s: role %s, bus %s, parts %s", settings.node_name, role, backend,
             [s.name for s in selected] or "none")
    store = LeaseStore(services.db)
    tasks: list[asyncio.Task[None]] = []

    def start(coro: Coroutine[Any, Any, None], name: str) -> None:
        tasks.append(asyncio.create_task(coro, name=name))

    start(Presence(services, role).run(), "cluster-presence")
    leased: dict[str, list[PartSpec]] = {}
    for spec in selected:
        name = lease_name(spec, settings)
        if name is None:
            start(spec.part(services), spec.name)
        else:
            leased.setdefault(name, []).append(spec)
    if runs_cti(role):
        leased.setdefault(cti_lease_name(settings), [])
    for name, specs in leased.items():
        keeper = LeaseKeeper(store, name, holder, services.clock, bus=services.bus)
        start(keeper.run(_together(services, specs)), f"lease:{name}")

    log.debug("%d start-up objects frozen out of the collector's way", heap.settle())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if runs_web(role):
            await _web(services, stop)
        else:
            await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await services.close()


def _together(services: Services, specs: list[PartSpec]) -> Callable[[], Coroutine[Any, Any,
                                                                                     None]]:
    """The job of one lease: all its parts, or idling when no part is registered yet."""
    async def job() -> None:
        if not specs:
            await asyncio.Event().wait()
        await asyncio.gather(*(s.part(services) for s in specs))
    return job


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: after a graceful shutdown it raises the signal it
    caught again, which kills the process before the node has released its leases (a standby
    would then wait the whole ttl) and makes a clean stop exit with -15. ``serve`` handles
    SIGINT/SIGTERM for every role instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _web(services: Services, stop: asyncio.Event) -> None:
    from agent_web.app import create_app
    from agent_web.server import uvicorn_config

    settings = services.settings
    server = _Server(uvicorn_config(create_app(services), settings))

    async def stopper() -> None:
        await stop.wait()
        server.should_exit = True

    watch = asyncio.create_task(stopper(), name="web-stop")
    log.info("console on http://%s:%d", settings.http_host, settings.http_port)
    try:
        await server.serve()
    finally:
        watch.cancel()
        stop.set()
