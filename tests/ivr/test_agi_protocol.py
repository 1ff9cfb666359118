"""The pure wire format and the channel's handling of every way a caller can leave."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ivr import agi
from ivr.channel import AgiChannel, AgiError, CallerHungUp
from ivr.deps import IvrDeps
from ivr.server import IvrServer
from tests.ivr.fake_asterisk import environment


def test_capture_reply_forms() -> None:
    key = agi.parse_reply("200 result=49 endpos=25760")
    assert (key.code, key.result_int, key.get("endpos"), key.timed_out) == (200, 49, "25760",
                                                                             False)
    partial = agi.parse_reply("200 result=234 (timeout)")
    assert (partial.result, partial.timed_out) == ("234", True)
    nothing = agi.parse_reply("200 result= (timeout)")
    assert (nothing.result, nothing.timed_out) == ("", True)
    var = agi.parse_reply("200 result=1 (Zhang (Wei))")
    assert var.data == "Zhang (Wei)"
    assert agi.parse_reply("200 result=-1 endpos=0").result_int == -1


def test_hangup_forms_and_errors() -> None:
    assert agi.parse_reply("HANGUP").hangup
    dead = agi.parse_reply("511 Command Not Permitted on a dead channel or intercept routine")
    assert dead.hangup and not dead.ok
    assert agi.parse_reply("510 Invalid or unknown command").code == 510
    assert agi.is_continuation("520-Invalid command syntax.  Proper usage follows:")
    assert agi.parse_reply("").code == 0 and not agi.parse_reply("garbage").ok


def test_environment_parsing_keeps_empty_values_and_routes() -> None:
    env = agi.parse_environment(environment("ivr?lang=en", port=4573))
    assert env["agi_accountcode"] == "" and env["agi_callerid"] == "+8613800000013"
    assert agi.route_of(env) == "ivr"


def test_commands_render_as_asterisk_expects() -> None:
    assert agi.stream_file("agent-user", "0123456789#") == 'STREAM FILE agent-user "0123456789#"'
    assert agi.get_data("vm-password", 5000, 4) == "GET DATA vm-password 5000 4"
    assert agi.set_variable("ACCOUNT", "1234") == 'SET VARIABLE ACCOUNT "1234"'
    assert agi.say_digits("1234") == 'SAY DIGITS 1234 ""'
    assert agi.exec_app("Playback", "beep") == 'EXEC Playback "beep"'
    assert agi.set_variable("X", 'a "b" \\c') == 'SET VARIABLE X "a \\"b\\" \\\\c"'
    with pytest.raises(ValueError):
        agi.stream_file("two words")
    with pytest.raises(ValueError):
        agi.say_digits("12a")


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def channel_against(script: Script) -> AsyncIterator[AgiChannel]:
    """An AgiChannel whose far end is ``script`` over a real socket."""
    server = await asyncio.start_server(script, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield AgiChannel(reader, writer, {})
    finally:
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()


def replies(*lines: str) -> Script:
    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readline()
        w.write("".join(f"{x}\n" for x in lines).encode())
        await w.drain()
        await r.read()  # keep the socket open until the client is done
        w.close()

    return script


async def test_hangup_line_then_dead_channel() -> None:
    async with channel_against(replies("HANGUP", "200 result=-1")) as ch:
        with pytest.raises(CallerHungUp):
            await ch.get_data("x", 1000, 1)
        assert ch.dead
        with pytest.raises(CallerHungUp):  # nothing is sent after the hang-up
            await ch.answer()
        await ch.hangup()  # and hanging up a dead channel is quiet


async def test_511_is_a_hangup() -> None:
    async with channel_against(replies("511 Command Not Permitted on a dead channel")) as ch:
        with pytest.raises(CallerHungUp):
            await ch.set_variable("A", "1")


async def test_socket_closed_is_a_hangup() -> None:
    async def close_at_once(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readline()
        w.close()

    async with channel_against(close_at_once) as ch:
        with pytest.raises(CallerHungUp):
            await ch.answer()


async def test_multiline_usage_error_is_consumed_whole() -> None:
    usage = ["520-Invalid command syntax.  Proper usage follows:",
             " Usage: GET DATA <file to be streamed> [timeout] [maxdigits]",
             "520 End of proper usage.", "200 result=1 (ok)"]

    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readline()
        w.write("".join(f"{x}\n" for x in usage[:3]).encode())
        await r.readline()
        w.write(f"{usage[3]}\n".encode())
        await w.drain()
        await r.read()

    async with channel_against(script) as ch:
        with pytest.raises(AgiError):
            await ch.command("GET DATA")
        assert await ch.get_variable("X") == "ok"  # the next reply is not a usage line


async def test_missing_prompt_file_does_not_end_the_call() -> None:
    async with channel_against(replies("200 result=-1 endpos=0")) as ch:
        assert await ch.stream_file("vigil/en/nope") is None
        assert not ch.dead


async def test_server_survives_connections_dying_before_the_environment(
        deps: IvrDeps, caplog: pytest.LogCaptureFixture) -> None:
    """panoramisk 1.4's own handler spins forever on this (read() keeps returning b'')."""
    caplog.set_level(logging.WARNING)
    async with IvrServer(deps, port=0) as server:
        for partial in (b"", b"agi_network: yes\nagi_network_script: ivr\n"):
            _, w = await asyncio.open_connection("127.0.0.1", server.bound_port)
            w.write(partial)
            await w.drain()
            w.close()
            await w.wait_closed()
        for _ in range(50):
            if server.app is not None and not server.app.sessions:
                break
            await asyncio.sleep(0.01)
        assert server.app is not None and not server.app.sessions
    assert "before its environment was complete" in caplog.text


async def test_unknown_route_is_hung_up(deps: IvrDeps) -> None:
    async with IvrServer(deps, port=0) as server:
        r, w = await asyncio.open_connection("127.0.0.1", server.bound_port)
        w.write(environment("no-such-route"))
        await w.drain()
        assert await asyncio.wait_for(r.readline(), 5) == b"HANGUP\n"
        w.close()
        await w.wait_closed()
