"""The FastAGI server: panoramisk's application and routes, one session per connection.

Routes are panoramisk routes (``async def route(request)``) on a panoramisk ``Application``
created inside the running loop. Two parts of panoramisk 1.4 are replaced, both found by feeding
it Asterisk's real traffic: its connection handler spins forever when the socket closes before the
``agi_*`` environment is complete (``reader.read`` keeps returning ``b''``) and swallows
cancellation (``except BaseException``), so :meth:`AgiApplication.handler` reads the environment
with an end-of-stream check and a timeout; and its ``send_command`` reply reading is replaced by
:class:`ivr.channel.AgiChannel` (see there). Every session ends in the session log, whatever the
caller did, and no exception escapes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from panoramisk.fast_agi import Application, Request

from ivr import agi
from ivr.account_echo import account_echo
from ivr.channel import AgiChannel, CallerHungUp
from ivr.deps import IvrDeps
from ivr.flow import Call
from ivr.main_line import main_line, message_line, subscriber_line
from ivr.models import IvrSession
from ivr.queue_entry import to_operator

log = logging.getLogger(__name__)

Flow = Callable[[Call], Awaitable[None]]

# The FastAGI paths of asterisk-config/extensions.conf (vigil.asterisk_refs.AGI_PATHS), and the
# installers' line check.
ROUTES: dict[str, Flow] = {
    "ivr": main_line,
    "ivr/subscriber": subscriber_line,
    "ivr/message": message_line,
    "account-echo": account_echo,
}

ENV_LIMIT = 64 * 1024


class AgiApplication(Application):  # type: ignore[misc]
    """panoramisk's FastAGI application with a connection handler that survives early hang-ups."""

    def __init__(self, env_timeout: float = 10.0) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self.env_timeout = env_timeout
        self.sessions: set[asyncio.Task[Any]] = set()

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.sessions.add(task)
        try:
            env = await self._read_env(reader)
            if env is None:
                return
            name = agi.route_of(env)
            route = self._route.get(name)
            if route is None:
                log.error("FastAGI request for unknown route %r from %s", name,
                          env.get("agi_channel"))
                with contextlib.suppress(ConnectionError):
                    writer.write(b"HANGUP\n")
                    await writer.drain()
                return
            await route(Request(app=self, headers=env, reader=reader, writer=writer,
                                encoding=self.default_encoding))
        except Exception:  # a route must never take the server down
            log.exception("FastAGI session failed")
        finally:
            if task is not None:
                self.sessions.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_env(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        try:
            block = await asyncio.wait_for(reader.readuntil(b"\n\n"), self.env_timeout)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                TimeoutError):
            log.warning("FastAGI connection closed before its environment was complete")
            return None
        return agi.parse_environment(block[:ENV_LIMIT])


class IvrServer:
    """Listens for Asterisk's ``AGI(agi://host:port/<route>)`` and runs one flow per call."""

    def __init__(self, deps: IvrDeps, host: str = "127.0.0.1", port: int = 4573,
                 routes: Mapping[str, Flow] | None = None, keep_log: bool = True) -> None:
        self.deps = deps
        self.host = host
        self.port = port
        self.routes = dict(ROUTES if routes is None else routes)
        self.keep_log = keep_log
        self.app: AgiApplication | None = None
        self._server: asyncio.Server | None = None
        self.on_session: Callable[[Call, IvrSession], None] | None = None
        self._log_queue: asyncio.Queue[IvrSession | None] = asyncio.Queue()
        self._log_writer: asyncio.Task[None] | None = None

    @property
    def bound_port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._log_writer = asyncio.create_task(self._write_logs(), name="ivr-session-log")
        self.app = AgiApplication()
        for name, flow in self.routes.items():
            self.app.add_route(name, self._endpoint(name, flow))
        self._server = await asyncio.start_server(self.app.handler, self.host, self.port)
        log.info("FastAGI listening on %s:%s (%s)", self.host, self.bound_port,
                 ", ".join(self.routes))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self.app is not None:
            tasks = list(self.app.sessions)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._log_writer is not None:
            self._log_queue.put_nowait(None)
            await self._log_writer
            self._log_writer = None

    async def flush_logs(self) -> None:
        """Wait until every finished session is in the session log (tests, shutdown)."""
        await self._log_queue.join()

    async def _write_logs(self) -> None:
        """One writer, many sessions per transaction: during a storm hundreds of calls end
        together, and one INSERT batch keeps the database free for the calls still running."""
        stop = False
        while not stop:
            batch = [await self._log_queue.get()]
            while not self._log_queue.empty() and len(batch) < 500:
                batch.append(self._log_queue.get_nowait())
            records = [r for r in batch if r is not None]
            stop = len(records) < len(batch)
            if records:
                await self._save(records)
            for _ in batch:
                self._log_queue.task_done()

    async def __aenter__(self) -> IvrServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _endpoint(self, name: str, flow: Flow) -> Callable[[Request], Awaitable[None]]:
        async def endpoint(request: Request) -> None:
            channel = AgiChannel(request.reader, request.writer, dict(request.headers),
                                 keep_log=self.keep_log)
            call = Call(channel=channel, deps=self.deps, route=name,
                        lang=self.deps.settings.default_language)
            await self.run_session(call, flow)

        return endpoint

    async def run_session(self, call: Call, flow: Flow) -> None:
        """Run ``flow`` to its end, whatever the caller does, and write the session log."""
        started = self.deps.clock.now()
        hung_up = False
        error = ""
        try:
            await flow(call)
        except CallerHungUp as exc:
            hung_up = True
            call.notes.append(f"caller left at {call.step} ({exc})")
        except asyncio.CancelledError:
            call.notes.append(f"server stopped at {call.step}")
            call.finish("interrupted")
            self._log_queue.put_nowait(self._record(call, started, ""))
            raise
        except Exception as exc:  # AgiError or a flow bug: the caller still reaches a person
            error = f"{type(exc).__name__}: {exc}"
            log.exception("IVR flow %s failed at %s", call.route, call.step)
            await self._rescue(call)
        record = self._record(call, started, error, hung_up)
        self._log_queue.put_nowait(record)
        if self.on_session is not None:
            self.on_session(call, record)

    def _record(self, call: Call, started: datetime, error: str,
                hung_up: bool = False) -> IvrSession:
        outcome = "error" if error else call.outcome or ("hung_up" if hung_up else "completed")
        if hung_up and call.outcome is None:
            outcome = "hung_up"
        return IvrSession(
            uniqueid=call.channel.uniqueid, channel=call.channel.env.get("agi_channel", ""),
            route=call.route, caller=call.caller,
            account_id=call.account_id,
            language=call.lang, path=call.path_text, outcome=outcome, last_step=call.step,
            commands=call.channel.commands, started_at=started, ended_at=self.deps.clock.now(),
            detail="; ".join(call.notes + ([error] if error else [])))

    async def _rescue(self, call: Call) -> None:
        if call.channel.dead or call.done:
            return
        call.at("rescue")
        with contextlib.suppress(Exception):
            await to_operator(call)

    async def _save(self, records: list[IvrSession]) -> None:
        try:
            async with self.deps.db.transaction() as session:
                session.add_all(records)
        except Exception:
            log.exception("could not write %d IVR session log records", len(records))
