"""The lab's account read-back script, as the ``fastagi_ivr`` capture shows Asterisk running it:
ask for a four-digit account (the first key may cut the prompt short), read the caller ID, store
the account on the channel, say it back, beep, hang up. Kept as a line-check route for installers:
dial it to hear that DTMF, variables and playback all reach Vigil."""

from __future__ import annotations

from ivr.flow import Call


async def account_echo(call: Call) -> None:
    call.at("answer")
    await call.channel.answer()
    call.at("account")
    first = await call.channel.stream_file("agent-user", "0123456789#")
    rest = await call.channel.get_data("vm-password", 5000, 4)
    account = ((first or "") + rest.digits).rstrip("#")
    caller = await call.channel.get_variable("CALLERID(num)")
    call.notes.append(f"caller {caller}")
    if account:
        await call.channel.set_variable("ACCOUNT", account)
        await call.channel.say_digits(account)
    await call.channel.exec("Playback", "beep")
    call.finish("completed")
    await call.channel.hangup()
