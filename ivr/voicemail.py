"""Leave a message: ``Record()`` on the channel, then a ticket pointing at the recording.

Hanging up is the usual way to finish a message, so the ticket is written also when the caller
leaves during the recording (``Record`` keeps the file with option ``k``)."""

from __future__ import annotations

from ivr.channel import CallerHungUp
from ivr.flow import Call


def recording_name(call: Call) -> str:
    uid = (call.channel.uniqueid or "unknown").replace(".", "-")
    return f"{call.deps.settings.voicemail_dir}/{uid}"


async def voicemail(call: Call) -> None:
    call.at("voicemail")
    call.take_typed()  # a key left over from a notice must not skip the instructions
    settings = call.deps.settings
    await call.say("leave-message")
    name = recording_name(call)
    hung_up = False
    try:
        await call.channel.exec("Record", f"{name}.wav,5,{settings.voicemail_max_s},k")
    except CallerHungUp:
        hung_up = True
    ticket = await call.deps.tickets.voicemail(call.account_id, call.caller, f"{name}.wav",
                                               call.lang)
    call.finish("voicemail")
    call.notes.append(f"ticket {ticket}")
    if hung_up:
        raise CallerHungUp("caller hung up to end the message")
    await call.say("message-saved", "goodbye")
    await call.channel.hangup()
