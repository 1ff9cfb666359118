"""Into an app_queue queue, the way Vigil's dialplan does it: tag the channel for the screen pop,
tell the caller where they stand, offer a callback when the wait is long, then name the queue in
``VIGIL_QUEUE`` and end the FastAGI session.

The dialplan (``[vigil-ivr]`` ``after`` in asterisk-config/extensions.conf) goes on with
``Goto(vigil-queue,${VIGIL_QUEUE},1)``, which starts the call recording and runs ``Queue()``.
Queueing from the dialplan rather than with ``EXEC Queue`` keeps the recording and the billing
timeout in one place, and frees the IVR's socket while the caller waits: in a storm hundreds of
callers wait in the queues, none of them holds a FastAGI session, and restarting Vigil does not
touch them.
"""

from __future__ import annotations

import math

from ivr import callbacks
from ivr.flow import Call

# Channel variables of the dialplan contract (vigil.asterisk_refs, which ivr may not import;
# tests/ivr/test_dialplan_contract.py keeps the two in step). The ``__`` prefix makes Asterisk
# copy the screen-pop variables to every channel the call creates (the agent's leg of Queue()).
VAR_QUEUE = "VIGIL_QUEUE"
VAR_ACCOUNT_ID = "VIGIL_ACCOUNT_ID"
VAR_IVR_PATH = "VIGIL_IVR_PATH"
VAR_PRIORITY = "QUEUE_PRIO"
INHERIT = "__"


async def tag_channel(call: Call) -> None:
    """``VIGIL_ACCOUNT_ID`` and ``VIGIL_IVR_PATH`` ride on the channel into the queue, so cti's
    screen pop shows who called and how they got there."""
    account = call.account_id
    await call.channel.set_variable(INHERIT + VAR_ACCOUNT_ID,
                                    "" if account is None else str(account))
    await call.channel.set_variable(INHERIT + VAR_IVR_PATH, call.path_text)


async def request_callback(call: Call, queue: str) -> None:
    """Store the request, announce it, confirm to the caller and end the call."""
    call.at("callback")
    deps = call.deps
    async with deps.db.transaction() as session:
        req = await callbacks.request_callback(
            session, deps.clock, number=call.caller, queue=queue, language=call.lang,
            account_id=call.account_id, ivr_path=call.path_text,
            uniqueid=call.channel.uniqueid)
    await callbacks.announce(deps.bus, req)
    call.finish("callback")
    call.notes.append(f"callback request {req.id}")
    await call.say("callback-confirmed", "goodbye")
    await call.channel.hangup()


async def enter_queue(call: Call, queue: str, priority: int = 0) -> None:
    """Announce the wait (or take a callback request), then hand the caller to the dialplan's
    ``queue``. The session ends here: the flow must not send another command."""
    settings = call.deps.settings
    call.at(f"queue:{queue}")
    snap = call.deps.queue_stats.snapshot(queue)
    if snap is not None and snap.waiting > 0:
        await call.say("queue-position")
        await call.say_number(snap.waiting + 1)
        if snap.estimated_wait_s > 0:
            await call.say("queue-wait")
            await call.say_quantity(max(1, math.ceil(snap.estimated_wait_s / 60)),
                                    "unit-minutes")
        if call.caller and snap.estimated_wait_s > settings.callback_offer_after_s:
            key, _ = await call.ask("callback-offer", 1, 4000)
            if key == "1":
                await request_callback(call, queue)
                return
    await call.say("queue-connecting")
    await tag_channel(call)
    if priority:
        await call.channel.set_variable(VAR_PRIORITY, str(priority))
    await call.channel.set_variable(VAR_QUEUE, queue)
    call.finish("queued")
    call.notes.append(f"to queue {queue}")


async def to_operator(call: Call) -> None:
    """Option 1, silence at the main menu and every fallback: the operators' queue at the
    highest priority."""
    settings = call.deps.settings
    await enter_queue(call, settings.emergency_queue, settings.emergency_priority)


async def to_service_desk(call: Call) -> None:
    await enter_queue(call, call.deps.settings.service_queue)
