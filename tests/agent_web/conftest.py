"""A real Vigil web server for websocket and browser tests.

The app runs under uvicorn on an ephemeral port in a background thread with its own event loop
(SQLite copy of the migrated template, demo users), so tests talk to it over real sockets as a
browser does; bus events are published into that loop from the test thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from agent_web.app import create_app
from agent_web.server import uvicorn_config
from core.services import Services
from core.settings import Settings
from vigil.demo_users import DEMO_PASSWORD, create_demo_users

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


class LiveServer:
    """The whole app on 127.0.0.1:<port>; ``stop()`` makes it go away, ``start()`` brings it
    back on the same port (as a restarted node would be)."""

    def __init__(self, db_path: Path, heartbeat: float = 15.0, alarms: bool = False,
                 telephony: bool = False, receivers: bool = False, **settings: Any) -> None:
        self.db_url = f"sqlite+aiosqlite:///{db_path}"
        self.settings = settings  # overrides of the server's Settings
        self.alarms = alarms
        self.telephony = telephony
        self.receivers = receivers
        self.dc09_port = 0
        self.sim: Any = None
        self.cti: Any = None
        self.heartbeat = heartbeat
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.services: Services | None = None
        self.app: Any = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> LiveServer:
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="live-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self._error is not None:
            raise RuntimeError(f"live server did not start: {self._error!r}")
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        settings = Settings(database_url=self.db_url, secret_key="test-secret",  # type: ignore[call-arg]
                            _env_file=None, **self.settings)
        self.services = Services.create(settings)
        self.app = create_app(self.services)
        self.app.state.hub.heartbeat = self.heartbeat
        engine = None
        if self.alarms:  # the real alarm engine on crm's records: signals become incidents
            from alarms.config import AlarmSettings
            from alarms.engine import AlarmEngine
            from alarms.subscriber import CrmDirectory

            engine = AlarmEngine(self.services, CrmDirectory(self.services.db,
                                                             self.services.clock),
                                 AlarmSettings(_env_file=None))  # type: ignore[call-arg]
            self.services.extra["alarms.engine"] = engine
            await engine.start(tick=False)
        if self.telephony:
            await self._start_telephony()
        rx = None
        if self.receivers:  # a DC-09 listener on a port of its own, as vigil demo runs it
            from receivers.config import ReceiverSettings
            from receivers.runtime import Receivers
            from vigil.parts import EngineAccounts

            rx = Receivers(self.services, ReceiverSettings(  # type: ignore[call-arg]
                _env_file=None, dc09_udp=False), directory=EngineAccounts(self.services))
            self.services.settings.dc09_port = 0
            await rx.start()
            self.dc09_port = rx.ports["dc09/tcp"]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(  # as `vigil serve` runs it
            self.app, settings, log_level="warning", timeout_graceful_shutdown=2))
        self.loop = asyncio.get_running_loop()
        serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        for _ in range(2000):  # uvicorn offers a flag, not an event
            if self._server.started or serving.done():
                break
            await asyncio.sleep(0.01)
        self._ready.set()
        try:
            await serving
        finally:
            if rx is not None:
                await rx.close()
            if engine is not None:
                await engine.stop()
            if self.cti is not None:
                await self.cti.stop()
            if self.sim is not None:
                await self.sim.close()
            await self.app.state.hub.stop()
            await self.services.close()
            sock.close()

    async def _start_telephony(self) -> None:
        """pbxsim (real time, AMI on an ephemeral port, no traffic) and the CTI against it, as
        ``vigil demo`` runs them; the agents' phones ring until the console answers."""
        from agent_web.console_settings import ConsoleSettings
        from cti.ami_client import AmiSettings
        from cti.config import CtiSettings
        from cti.runtime import DEMO_PHONES, CtiRuntime
        from pbxsim.demo import PbxSim

        assert self.services is not None
        self.services.extra["console_settings"] = ConsoleSettings(_env_file=None)  # type: ignore[call-arg]
        self.sim = PbxSim()
        port = await self.sim.start("127.0.0.1", 0)
        self.services.extra["pbxsim"] = self.sim
        self.cti = CtiRuntime(self.services, plan=DEMO_PHONES,
                              ami=AmiSettings(port=port, username="vigil", secret="vigil"),
                              live_interval=0.2, queue_wrapup=self.sim.queue_wrapup(),
                              shared_lastcall=self.sim.engine.queues.shared_lastcall,
                              cti=CtiSettings(screenpop_detail="inline",  # type: ignore[call-arg]
                                              _env_file=None))
        await self.cti.start()
        await self.cti.client.wait_ready(5)

    def place_call(self, number: str, line: str = "4000", talk: int = 60) -> None:
        """A caller rings a queue line (4000 support, 4001 emergency) and stays ``talk`` s."""
        assert self.cti is not None
        self.call(self.cti.service.commands.originate({
            "Action": "Originate", "Channel": "Local/talk@callers", "Context": "from-pstn",
            "Exten": line, "Priority": 1, "CallerID": f'"Caller" <{number}>', "Async": "true",
            "Variable": [f"CALLTIME={talk}"]}))

    def ringing(self) -> list[str]:
        """Extensions whose pbxsim phone is ringing now."""
        async def read() -> list[str]:
            return [r.exten for r in self.sim.engine.phones.ringing()]
        return list(self.call(read()))

    def call(self, coro: Any, timeout: float = 10) -> Any:
        """Run a coroutine in the server's loop and return its result."""
        assert self.loop is not None
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        assert self.services is not None
        self.call(self.services.bus.publish(topic, data))

    def hub_connections(self) -> int:
        return len(self.app.state.hub.connections)

    def wait_for_connections(self, n: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.hub_connections() < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.hub_connections()} of {n} consoles connected")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        self._thread = None


@pytest.fixture(scope="session")
def console_template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """The migrated template with the demo users, made once (password hashing is slow)."""
    path = tmp_path_factory.mktemp("console") / "console.db"
    shutil.copy(sqlite_template, path)

    async def seed() -> None:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{path}",  # type: ignore[call-arg]
                            secret_key="test-secret", _env_file=None)
        services = Services.create(settings)
        try:
            await create_demo_users(services)
        finally:
            await services.close()

    asyncio.run(seed())
    return path


@pytest.fixture
def live_server(tmp_path: Path, console_template: Path) -> Iterator[LiveServer]:
    db = tmp_path / "live.db"
    shutil.copy(console_template, db)
    server = LiveServer(db).start()
    yield server
    server.stop()


@pytest.fixture
def alarm_server(tmp_path: Path, console_template: Path) -> Iterator[LiveServer]:
    """The live server with the alarm engine turning ``signal.received`` into incidents."""
    db = tmp_path / "alarms.db"
    shutil.copy(console_template, db)
    server = LiveServer(db, alarms=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def telephony_template(tmp_path_factory: pytest.TempPathFactory, console_template: Path) -> Path:
    """The console template plus a few generated subscribers (whose phones call in)."""
    from core.db import Database
    from crm.seed import seed

    path = tmp_path_factory.mktemp("telephony") / "telephony.db"
    shutil.copy(console_template, path)

    async def add() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await seed(db, accounts=3, users=False)
        finally:
            await db.dispose()

    asyncio.run(add())
    return path


@pytest.fixture
def workspace_server(tmp_path: Path, telephony_template: Path) -> Iterator[LiveServer]:
    """The demo's own assembly: a DC-09 receiver, the alarm engine, pbxsim with the demo's
    dialplan and phones, the CTI and the console (no demo traffic: the test's panels and
    callers make it)."""
    db = tmp_path / "workspace.db"
    shutil.copy(telephony_template, db)
    server = LiveServer(db, alarms=True, telephony=True, receivers=True).start()
    yield server
    server.stop()


@pytest.fixture
def telephony_server(tmp_path: Path, telephony_template: Path) -> Iterator[LiveServer]:
    """The live server with pbxsim and the CTI running against it (no demo traffic: the test
    places its calls)."""
    db = tmp_path / "telephony.db"
    shutil.copy(telephony_template, db)
    server = LiveServer(db, telephony=True).start()
    yield server
    server.stop()


def session_cookie(server: LiveServer, username: str, password: str = DEMO_PASSWORD) -> str:
    """Log in over HTTP and return the ``Cookie`` header value for the session."""
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return f"vigil_session={c.cookies['vigil_session']}"


# -- browsers ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        with contextlib.suppress(Exception):
            b.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Any:
    """``shot(page, "name")`` saves artifacts/screenshots/<test>-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
