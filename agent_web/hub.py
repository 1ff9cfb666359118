"""The websocket hub behind ``/ws``: bus events fanned out to every console a user may see.

One bus subscription feeds the hub; each event gets the next sequence number, is kept in a
bounded ring for catch-up and is offered to every connection whose user may see it
(:mod:`agent_web.ws_policy`). A connection owns a bounded queue and its own sender task, so a slow
browser only ever fills its own queue: when it overflows, its queue is emptied and the browser is
told to reload its snapshot from the REST API instead of receiving a partial stream.

Protocol (JSON text frames, server to client):

- ``{"type": "hello", "epoch", "seq", "heartbeat", "user"}`` on connect;
- ``{"type": "event", "seq", "topic", "data", "id", "ts"}`` for each event;
- ``{"type": "reload", "seq", "reason"}``: fetch snapshots again, then continue from ``seq``;
- ``{"type": "batch", "frames": [...]}``: several of the frames above in one message, sent when
  a backlog builds (the client handles them in order);
- ``{"type": "ping", "seq", "ts"}`` every ``heartbeat`` seconds (``seq`` lets the client move
  its position forward past events it was not meant to see).

A reconnecting client passes ``?epoch=E&since=N`` (the hub epoch and last sequence it saw); the
hub replays what it missed from the ring, or sends ``reload`` when the ring no longer reaches back
that far or the server restarted (another epoch). The client may send ``{"type": "pong"}``.
Raw ``signal.received`` events go only to connections opened with ``?topics=signal.received``
(:data:`agent_web.ws_policy.OPT_IN_TOPICS`): the alarm queue needs only ``incident.*``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from agent_web.ws_policy import HUB_PATTERNS, OPT_IN_TOPICS, Viewer, for_everyone, may_see, opt_ins
from core.bus import Bus, Event, Subscription

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401

# Asked while a socket is idle: is its session still valid?
Recheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event with its hub sequence number, serialized once for every connection."""

    seq: int
    event: Event
    text: str


def _event_text(seq: int, event: Event) -> str:
    return json.dumps({"type": "event", "seq": seq, "topic": event.topic,
                       "data": dict(event.data), "id": event.id, "ts": event.ts},
                      ensure_ascii=False, default=str)


@dataclass(eq=False)
class Connection:
    """One open console: its user and its bounded outgoing queue."""

    viewer: Viewer
    maxsize: int
    opted: frozenset[str] = frozenset()  # opt-in topics (OPT_IN_TOPICS) this console wants
    queue: asyncio.Queue[str] = field(init=False)
    offered: int = 0
    sent: int = 0
    batches: int = 0
    overflows: int = 0

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.maxsize)

    def offer(self, text: str, seq: int) -> None:
        """Queue a frame; on overflow drop the backlog and ask the browser to reload."""
        self.offered += 1
        if self.queue.full():
            while not self.queue.empty():
                self.queue.get_nowait()
            self.overflows += 1
            self.queue.put_nowait(_reload_text(seq, "overflow"))
            return
        self.queue.put_nowait(text)


def batch_text(frames: list[str]) -> str:
    """Several already-serialized frames as one message, without parsing them again."""
    return '{"type":"batch","frames":[' + ",".join(frames) + "]}"


def _reload_text(seq: int, reason: str) -> str:
    return json.dumps({"type": "reload", "seq": seq, "reason": reason})


class Hub:
    """Sequence numbers, the catch-up ring and the set of open connections."""

    def __init__(self, bus: Bus, ring_size: int = 5000, queue_size: int = 1000,
                 heartbeat: float = 15.0, batch_max: int = 500) -> None:
        self.bus = bus
        self.batch_max = batch_max
        self.epoch = uuid.uuid4().hex[:12]
        self.ring: deque[Envelope] = deque(maxlen=ring_size)
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self.seq = 0
        # The ring only reaches back to events after this sequence number (a bus drop moves it).
        self.floor = 0
        self.connections: set[Connection] = set()
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the bus side ------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to the bus (idempotent; called on the first connection)."""
        if self._task is not None and not self._task.done():
            return
        self._sub = self.bus.subscribe(*HUB_PATTERNS, name="agent_web.hub")
        self._task = asyncio.get_running_loop().create_task(self._pump(self._sub),
                                                            name="agent_web.hub")

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _pump(self, sub: Subscription) -> None:
        dropped = 0
        with contextlib.suppress(asyncio.CancelledError):
            async for event in sub:
                if sub.dropped != dropped:
                    dropped = sub.dropped
                    self._lost_events()
                self.dispatch(event)

    def _lost_events(self) -> None:
        """The bus dropped events for the hub: nobody's stream is complete any more."""
        log.warning("hub lost bus events; asking %d console(s) to reload", len(self.connections))
        self.ring.clear()
        self.floor = self.seq
        for conn in self.connections:
            conn.offer(_reload_text(self.seq, "gap"), self.seq)

    def dispatch(self, event: Event) -> Envelope:
        """Number an event, keep it for catch-up and offer it to those who may see it."""
        self.seq += 1
        env = Envelope(self.seq, event, _event_text(self.seq, event))
        if len(self.ring) == self.ring.maxlen:
            self.floor = self.ring[0].seq
        self.ring.append(env)
        if event.topic in OPT_IN_TOPICS:
            for conn in self.connections:
                if event.topic in conn.opted:
                    conn.offer(env.text, env.seq)
        elif for_everyone(event.topic):
            for conn in self.connections:
                conn.offer(env.text, env.seq)
        else:
            for conn in self.connections:
                if may_see(conn.viewer, event.topic, event.data):
                    conn.offer(env.text, env.seq)
        return env

    # -- the browser side --------------------------------------------------------------------

    def missed(self, viewer: Viewer, epoch: str | None, since: int | None,
               opted: frozenset[str] = frozenset()) -> list[str] | None:
        """Frames a client that saw up to ``since`` missed, or None when it must reload."""
        if since is None or epoch != self.epoch or since > self.seq or since < self.floor:
            return None
        return [env.text for env in self.ring
                if env.seq > since and (env.event.topic not in OPT_IN_TOPICS
                                        or env.event.topic in opted)
                and may_see(viewer, env.event.topic, env.event.data)]

    def open(self, viewer: Viewer, epoch: str | None, since: int | None,
             opted: frozenset[str] = frozenset()) -> Connection:
        """Register a connection with its hello and catch-up already queued.

        Runs without awaiting, so no event can slip between the replay and the registration.
        """
        conn = Connection(viewer, self.queue_size, opted)
        hello = {"type": "hello", "epoch": self.epoch, "seq": self.seq,
                 "heartbeat": self.heartbeat,
                 "user": {"id": viewer.user_id, "username": viewer.username,
                          "role": viewer.role, "extension": viewer.extension}}
        conn.offer(json.dumps(hello, ensure_ascii=False), self.seq)
        frames = self.missed(viewer, epoch, since, opted)
        if since is not None and frames is None:
            conn.offer(_reload_text(self.seq, "stale"), self.seq)
        for text in frames or []:
            conn.offer(text, self.seq)
        self.connections.add(conn)
        return conn

    def close(self, conn: Connection) -> None:
        self.connections.discard(conn)

    def stats(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "seq": self.seq, "ring": len(self.ring),
                "floor": self.floor, "connections": len(self.connections),
                "overflows": sum(c.overflows for c in self.connections),
                "offered": sum(c.offered for c in self.connections),
                "sent": sum(c.sent for c in self.connections),
                "batches": sum(c.batches for c in self.connections),
                "queued": sum(c.queue.qsize() for c in self.connections)}

    async def serve(self, ws: WebSocket, viewer: Viewer, recheck: Recheck | None = None) -> None:
        """Run one accepted websocket until either side goes away."""
        self.start()
        epoch = ws.query_params.get("epoch") or None
        since_raw = ws.query_params.get("since")
        since = int(since_raw) if since_raw and since_raw.isdigit() else None
        conn = self.open(viewer, epoch, since, opt_ins(ws.query_params.get("topics")))
        sender = asyncio.create_task(self._send_loop(ws, conn, recheck))
        receiver = asyncio.create_task(self._receive_loop(ws))
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.close(conn)
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                    await task

    async def _send_loop(self, ws: WebSocket, conn: Connection,
                         recheck: Recheck | None = None) -> None:
        """Send frames as they come; when several wait, send them as one ``batch`` message
        (a backlog then drains in a few sends instead of one per event). While idle, a ping
        every heartbeat. Every heartbeat, busy or idle, the session is checked again: a user
        logged out, archived or with a new password loses the socket within one heartbeat."""
        next_check = time.monotonic() + self.heartbeat
        while True:
            text: str | None
            try:  # the fast path while a backlog drains; a timed wait only when idle
                text = conn.queue.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    text = await asyncio.wait_for(conn.queue.get(),
                                                  max(0.0, next_check - time.monotonic()))
                except TimeoutError:
                    text = None
            if time.monotonic() >= next_check:
                if recheck is not None and not await recheck():
                    await ws.close(code=CLOSE_UNAUTHENTICATED)
                    return
                next_check = time.monotonic() + self.heartbeat
                if text is None:
                    text = json.dumps({"type": "ping", "seq": self.seq, "ts": time.time()})
            if text is None:
                continue
            waiting = conn.queue.qsize()
            if waiting:
                frames = [text]
                for _ in range(min(waiting, self.batch_max - 1)):
                    frames.append(conn.queue.get_nowait())
                text = batch_text(frames)
                conn.batches += 1
            await ws.send_text(text)
            conn.sent += 1

    async def _receive_loop(self, ws: WebSocket) -> None:
        """Read (and ignore) what the browser sends; returns when it disconnects."""
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
