"""Callback requests: stored, announced on the bus (``ivr.callback_requested``) for the part
that places outbound calls when an agent is free, and closed when done."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.bus import Bus
from core.clock import Clock
from ivr.models import CallbackRequest

TOPIC = "ivr.callback_requested"


async def request_callback(session: AsyncSession, clock: Clock, *, number: str,
                           account_id: int | None, queue: str, language: str, ivr_path: str,
                           uniqueid: str) -> CallbackRequest:
    """Store a request (the caller commits, then calls :func:`announce`)."""
    req = CallbackRequest(number=number, account_id=account_id, queue=queue, language=language,
                          ivr_path=ivr_path, uniqueid=uniqueid, status="pending",
                          requested_at=clock.now())
    session.add(req)
    await session.flush()
    return req


async def announce(bus: Bus, req: CallbackRequest) -> None:
    await bus.publish(TOPIC, req.public())


async def pending(session: AsyncSession, limit: int = 100) -> list[CallbackRequest]:
    """Open requests, oldest first."""
    return list((await session.execute(select(CallbackRequest).where(
        CallbackRequest.status == "pending").order_by(CallbackRequest.requested_at)
        .limit(limit))).scalars())


async def mark_done(session: AsyncSession, clock: Clock, request_id: int,
                    status: str = "done") -> CallbackRequest | None:
    req = await session.get(CallbackRequest, request_id)
    if req is not None and req.status == "pending":
        req.status = status
        req.done_at = clock.now()
    return req
