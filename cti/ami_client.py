"""The AMI connection: panoramisk underneath, with what production needs on top.

* **Login, reconnect with backoff.** One panoramisk ``Manager`` per connection; panoramisk's own
  reconnect and re-send of unanswered actions are switched off (re-sending an Originate after a
  reconnect would place a second call). A lost connection fails pending actions at once with
  :class:`AmiConnectionLost`, and the client reconnects after ``reconnect_min`` seconds, doubling
  up to ``reconnect_max``; a successful login resets the delay.
* **Liveness.** Every ``ping_interval`` a Ping must be answered within ``ping_timeout``, else the
  connection is treated as dead and replaced. TCP alone does not notice a half-open socket (peer
  gone, no FIN) and panoramisk does not either.
* **A timeout on every action** (:class:`AmiTimeout`, naming the action and its ActionID).
* **One ordered event stream.** The raw bytes are decoded by :mod:`cti.ami_codec` before
  panoramisk routes them, so the model and every handler see every message — events, list items
  and OriginateResponse alike, which panoramisk would hand to the waiting action instead — in wire
  order, from one queue and one consumer task.
* **Full resync after every (re)connect:** the model is told a resync begins, then QueueStatus,
  CoreShowChannels and DeviceStateList are sent; their lists rebuild the state.

Connection state, call records and closed agent sessions are published on the bus
(``cti.connection``, ``cti.call.ended``, ``cti.agent.session``). panoramisk objects are created
inside the running loop only (its actions create futures on construction).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk import actions as pk_actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager

from core.bus import Bus
from core.clock import Clock, SystemClock
from cti.ami_codec import AmiDecoder, HeaderValue, Message, encode_action
from cti.errors import asterisk_code
from cti.model import CtiModel

log = logging.getLogger(__name__)

Handler = Callable[[Message, float], None | Awaitable[None]]
RecordListener = Callable[[dict[str, Any]], None]
RESYNC_ACTIONS = ("QueueStatus", "CoreShowChannels", "DeviceStateList")


class AmiError(Exception):
    """An AMI action could not be completed; ``code`` is the console's (cti.errors)."""

    code = "ami_error"


class AmiTimeout(AmiError):
    """No (complete) response within the action's timeout."""

    code = "ami_timeout"


class AmiConnectionLost(AmiError):
    """The connection dropped (or was not up) before the action was answered."""

    code = "ami_unavailable"


class AmiActionFailed(AmiError):
    """Asterisk answered ``Response: Error``; ``code`` says which refusal it was."""

    def __init__(self, action: str, response: Mapping[str, str]) -> None:
        self.response = dict(response)
        self.action = action
        self.code = asterisk_code(response.get("Message"))
        super().__init__(f"AMI {action} failed: {response.get('Message', 'error')}")


@dataclass(frozen=True, slots=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = ""
    secret: str = ""
    action_timeout: float = 5.0
    connect_timeout: float = 5.0
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    resync_timeout: float = 15.0


class OrderedAction(pk_actions.Action):  # type: ignore[misc]
    """A panoramisk Action written in the caller's header order, through our encoder."""

    def __str__(self) -> str:
        return encode_action({key: value for key, value in self.items()}).decode("utf-8")


class _Protocol(AMIProtocol):  # type: ignore[misc]
    """Feeds the raw bytes to our decoder first, then lets panoramisk route responses."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.vigil_decoder = AmiDecoder()
        self.vigil_sink: Callable[[list[Message]], None] | None = None

    def data_received(self, data: bytes) -> None:
        messages = self.vigil_decoder.feed(data)
        if self.vigil_sink is not None and messages:
            self.vigil_sink(messages)
        super().data_received(data)


class _Manager(Manager):  # type: ignore[misc]
    """A panoramisk Manager that reports loss instead of reconnecting by itself."""

    def __init__(self, on_lost: Callable[[_Manager, Exception | None], None],
                 **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return  # the connecting coroutine sees the error; no hidden retry
        super().connection_made(f)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        pinger: asyncio.TimerHandle | None = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
            self.pinger = None
        self._on_lost(self, exc)


async def cancel_and_wait(tasks: list[asyncio.Task[Any]], within: float = 10.0) -> None:
    """Cancel ``tasks`` and wait until they are done, cancelling again while any is left:
    on Python 3.11 ``wait_for`` can swallow a cancellation that races with its result, and
    a shutdown must never hang on that."""
    pending = {t for t in tasks if not t.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved
    if pending:
        log.error("AMI tasks did not stop: %s", [t.get_name() for t in pending])


class AmiClient:
    """A supervised AMI connection feeding a :class:`CtiModel`; see the module docstring."""

    def __init__(self, settings: AmiSettings, model: CtiModel | None = None,
                 bus: Bus | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.model = model if model is not None else CtiModel()
        self.bus = bus
        self.clock: Clock = clock or SystemClock()
        self.state = "stopped"
        self.connections = 0
        self.messages_processed = 0
        self.last_error: str | None = None
        self._handlers: list[Handler] = []
        #: told of every call record the model emits, in wire order, before it is published
        #: (``cti.call.ended``) and before the handlers see the message that ended the call
        self.record_listeners: list[RecordListener] = []
        self._ids = itertools.count(1)
        self._manager: _Manager | None = None
        self._queue: asyncio.Queue[tuple[Message | None, float]] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._lost: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._originates: dict[str, asyncio.Future[Message]] = {}
        self._running = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._queue = asyncio.Queue()
        self._ready = asyncio.Event()
        self._tasks = [asyncio.create_task(self._consume(), name="ami-consume"),
                       asyncio.create_task(self._supervise(), name="ami-supervise")]

    async def stop(self) -> None:
        self._running = False
        await cancel_and_wait(self._tasks)
        self._tasks = []
        self._close_manager("stopped")
        self._set_state("stopped")

    async def wait_ready(self, within: float) -> None:
        """Until logged in and resynchronized (raises TimeoutError)."""
        assert self._ready is not None, "start() first"
        await asyncio.wait_for(self._ready.wait(), within)

    def add_handler(self, handler: Handler) -> None:
        """Called for every message in wire order, after the model has applied it."""
        self._handlers.append(handler)

    def next_action_id(self) -> str:
        return f"vigil-{next(self._ids)}"

    # ------------------------------------------------------------------ actions

    async def send_action(self, action: Mapping[str, HeaderValue], within: float | None = None,
                          as_list: bool = False) -> Any:
        """Send an action; returns the response, or with ``as_list`` the list of messages up to
        the list's ``...Complete`` event (QueueStatus and the like).

        Raises :class:`AmiTimeout` when Asterisk does not answer within ``within`` s (default
        ``action_timeout``), :class:`AmiConnectionLost` when the connection is down or drops,
        :class:`AmiActionFailed` on ``Response: Error``.
        """
        manager = self._manager
        name = str(action.get("Action", "?"))
        if manager is None or manager.protocol is None or not manager._connected:
            raise AmiConnectionLost(f"AMI {name}: not connected")
        fields = dict(action)
        encode_action(fields)  # ValueError for a line break in a value (header injection)
        fields.setdefault("ActionID", self.next_action_id())
        pk_action = OrderedAction(fields, as_list=as_list)
        future = manager.send_action(pk_action, as_list=as_list)
        self._pending.add(future)
        wait = self.settings.action_timeout if within is None else within
        try:
            result = await asyncio.wait_for(asyncio.shield(future), wait)
        except TimeoutError:
            manager.protocol.responses.pop(pk_action.id, None)
            if not future.done():
                future.cancel()
            raise AmiTimeout(f"AMI {name} (ActionID {fields['ActionID']}) got no response "
                             f"within {wait:g} s") from None
        finally:
            self._pending.discard(future)
        first = result[0] if isinstance(result, list) else result
        if getattr(first, "response", "") == "Error":
            raise AmiActionFailed(name, dict(first.items()))
        return result

    def expect_originate(self, action_id: str) -> asyncio.Future[Message]:
        """A future for the OriginateResponse event of an async Originate (wire order)."""
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._originates[action_id] = future
        return future

    # ------------------------------------------------------------------ internals

    def _publish(self, topic: str, data: Mapping[str, Any]) -> None:
        if self.bus is not None:
            self.bus.publish_nowait(topic, data)

    def _set_state(self, state: str, error: str | None = None) -> None:
        if state == self.state and error is None:
            return
        self.state = state
        if error is not None:
            self.last_error = error
        self._publish("cti.connection", {
            "state": state, "host": self.settings.host, "port": self.settings.port,
            "connections": self.connections, "error": error,
        })

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _sink(self, messages: list[Message]) -> None:
        queue = self._queue
        if queue is None:
            return
        t = self._now()
        for msg in messages:
            queue.put_nowait((msg, t))
            if msg.get("Event") == "OriginateResponse":
                future = self._originates.pop(msg.get("ActionID", ""), None)
                if future is not None and not future.done():
                    future.set_result(msg)

    async def _consume(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            msg, t = await queue.get()
            if msg is None:
                self.model.begin_resync()
                continue
            try:
                self.model.feed(msg, t)
            except Exception:  # a model bug must not stop the stream
                log.exception("CTI model failed on %s", msg.get("Event") or msg)
            self.messages_processed += 1
            for record in self.model.take_records():
                for listener in self.record_listeners:  # they may complete the record
                    try:
                        listener(record)
                    except Exception:
                        log.exception("call record listener failed")
                self._publish("cti.call.ended", record)
            for session in self.model.take_sessions():
                self._publish("cti.agent.session", session)
            for handler in self._handlers:
                try:
                    result = handler(msg, t)
                    if result is not None:
                        await result
                except Exception:
                    log.exception("AMI handler failed")

    def _on_lost(self, manager: _Manager, exc: Exception | None) -> None:
        if manager is not self._manager:
            return
        self._fail_pending(f"AMI connection lost: {exc or 'closed by peer'}")
        if self._lost is not None:
            self._lost.set()

    def _fail_pending(self, reason: str) -> None:
        for future in list(self._pending):
            if not future.done():
                future.set_exception(AmiConnectionLost(reason))
        self._pending.clear()
        for future in self._originates.values():
            if not future.done():
                future.set_exception(AmiConnectionLost(reason))
        self._originates.clear()

    def _close_manager(self, reason: str) -> None:
        manager, self._manager = self._manager, None
        if manager is None:
            return
        protocol = manager.protocol
        if protocol is not None:
            protocol.vigil_sink = None
            protocol.responses.clear()  # nothing is re-sent on another connection
        self._fail_pending(f"AMI connection closed: {reason}")
        manager.close()

    async def _connect_once(self) -> None:
        s = self.settings
        lost = self._lost = asyncio.Event()
        manager = _Manager(self._on_lost, host=s.host, port=s.port, events="on",
                           ping_delay=10**9, ping_interval=10**9,
                           loop=asyncio.get_running_loop(), protocol_factory=_Protocol)
        self._manager = manager
        await asyncio.wait_for(manager.connect(), s.connect_timeout)
        protocol = manager.protocol
        protocol.vigil_sink = self._sink
        self.connections += 1
        self._set_state("connected")
        login = await self.send_action({"Action": "Login", "Username": s.username,
                                        "Secret": s.secret, "Events": "on"})
        if getattr(login, "response", "") != "Success":
            raise AmiActionFailed("Login", dict(login.items()))
        self._set_state("resyncing")
        assert self._queue is not None
        self._queue.put_nowait((None, self._now()))  # the model's resync starts here, in order
        for name in RESYNC_ACTIONS:
            await self.send_action({"Action": name}, within=s.resync_timeout, as_list=True)
        self._set_state("ready")
        assert self._ready is not None
        self._ready.set()
        ping_task = asyncio.create_task(self._ping_loop(), name="ami-ping")
        lost_task = asyncio.create_task(lost.wait(), name="ami-lost")
        try:
            done, _ = await asyncio.wait({ping_task, lost_task},
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is ping_task:
                    task.result()
        finally:
            await cancel_and_wait([ping_task, lost_task])

    async def _ping_loop(self) -> None:
        s = self.settings
        while True:
            await self.clock.sleep(s.ping_interval)
            try:
                await self.send_action({"Action": "Ping"}, within=s.ping_timeout)
            except AmiTimeout as exc:
                raise AmiConnectionLost(f"no Pong within {s.ping_timeout:g} s "
                                        "(half-open connection?)") from exc

    async def _supervise(self) -> None:
        delay = self.settings.reconnect_min
        while self._running:
            self._set_state("connecting")
            error = "closed by peer"
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, AmiError) as exc:
                error = str(exc) or type(exc).__name__
            assert self._ready is not None
            ready = self._ready.is_set()
            self._ready.clear()
            self._close_manager(error)
            self._set_state("disconnected", error)
            if ready:
                delay = self.settings.reconnect_min
            log.warning("AMI %s:%s down (%s); reconnecting in %.1f s", self.settings.host,
                        self.settings.port, error, delay)
            await self.clock.sleep(delay)
            if not ready:
                delay = min(delay * 2, self.settings.reconnect_max)
