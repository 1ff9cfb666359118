"""Into an app_queue queue: tag the channel for the screen pop, tell the caller where they stand,
offer a callback when the wait is long, then ``Queue()``."""

from __future__ import annotations

import math

from ivr import callbacks
from ivr.flow import Call


async def tag_channel(call: Call) -> None:
    """``VIGIL_ACCOUNT_ID`` and ``VIGIL_IVR_PATH`` ride on the channel into the queue, so cti's
    screen pop shows who called and how they got there."""
    account = call.subscriber.account_id if call.subscriber else None
    await call.channel.set_variable("VIGIL_ACCOUNT_ID", "" if account is None else str(account))
    await call.channel.set_variable("VIGIL_IVR_PATH", call.path_text)


async def request_callback(call: Call, queue: str) -> None:
    """Store the request, announce it, confirm to the caller and end the call."""
    call.at("callback")
    deps = call.deps
    async with deps.db.transaction() as session:
        req = await callbacks.request_callback(
            session, deps.clock, number=call.caller, queue=queue, language=call.lang,
            account_id=call.subscriber.account_id if call.subscriber else None,
            ivr_path=call.path_text, uniqueid=call.channel.uniqueid)
    await callbacks.announce(deps.bus, req)
    call.finish("callback")
    call.notes.append(f"callback request {req.id}")
    await call.say("callback-confirmed", "goodbye")
    await call.channel.hangup()


async def enter_queue(call: Call, queue: str, priority: int = 0) -> None:
    settings = call.deps.settings
    call.at(f"queue:{queue}")
    await tag_channel(call)
    if priority:
        await call.channel.set_variable("QUEUE_PRIO", str(priority))
    snap = call.deps.queue_stats.snapshot(queue)
    if snap is not None and snap.waiting > 0:
        await call.say("queue-position")
        await call.channel.say_number(snap.waiting + 1)
        if snap.estimated_wait_s > 0:
            await call.say("queue-wait")
            await call.channel.say_number(max(1, math.ceil(snap.estimated_wait_s / 60)))
        if call.caller and snap.estimated_wait_s > settings.callback_offer_after_s:
            key, _ = await call.ask("callback-offer", 1, 4000)
            if key == "1":
                await request_callback(call, queue)
                return
    await call.say("queue-connecting")
    call.finish("queued")
    await call.channel.exec(
        "Queue", f"{queue},{settings.queue_options},,,{settings.queue_timeout_s}")
    status = await call.channel.get_variable("QUEUESTATUS")
    call.notes.append(f"left queue {queue}: {status or 'answered'}")


async def to_operator(call: Call) -> None:
    """Option 2 and every fallback: the operators' queue at the highest priority."""
    settings = call.deps.settings
    await enter_queue(call, settings.emergency_queue, settings.emergency_priority)


async def to_service_desk(call: Call) -> None:
    await enter_queue(call, call.deps.settings.service_queue)
